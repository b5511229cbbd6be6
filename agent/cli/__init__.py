"""The command line: argument parsing and output only; each command's work lives in jobs/, fix/ and batch/."""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """The console script `glm-agent` (kept import-light: the parser loads on call)."""
    from glm_agent.cli.main import main as run

    return run(argv)
