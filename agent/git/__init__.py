"""Git for a run: the one git runner (repo) and the start snapshot and final commit (snapshot)."""
