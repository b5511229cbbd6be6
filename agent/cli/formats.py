"""The output options of run, fix and demo (--output-format, --json, --progress, --output-schema, --report),
the display each format makes, and the report written at the end."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glm_agent.core.stops import UserError

FORMATS = ("text", "json", "stream-json")
AT_RUN_DIR = "<run_dir>/report.html"  # --report without FILE


def add_output_options(parser: argparse.ArgumentParser, *, schema: bool = True) -> None:
    parser.add_argument("--output-format", choices=FORMATS, default=None,
                        help="text (default): the live human display and a summary; json: only the result as JSON "
                             "on stdout; stream-json: one JSON event per line on stdout, the result last")
    parser.add_argument("--json", action="store_true", help="short for --output-format json")
    parser.add_argument("--progress", action="store_true",
                        help="with json or stream-json: also show the human display, on stderr")
    if schema:
        parser.add_argument("--output-schema", type=Path, metavar="FILE",
                            help="JSON Schema file: finish must then give a `result` matching it, printed as "
                                 "structured_output in the result")
    parser.add_argument("--report", nargs="?", const=AT_RUN_DIR, default=None, metavar="FILE",
                        help="write the HTML report at the end (default FILE: report.html in the run record)")


def output_format(args: argparse.Namespace) -> str:
    chosen = args.output_format
    if args.json and chosen not in (None, "json"):
        raise UserError(f"--json and --output-format {chosen} contradict each other")
    return "json" if args.json else chosen or "text"


def make_display(args: argparse.Namespace, *, show_reasoning: bool = False, hidden=()):
    """The live sink of this format: the human display (stdout, or stderr with --progress), the JSON-lines
    stream (without the values of the key variables and `hidden`, the config's tools.hidden_env), or None
    (json alone prints only the result)."""
    from glm_agent.cli.output import human_display

    fmt = output_format(args)
    if fmt == "text":
        return human_display(show_reasoning=show_reasoning)
    echo = human_display(sys.stderr, show_reasoning=show_reasoning) if args.progress else None
    if fmt == "json":
        return echo
    from glm_agent.cli.stream import StreamJson
    from glm_agent.jobs.records import Redactor, secret_values
    from glm_agent.tools.secretenv import SECRET_ENV

    return StreamJson(sys.stdout, echo=echo, scrub=Redactor(secret_values({*SECRET_ENV, *hidden})))


def output_schema(args: argparse.Namespace) -> dict | None:
    """The checked schema of --output-schema (OutputSchemaError, exit 2, when it is not one)."""
    if getattr(args, "output_schema", None) is None:
        return None
    from glm_agent.jobs.output_schema import load_output_schema

    return load_output_schema(args.output_schema)


def write_report(args: argparse.Namespace, run_dir: str | None, default: Path | None = None) -> None:
    """--report: the HTML report of the finished run; a report that cannot be written is said on stderr and
    changes nothing else (the run's outcome and exit code stand)."""
    if args.report is None:
        return
    if not run_dir:
        print("glm-agent: no report: the run left no record", file=sys.stderr)
        return
    from glm_agent.report import write_report as write

    target = (default or Path(run_dir) / "report.html") if args.report == AT_RUN_DIR else Path(args.report)
    try:
        path = write(Path(run_dir), target)
    except (OSError, ValueError) as exc:
        print(f"glm-agent: could not write the report: {exc}", file=sys.stderr)
        return
    print(f"report: {path}", file=sys.stdout if output_format(args) == "text" else sys.stderr)
