"""The batch summary: tasks by outcome, cost and tokens (total and per task), cache share, the slowest and the
most expensive tasks; written to OUT/summary.json and printed under the table."""
from __future__ import annotations

from glm_agent.batch.outcomes import OUTCOMES, outcome

TOP = 3


def summarize(rows: list[dict], tasks: int, wall_s: float, state: str, requests: dict) -> dict:
    by_outcome = {name: 0 for name in OUTCOMES}
    for row in rows:
        by_outcome[outcome(row)] += 1
    cost = sum(float(r.get("cost_usd") or 0) for r in rows)
    tokens = sum(int(r.get("tokens") or 0) for r in rows)
    prompt = sum(int(r.get("prompt_tokens") or 0) for r in rows)
    cached = sum(int(r.get("cached_tokens") or 0) for r in rows)
    per = max(1, len(rows))
    return {
        "state": state, "tasks": tasks, "recorded": len(rows), "not_run": tasks - len(rows),
        "outcomes": by_outcome,
        "cost_usd": {"total": round(cost, 6), "per_task": round(cost / per, 6)},
        "tokens": {"total": tokens, "per_task": tokens // per, "prompt": prompt, "cached": cached},
        "cache_share": round(cached / prompt, 4) if prompt else 0.0,
        "wall_s": round(wall_s, 2), "task_s": round(sum(float(r.get("duration_s") or 0) for r in rows), 2),
        "slowest": _top(rows, "duration_s"), "most_expensive": _top(rows, "cost_usd"),
        "requests": requests,
    }


def _top(rows: list[dict], key: str) -> list[dict]:
    ranked = sorted(rows, key=lambda r: float(r.get(key) or 0), reverse=True)[:TOP]
    return [{"id": r["id"], key: r.get(key) or 0} for r in ranked]


def render(summary: dict) -> str:
    o, cost, tokens = summary["outcomes"], summary["cost_usd"], summary["tokens"]
    lines = [
        f"{o['succeeded']}/{summary['tasks']} succeeded, {o['agent_failure']} agent failures, "
        f"{o['infra_failure']} infrastructure failures, {o['timed_out']} timed out"
        + (f", {summary['not_run']} not run" if summary["not_run"] else ""),
        f"cost ${cost['total']:.4f} (${cost['per_task']:.4f}/task), tokens {tokens['total']} "
        f"({tokens['per_task']}/task), cache share {summary['cache_share']:.0%}, wall {summary['wall_s']:.1f}s",
    ]
    if summary["slowest"]:
        lines.append("slowest: " + ", ".join(f"{t['id']} {float(t['duration_s']):.1f}s" for t in summary["slowest"]))
        lines.append("most expensive: " + ", ".join(f"{t['id']} ${float(t['cost_usd']):.4f}"
                                                     for t in summary["most_expensive"]))
    requests = summary.get("requests") or {}
    if requests.get("busy_errors"):
        lines.append(f"GLM said busy {requests['busy_errors']} times: requests in flight cut to "
                     f"{requests['allowed']} of {requests['limit']}")
    return "\n".join(lines)
