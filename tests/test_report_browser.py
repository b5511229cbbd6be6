"""The report in a real browser: headless Chromium loads it with no console error (no script error, nothing
blocked by its no-network policy), and the DOM its script leaves shows the stop reason, the steps and every call."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from glm_agent.cli.main import main
from glm_agent.jobs.records import read_events
from glm_agent.testing import Reply, StandIn
from helpers import FAKE_KEY, browse, call, chromium, finish, need

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _browser():
    need(chromium() is not None, "chromium (apt-get install chromium)")


def test_demo_report_loads_without_console_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--keep", "--json", "--report", str(tmp_path / "demo.html")]) == 0
    result = json.loads(capsys.readouterr().out)
    dom, console = browse(tmp_path / "demo.html")
    assert console == []
    assert 'data-ready="1"' in dom, "the report's script ran to its end"
    assert re.search(r'id="stop-reason">finished<', dom) and f'id="step-count">{result["steps"]}<' in dom
    calls = [e for e in read_events(Path(result["run_dir"])) if e["type"] == "tool_call"]
    assert len(calls) >= 4
    assert re.findall(r'data-call-id="([^"]*)"', dom) == [c["id"] for c in calls]


def test_a_report_with_errors_and_a_failed_stop_loads_cleanly(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZAI_API_KEY", FAKE_KEY)
    script = [Reply(content="<b>not markup</b> </script><script>alert(1)</script>",
                    tool_calls=[("bash", {"command": "echo '</pre><img src=x onerror=alert(1)>'; exit 3"})]),
              call("read_file", path="nope.txt"), call("read_file", path="nope.txt"), call("read_file", path="nope.txt")]
    with StandIn(script) as server:
        code = main(["run", "Look around", "--repo", str(repo), "--base-url", server.base_url, "--json",
                     "--max-steps", "3", "--report", str(tmp_path / "r.html")])
    assert code == 1
    dom, console = browse(tmp_path / "r.html")
    assert console == [] and 'data-ready="1"' in dom
    assert 'id="stop-reason">limit_reached<' in dom and 'id="step-count">3<' in dom
    assert len(re.findall(r'class="call error"', dom)) == 3
    assert "<img" not in dom and "alert(1)</script>" not in dom  # model and tool text stay text


def test_batch_report_loads_without_console_errors(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZAI_API_KEY", FAKE_KEY)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "one", "repo": str(repo), "task": "write one.txt"}) + "\n")
    out = tmp_path / "out"
    script = [call("write_file", path="one.txt", content="1\n"), finish("wrote one.txt")]
    with StandIn(script) as server:
        assert main(["batch", str(tasks), "--out", str(out), "--report",
                     "-c", f"model.base_url={server.base_url}"]) == 0
    for page in (out / "report.html", out / "reports" / "one.html"):
        dom, console = browse(page)
        assert console == [], page
    assert 'id="task-count">1<' in browse(out / "report.html")[0]
