"""The tools GLM acts through: file edits, search, shell and git, confined to one workspace."""
