"""The HTML report of a run, a fix job and a batch: what a person reading it sees, and what never appears in it."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from glm_agent.cli.main import main
from glm_agent.config.loading import load_config
from glm_agent.report import write_report
from glm_agent.testing import Reply, StandIn
from helpers import (
    CALC_FIXED,
    CHECK,
    FAKE_KEY,
    buggy_project,
    call,
    finish,
    no_evidence_config,
    run_script,
)

SECRET = "tok-configured-secret-42424242"


def _steps(repo: Path):
    return [
        Reply(content="Reading first.", reasoning="I should look at the readme before editing.",
              tool_calls=[("read_file", {"path": "README.md"})]),
        call("write_file", path="app.py", content="def main():\n    return 42\n"),
        call("bash", command="cat missing-file.txt"),
        finish("wrote app.py"),
    ]


def _tags(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]*)"', html)


def test_run_report_has_the_header_timeline_diff_and_charts(repo):
    result, _, events = run_script(repo, _steps(repo), task="Write app.py")
    path = write_report(Path(result.run_dir))
    assert path == Path(result.run_dir) / "report.html"
    html = path.read_text()
    assert '<span class="badge ok" id="stop-reason">finished</span>' in html
    assert '<td id="step-count">4</td>' in html and "Write app.py" in html and "wrote app.py" in html
    assert result.commit in html and result.branch in html and "$0.0" in html
    calls = [e for e in events if e["type"] == "tool_call"]
    assert _tags(html, "data-call-id") == [c["id"] for c in calls]
    assert _tags(html, "data-tool") == ["read_file", "write_file", "bash", "finish"]
    assert re.search(r'class="call error" data-tool="bash"', html), "the failing command is marked"
    assert "No such file or directory" in html
    assert '<details class="thinking"><summary>' in html and "look at the readme" in html  # folded
    assert "app.py" in html and 'class="add">+' in html  # the diff, coloured per line
    assert html.count("<svg") == 2 and "tokens per step" in html and "cost per step" in html


def test_report_is_self_contained(repo):
    result, _, _ = run_script(repo, _steps(repo))
    html = write_report(Path(result.run_dir)).read_text()
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:|//)""", html), "nothing fetched when viewed"
    assert "<link" not in html and "default-src 'none'" in html
    assert "<style>" in html and "<script>" in html


def test_the_key_and_configured_secrets_never_appear(repo, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("DEPLOY_TOKEN", SECRET)
    config = load_config(repo, ["tools.extra_env_remove=[\"DEPLOY_TOKEN\"]"])
    script = [call("write_file", path="leak.txt", content=f"key={FAKE_KEY}\ntoken={SECRET}\n"),
              call("read_file", path="leak.txt"), finish(f"wrote {SECRET}")]
    result, _, _ = run_script(repo, script, config=config)
    html = write_report(Path(result.run_dir)).read_text()
    assert "leak.txt" in html and "key=***" in html and "token=***" in html  # the diff, the call, the result
    assert FAKE_KEY not in html and SECRET not in html


def test_long_tool_results_are_cut_and_folded(repo):
    script = [call("bash", command=f"{sys.executable} -c \"print('x' * 200 + chr(10)) ; [print(i) for i in range(9000)]\""),
              finish()]
    config = load_config(repo, ["tools.output_limit=1000000"])
    result, _, _ = run_script(repo, script, config=config)
    html = write_report(Path(result.run_dir)).read_text()
    assert re.search(r"[\d,]+ characters not shown \(more than 20,000\)", html)
    assert "lines</span></summary>" in html  # folded, its first lines shown




def test_report_command_and_fix_report(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZAI_API_KEY", FAKE_KEY)
    buggy_project(repo)
    target = tmp_path / "fix.html"
    with StandIn([call("edit_file", path="calc.py", old_string="a - b", new_string="a + b"),
                  finish("fixed add")]) as server:
        code = main(["fix", "--check", CHECK, "--repo", str(repo), "--base-url", server.base_url, "--json",
                     "--report", str(target)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (repo / "calc.py").read_text() == CALC_FIXED and f"report: {target}" in err
    html = target.read_text()
    assert re.search(r"check before</th><td><span class=\"bad\">fails \(exit 1\)", html)
    assert re.search(r"check after</th><td><span class=\"ok\">passes \(exit 0\)", html)
    run_dir = Path(json.loads(out)["run_dir"])
    assert main(["report", str(run_dir), "-o", str(tmp_path / "again.html")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "again.html")
    assert main(["report", str(tmp_path)]) == 2
    assert "neither a run record" in capsys.readouterr().err


@pytest.mark.slow
def test_batch_report_links_each_tasks_report(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZAI_API_KEY", FAKE_KEY)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"id": name, "repo": str(repo), "task": f"create {name}.txt"}) + "\n"
                             for name in ("alpha", "beta")))

    def creator(body: dict) -> Reply:
        name = re.search(r"create (\S+)", body["messages"][1]["content"]).group(1)
        done = any(m["role"] == "tool" for m in body["messages"])
        return finish(f"created {name}") if done else call("write_file", path=name, content="x\n")

    out = tmp_path / "out"
    with StandIn(responder=creator) as server:
        code = main(["batch", str(tasks), "--out", str(out), "--report", "-c", f"model.base_url={server.base_url}"])
    assert code == 0, capsys.readouterr().err
    html = (out / "report.html").read_text()
    assert sorted(_tags(html, "data-task")) == ["alpha", "beta"]  # in the order the tasks ended
    assert sorted(_tags(html, "href")) == ["reports/alpha.html", "reports/beta.html"]
    for name in ("alpha", "beta"):
        task_html = (out / "reports" / f"{name}.html").read_text()
        assert f"create {name}.txt" in task_html and 'data-tool="write_file"' in task_html
    assert "duration per task" in html and "cost per task" in html


def test_plan_updates_and_compactions_show_where_they_happened(repo):
    result, _, _ = run_script(repo, _steps(repo))
    trajectory = Path(result.run_dir) / "trajectory.jsonl"
    lines = trajectory.read_text().splitlines()
    first_result = next(i for i, line in enumerate(lines) if '"type": "tool_result"' in line)
    added = [{"type": "plan", "step": 1, "items": [{"step": "read the readme", "status": "done"},
                                                   {"step": "write app.py", "status": "in_progress"}]},
             {"type": "compaction", "step": 1, "prompt_tokens": 150000, "summary": "Earlier: read README.md."},
             {"type": "sandbox_notice", "step": 1, "mode": "bwrap"}]  # a type the report does not know yet
    lines[first_result + 1:first_result + 1] = [json.dumps(event) for event in added]
    trajectory.write_text("\n".join(lines) + "\n")
    html = write_report(Path(result.run_dir)).read_text()
    step1 = html.split('id="step-1"', 1)[1].split('id="step-2"', 1)[0]
    assert '<div class="note plan" data-event="plan">' in step1 and "in_progress write app.py" in step1
    assert 'data-event="compaction"' in step1 and "150,000 prompt tokens" in step1 and "Earlier: read README.md." in step1
    assert 'data-event="sandbox_notice"' in step1 and "bwrap" in step1


@pytest.mark.parametrize("sandbox, shown", [({"mode": "bwrap", "network": False}, "bwrap"), ("none", "none")])
def test_the_sandbox_mode_is_in_the_header_when_recorded(repo, sandbox, shown):
    result, _, _ = run_script(repo, [finish()], config=no_evidence_config())
    path = Path(result.run_dir) / "result.json"
    recorded = json.loads(path.read_text())["sandbox"]["mode"]  # every run records its sandbox mode
    assert f"<tr><th>sandbox</th><td>{recorded}" in write_report(Path(result.run_dir)).read_text()
    path.write_text(json.dumps({**json.loads(path.read_text()), "sandbox": sandbox}))
    assert f"<tr><th>sandbox</th><td>{shown}</td></tr>" in write_report(Path(result.run_dir)).read_text()


def test_a_run_without_result_json_reports_its_last_stop(repo):
    result, _, _ = run_script(repo, [call("read_file", path="README.md"), finish("read")],
                              config=no_evidence_config())
    (Path(result.run_dir) / "result.json").unlink()  # killed before it was written
    html = write_report(Path(result.run_dir)).read_text()
    assert 'id="stop-reason">finished<' in html and '<td id="step-count">2</td>' in html


def test_without_pygments_the_diff_is_plain_and_still_coloured(repo, monkeypatch):
    result, _, _ = run_script(repo, _steps(repo))
    with_pygments = write_report(Path(result.run_dir)).read_text()
    assert '<span class="code"><span class="k">def</span>' in with_pygments  # highlighted: the extra is installed
    for name in [m for m in sys.modules if m == "pygments" or m.startswith("pygments.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pygments", None)  # import pygments now raises ImportError
    html = write_report(Path(result.run_dir)).read_text()
    assert '<div class="add">+def main():</div>' in html and 'class="k"' not in html
