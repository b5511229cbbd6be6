"""Why a run stops: every stop reason declared once, the exceptions that carry them, and their exit codes."""
from __future__ import annotations

from typing import Literal, get_args

StopReason = Literal["finished", "nothing_to_fix", "no_action", "limit_reached", "stuck", "format_errors",
                     "context_exhausted", "check_failed", "api_error", "interrupted", "crashed", "setup_failed"]
STOP_REASONS: tuple[str, ...] = get_args(StopReason)
(FINISHED, NOTHING_TO_FIX, NO_ACTION, LIMIT_REACHED, STUCK, FORMAT_ERRORS, CONTEXT_EXHAUSTED, CHECK_FAILED,
 API_ERROR, INTERRUPTED, CRASHED, SETUP_FAILED) = STOP_REASONS

EXIT_OK, EXIT_STOPPED, EXIT_USAGE, EXIT_API, EXIT_CHECK_FAILING, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
_EXIT_BY_REASON = {FINISHED: EXIT_OK, NOTHING_TO_FIX: EXIT_OK, INTERRUPTED: EXIT_INTERRUPTED, API_ERROR: EXIT_API}
INTERRUPTED_BY_USER = "interrupted by the user"


def exit_code(reason: str) -> int:
    """0 finished (or nothing to fix); 130 interrupted; 3 API error; 1 any other stop."""
    return _EXIT_BY_REASON.get(reason, EXIT_STOPPED)


class UserError(Exception):
    """A problem only the user can fix (config, git state, usage): the CLI prints it and exits with EXIT_USAGE."""


class Stop(Exception):
    """Ends the run; the subclass names the stop reason, the message says why."""

    reason: StopReason = "crashed"

    def __init__(self, message: str = "", *, summary: str = "", limit: str | None = None):
        super().__init__(message)
        self.summary, self.limit = summary, limit


class Submitted(Stop):
    reason = FINISHED


class NoAction(Stop):
    reason = NO_ACTION


class LimitReached(Stop):
    reason = LIMIT_REACHED


class Stuck(Stop):
    reason = STUCK


class FormatErrors(Stop):
    reason = FORMAT_ERRORS


class ContextExhausted(Stop):
    reason = CONTEXT_EXHAUSTED


class Deadline(BaseException):
    """The wall-clock budget ran out mid-step (raised from a timer); a BaseException so no retry or tool eats it."""
