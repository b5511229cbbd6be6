"""`glm-agent batch`: the tasks file, the workers, the progress line and the summary."""
