"""`glm-agent undo`: its arguments and what it prints; the undo itself is glm_agent.jobs.undo."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glm_agent.core.stops import EXIT_OK, EXIT_STOPPED


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "undo", help="restore the branch and working tree from before a run",
        description="Restore the branch and working tree recorded before a run (default: the last one). "
                    "Exit 0 when undone, 1 when refused (the message says why).")
    parser.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to undo (default: the last run)")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository (default: current directory)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from glm_agent.jobs.undo import UndoError, undo

    try:
        print(undo(args.repo, args.run_id))
        return EXIT_OK
    except UndoError as exc:
        print(f"glm-agent undo: {exc}", file=sys.stderr)
        return EXIT_STOPPED
