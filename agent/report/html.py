"""The report's HTML: the run's view (record.RunView) rendered by the jinja2 templates beside this module."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from glm_agent.report.charts import bar_chart, legend
from glm_agent.report.diff import highlight_css, split_files
from glm_agent.report.record import RESULT_LIMIT, RunView

TEMPLATES = Path(__file__).with_name("templates")
FOLD_LINES = 12  # a result longer than this is folded, its first lines shown


@functools.lru_cache(maxsize=None)
def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pretty=pretty_arguments, money=lambda v: f"${(v or 0):.4f}", count=lambda v: f"{v or 0:,}",
                       jsonish=lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str),
                       duration=duration)
    return env


def render_run(view: RunView) -> str:
    files, cut = split_files(view.diff)
    result = view.result
    extra = result.get("extra") or {}
    html = environment().get_template("run.html.j2").render(
        title=f"glm-agent report: {_first_line(view.start.get('task', ''))}", view=view, result=result,
        task=view.start.get("task", ""), usage=result.get("usage") or {}, extra=extra,
        sandbox=result.get("sandbox"), files=files, diff_cut=cut, steps=view.steps, before=view.before,
        charts=run_charts(view), fold_lines=FOLD_LINES, result_limit=RESULT_LIMIT, highlight_css=highlight_css(),
        structured=result.get("structured_output"))
    return view.scrub(html)


def run_charts(view: RunView) -> str:
    if not view.steps:
        return ""
    labels = [f"step {s.number}" for s in view.steps]
    cached = [s.usage.get("cached_tokens", 0) for s in view.steps]
    prompt = [max(s.usage.get("prompt_tokens", 0) - c, 0) for s, c in zip(view.steps, cached)]
    completion = [s.usage.get("completion_tokens", 0) for s in view.steps]
    tokens = bar_chart(labels, [("cached", cached), ("prompt", prompt), ("completion", completion)],
                       title="tokens per step (prompt: cached + not cached; completion)")
    cost = bar_chart(labels, [("cost", [s.cost_usd for s in view.steps])], title="cost per step", money=True)
    return legend(["cached", "prompt", "completion"]) + tokens + cost


def pretty_arguments(arguments: str) -> str:
    """A bash call as its command line, other calls as indented JSON, unparsable ones as sent."""
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        return arguments
    if isinstance(args, dict) and "command" in args and set(args) <= {"command", "timeout"}:
        return str(args["command"]) + (f"   (timeout {args['timeout']}s)" if "timeout" in args else "")
    return json.dumps(args, indent=2, ensure_ascii=False)


def duration(seconds) -> str:
    seconds = float(seconds or 0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def _first_line(text: str) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= 80 else line[:79] + "…"


def write_html(path: Path, html: str) -> Path:
    """Write atomically (a browser or a CI artefact upload never sees half a report); returns the path."""
    from glm_agent.tools.workspace import atomic_write

    path = Path(path)
    atomic_write(path, html.encode("utf-8"))
    return path
