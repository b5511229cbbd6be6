"""Jobs the CLI starts: a run end to end (run), undo, replay, the demo, the doctor, and the run records."""
