"""File tools: reading, editing (with the fuzzy locator for a missed edit), search, and what the run knows of files."""
