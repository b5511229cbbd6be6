"""The bash tool and the bookkeeping of the processes it starts."""
