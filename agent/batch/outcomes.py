"""What a task's result row means for the batch: its outcome, and whether GLM's quota or load caused it.

Infrastructure failures (the API, a crash, a checkout that could not be made) are kept apart from the agent's
own, so `--resume --retry-infra` can run them again. Quota errors pause or stop the batch instead of failing
tasks; busy errors slow it down and run the task again later.
"""
from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from typing import Optional

INFRA_REASONS = ("api_error", "crashed", "setup_failed")
QUOTA_CODES = ("1113", "1304", "1308", "1309", "1310", "1311", "1313")  # balance, daily quota, plan caps
BUSY_CODES = ("1302", "1303", "1305", "1312")  # concurrency, rate, overload: retried by the client, then here
OUTCOMES = ("succeeded", "agent_failure", "infra_failure", "timed_out")
BEIJING_UTC_OFFSET_S = 8 * 3600  # Z.ai gives plan reset times in Beijing time


@dataclass
class Quota:
    code: str
    message: str
    reset_at: Optional[float]  # epoch seconds, when the message says


def outcome(row: dict) -> str:
    if row.get("success"):
        return "succeeded"
    if row.get("stop_reason") == "timeout":  # killed at --task-timeout
        return "timed_out"
    return "infra_failure" if row.get("stop_reason") in INFRA_REASONS else "agent_failure"


def failure(row: dict) -> Optional[str]:
    """The `failure` field of results.jsonl: null, "agent", "infra" or "timeout"."""
    return {"succeeded": None, "agent_failure": "agent", "infra_failure": "infra",
            "timed_out": "timeout"}[outcome(row)]


def error_code(row: dict) -> Optional[str]:
    if row.get("stop_reason") != "api_error":
        return None
    found = re.search(r"\bcode (\d{3,4})\b", str(row.get("error") or ""))
    return found.group(1) if found else None


def quota(row: dict) -> Optional[Quota]:
    code = error_code(row)
    if code not in QUOTA_CODES:
        return None
    message = str(row.get("error") or "")
    return Quota(code, message, reset_time(message))


def busy(row: dict) -> bool:
    return error_code(row) in BUSY_CODES


def reset_time(message: str) -> Optional[float]:
    """The reset time in a quota message: `next_flush_time` (epoch ms or s), else a `YYYY-MM-DD HH:MM:SS`
    (Beijing time, as Z.ai writes it)."""
    flush = re.search(r"next_flush_time\D{0,4}(\d{10,13})", message)
    if flush:
        value = int(flush.group(1))
        return value / 1000 if value > 1e11 else float(value)
    stamp = re.search(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})", message)
    if not stamp:
        return None
    parsed = time.strptime(f"{stamp.group(1)} {stamp.group(2)}", "%Y-%m-%d %H:%M:%S")
    return calendar.timegm(parsed) - BEIJING_UTC_OFFSET_S
