"""`glm-agent fix`: the check command, the finish gate it makes, the job and its Markdown summary."""
