"""What the CLI prints at the end: the result (JSON or the human summary), and the exit code of an error."""
from __future__ import annotations

import json
import sys

from glm_agent.core.result import RunResult
from glm_agent.core.stops import EXIT_API, EXIT_USAGE, FINISHED, UserError, exit_code


def report(result: RunResult, as_json: bool, display=None) -> int:
    """Print the result (JSON only, or the human summary) and return the exit code; a failure's diagnosis
    also goes to stderr, so `--json` consumers and CI logs see why without parsing stdout."""
    if result.error and result.stop_reason != FINISHED:
        print(f"glm-agent: {result.stop_reason}: {result.error}", file=sys.stderr)
    if display is not None:  # the human summary (on stderr with --json --progress), or stream-json's last line
        display.summary(result)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    return exit_code(result.stop_reason)


def human_display(out=None, *, show_reasoning: bool = False):
    """The live display (on stdout unless `out`); it reports retries itself, so the client's own retry log stays
    quiet."""
    import logging

    from glm_agent.cli.display import HumanDisplay

    logging.getLogger("glm_agent.glm.client").setLevel(logging.ERROR)
    return HumanDisplay(out, show_reasoning=show_reasoning)


def error_exit_code(exc: Exception) -> int | None:
    """Errors the user must fix (config, git, usage) -> 2, GLM API errors (auth, quota, bad request) -> 3; None
    for a bug, which the CLI lets through with its traceback."""
    from glm_agent.glm.errors import GLMError

    if isinstance(exc, GLMError):
        return EXIT_API
    if isinstance(exc, UserError):
        return EXIT_USAGE
    return None
