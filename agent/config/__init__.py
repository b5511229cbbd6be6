"""Typed run configuration: the settings dataclasses (settings), their validator (sections), the layered loading
(loading)."""
