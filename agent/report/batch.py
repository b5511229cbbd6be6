"""The report of a batch folder: a table of its tasks (each linked to its own run report, written beside it
under reports/) and charts of their durations and costs."""
from __future__ import annotations

import json
from pathlib import Path

from glm_agent.report.charts import bar_chart

REPORTS = "reports"  # each task's own report: <batch report folder>/reports/<task id>.html


def write_batch_report(batch_dir: Path, out: Path) -> Path:
    from glm_agent.batch.tasks import Task
    from glm_agent.report.html import environment, render_run, write_html
    from glm_agent.report.record import load_run

    out = Path(out)
    rows = _rows(Path(batch_dir) / "results.jsonl")
    tasks = []
    scrubs = []
    for row in rows:
        run_dir = Path(row["run_dir"]) if row.get("run_dir") else None
        task = {"task": "", **row, "link": None}
        if run_dir is not None and (run_dir / "trajectory.jsonl").is_file():
            view = load_run(run_dir)
            link = f"{REPORTS}/{Task(str(row.get('id', run_dir.name)), '', '').slug}.html"
            write_html(out.parent / link, render_run(view))
            task.update(link=link, duration_s=row.get("duration_s") or view.duration_s, task=view.start.get("task", ""))
            scrubs.append(view.scrub)
        tasks.append(task)
    labels = [str(t.get("id", "?")) for t in tasks]
    charts = (bar_chart(labels, [("duration", [float(t.get("duration_s") or 0) for t in tasks])],
                        title="duration per task", unit="s") +
              bar_chart(labels, [("cost", [float(t.get("cost_usd") or 0) for t in tasks])], title="cost per task",
                        money=True)) if tasks else ""
    html = environment().get_template("batch.html.j2").render(
        title=f"glm-agent batch report: {Path(batch_dir).resolve().name}", tasks=tasks, charts=charts,
        succeeded=sum(bool(t.get("success")) for t in tasks),
        cost=sum(float(t.get("cost_usd") or 0) for t in tasks))
    for scrub in scrubs:
        html = scrub(html)
    return write_html(out, html)


def _rows(path: Path) -> list[dict]:
    """One row per task id, the last one written winning (a resumed batch may repeat a task)."""
    rows: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows[str(row.get("id", len(rows)))] = row
    return list(rows.values())
