"""`glm-agent report`: the HTML report of a run record or a batch folder (glm_agent.report does the work)."""
from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path

from glm_agent.core.stops import EXIT_OK, EXIT_USAGE


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="write the HTML report of a run or a batch",
        description="Write one self-contained HTML file (readable offline) of a run record (.glm-agent/runs/<id>) "
                    "or of a batch output folder (its tasks' reports go in reports/ beside it). Exit 0 written, "
                    "2 not a run record or batch folder.")
    parser.add_argument("source", type=Path, metavar="RUN_DIR|BATCH_DIR")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="where to write it (default: report.html inside RUN_DIR or BATCH_DIR)")
    parser.add_argument("--open", action="store_true", help="open it in the default browser afterwards")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from glm_agent.report import write_report

    try:
        path = write_report(args.source, args.output)
    except (OSError, ValueError) as exc:
        print(f"glm-agent report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(path)
    if args.open:
        webbrowser.open(path.resolve().as_uri())
    return EXIT_OK
