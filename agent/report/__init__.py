"""The HTML report of a run record or a batch folder: one self-contained file (styles, script and charts inline),
readable offline in any browser (`glm-agent report`, `--report`)."""
from __future__ import annotations

from pathlib import Path


def write_report(source: Path, out: Path | None = None) -> Path:
    """Write the report of `source` (a run record folder, or a batch output folder) to `out` (default: report.html
    inside it); returns the path written. ValueError when `source` is neither."""
    source = Path(source)
    if (source / "results.jsonl").is_file():
        from glm_agent.report.batch import write_batch_report

        return write_batch_report(source, out or source / "report.html")
    if (source / "trajectory.jsonl").is_file():
        from glm_agent.report.html import render_run, write_html
        from glm_agent.report.record import load_run

        return write_html(out or source / "report.html", render_run(load_run(source)))
    raise ValueError(f"{source} is neither a run record (trajectory.jsonl) nor a batch folder (results.jsonl)")

