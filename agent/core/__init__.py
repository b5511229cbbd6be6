"""The planner loop and what it trades in: assistant turns, stop reasons, the run result, signals."""
