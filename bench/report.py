"""Turn raw samples into per-subject figures, the goal verdicts and a markdown table."""
from __future__ import annotations

from statistics import median

GOALS = (  # (figure, comparison, limit or reference subject, label)
    ("step_wall_ms", "ratio<=", ("floor", 2.0), "per-step overhead <= 2x the floor"),
    ("launch_to_first_s", "<=", 0.5, "launch to first request <= 0.5 s"),
    ("peak_rss_mib", "<=", 80.0, "peak RSS <= 80 MiB"),
    ("cached_share", ">=", 0.90, "cached share from step 2 >= 90%"),
)

ROWS = (  # (figure, label, format)
    ("largest_n_wall_s", "whole run at the largest N (s)", "{:.2f}"),
    ("launch_to_first_s", "launch -> first request (s)", "{:.3f}"),
    ("last_to_exit_s", "last response -> exit (s)", "{:.3f}"),
    ("step_wall_ms", "agent wall per step, command excluded (ms)", "{:.1f}"),
    ("step_cpu_ms", "agent CPU per step, command excluded (ms)", "{:.1f}"),
    ("peak_rss_mib", "peak RSS (MiB)", "{:.0f}"),
    ("first_request_bytes", "first request (bytes)", "{:.0f}"),
    ("first_request_tokens", "first request (~tokens, chars/4)", "{:.0f}"),
    ("growth_bytes_per_step", "request growth per step (bytes)", "{:.0f}"),
    ("cached_share", "cached share of prompt, step 2+", "{:.1%}"),
    ("prefix_reuse", "previous prompt reused as cache, step 2+", "{:.1%}"),
    ("server_ms", "stand-in time per request, excluded above (ms)", "{:.1f}"),
)


def _per_step(per_n: dict[int, dict], key: str) -> float:
    """Slope between the smallest and largest N: the cost of one more step, fixed first-step costs cancelled."""
    low, high = min(per_n), max(per_n)
    return (per_n[high][key] - per_n[low][key]) / (high - low) if high > low else float("nan")


def _cached_share(sample: dict) -> float:
    prompt = sum(sample["prompt_tokens"][1:])
    return sum(sample["cached_tokens"][1:]) / prompt if prompt else float("nan")


def _prefix_reuse(sample: dict) -> float:
    """Cached tokens over the previous request's prompt: 100% when history is append-only and byte-stable."""
    previous = sum(sample["prompt_tokens"][:-1])
    return sum(sample["cached_tokens"][1:]) / previous if previous else float("nan")


def summarize(samples: list[dict], cost: dict) -> dict:
    """Medians per step count, per-step costs minus the command's own, request economy at the largest N."""
    good = [s for s in samples if "error" not in s]
    by_n = {n: [s for s in good if s["n"] == n] for n in sorted({s["n"] for s in good})}
    if not by_n:
        return {"failed_runs": len(samples)}
    for sample in good:
        sample["agent_loop_s"] = sum(sample["step_gaps_s"])
    per_n = {n: {key: median(s[key] for s in runs) for key in ("wall_s", "cpu_s", "loop_wall_s", "agent_loop_s",
                                                                  "loop_cpu_s", "peak_rss_mib")}
             for n, runs in by_n.items()}
    largest = by_n[max(by_n)]
    first_bytes = median(s["request_bytes"][0] for s in good)
    summary = {
        "per_n": per_n,
        "largest_n_wall_s": per_n[max(per_n)]["wall_s"],
        "launch_to_first_s": median(s["launch_to_first_s"] for s in good),
        "last_to_exit_s": median(s["last_to_exit_s"] for s in good),
        "step_wall_ms": 1000 * (_per_step(per_n, "agent_loop_s") - cost["wall_s"]),
        "step_cpu_ms": 1000 * (_per_step(per_n, "loop_cpu_s") - cost["cpu_s"]),
        "step_wall_with_server_ms": 1000 * (_per_step(per_n, "loop_wall_s") - cost["wall_s"]),
        "step_wall_whole_run_ms": 1000 * (_per_step(per_n, "wall_s") - cost["wall_s"]),
        "server_ms": 1000 * median(t for s in good for t in s["server_s"]),
        "peak_rss_mib": max(v["peak_rss_mib"] for v in per_n.values()),
        "first_request_bytes": first_bytes,
        "first_request_tokens": first_bytes / 4,
        "growth_bytes_per_step": median((s["request_bytes"][-1] - s["request_bytes"][0]) / s["n"] for s in largest),
        "cached_share": median(_cached_share(s) for s in largest) if max(by_n) > 0 else float("nan"),
        "prefix_reuse": median(_prefix_reuse(s) for s in largest) if max(by_n) > 0 else float("nan"),
        "failed_runs": len(samples) - len(good),
    }
    return summary


def verdicts(summaries: dict[str, dict], subject: str = "glm-agent") -> list[dict]:
    """Pass/fail of the subject against each goal (the floor ratio only when the floor ran)."""
    mine = summaries.get(subject)
    if not mine or "step_wall_ms" not in mine:
        return []
    results = []
    for figure, op, limit, label in GOALS:
        value = mine[figure]
        if op == "ratio<=":
            reference, factor = limit
            if "step_wall_ms" not in summaries.get(reference, {}):
                continue
            value, limit = value / summaries[reference][figure], factor
            passed = value <= limit
        else:
            passed = value <= limit if op == "<=" else value >= limit
        results.append({"goal": label, "value": value, "limit": limit, "pass": passed})
    return results


def table(summaries: dict[str, dict]) -> str:
    """Markdown table: one column per subject, then the first subject's ratio to each other subject."""
    names = [name for name, s in summaries.items() if "step_wall_ms" in s]
    head, others = names[0], names[1:]
    header = ["figure", *names, *(f"{head} / {other}" for other in others)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for figure, label, fmt in ROWS:
        values = [summaries[name][figure] for name in names]
        ratios = [values[0] / v if v else float("nan") for v in values[1:]]
        cells = [label, *(fmt.format(v) for v in values), *(f"{r:.2f}x" for r in ratios)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
