"""The command guard: a first line against commands that would destroy work (syntax, paths, git, kill)."""
