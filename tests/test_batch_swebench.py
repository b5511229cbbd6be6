"""SWE-bench in and out: instances read with --format swebench, repositories found through --repo-url (a local
mirror folder here), each task started at base_commit, and preds.jsonl whose patches apply with `git apply` on a
clean checkout of base_commit."""
from __future__ import annotations

import json
import subprocess

import pytest
from glm_agent.testing import StandIn
from helpers import batch_cli, call, git, git_init, result_rows, tool_results

pytestmark = pytest.mark.slow


def mirror(root, owner: str, name: str) -> tuple[str, str]:
    """A repository with two commits; the instance's base_commit is the first (a bug the second commit moved)."""
    repo = git_init(root / f"{owner}__{name}")
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git(repo, "add", "calc.py")
    git(repo, "commit", "-qm", "calc")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "NEWS").write_text("later work\n")
    git(repo, "add", "NEWS")
    git(repo, "commit", "-qm", "later")
    return str(repo), base


def fixer(body: dict):
    """Fixes add() as the problem statement asks, then finishes; looks at the instance it cannot do, then gives
    up (finish, refused once for want of evidence, then accepted: the run looked)."""
    text = body["messages"][1]["content"]
    if "impossible" in text:
        if not tool_results(body):
            return call("read_file", path="calc.py")
        return call("finish", summary="cannot do this")
    if not tool_results(body):
        assert "Hints from the issue's discussion" in text and "Problem: add() subtracts" in text
        return call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    return call("finish", summary="fixed add")


def test_swebench_instances_in_preds_out_that_apply_on_base_commit(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAI_API_KEY", "sk-test-batch-0123456789")
    _, base_one = mirror(tmp_path / "mirrors", "acme", "calc")
    _, base_two = mirror(tmp_path / "mirrors", "other", "calc")
    instances = tmp_path / "instances.jsonl"
    instances.write_text("".join(json.dumps(i) + "\n" for i in [
        {"instance_id": "acme__calc-1", "repo": "acme/calc", "base_commit": base_one,
         "problem_statement": "Problem: add() subtracts.", "hints_text": "look at calc.py"},
        {"instance_id": "other__calc-7", "repo": "other/calc", "base_commit": base_two,
         "problem_statement": "Problem: add() subtracts.", "hints_text": "calc.py, line 2", "version": "1.0"},
        {"instance_id": "acme__calc-2", "repo": "acme/calc", "base_commit": base_one,
         "problem_statement": "Something impossible.", "hints_text": ""},
    ]))
    out = tmp_path / "out"
    with StandIn(responder=fixer) as server:
        done = batch_cli(instances, out, server.base_url, "--format", "swebench",
                         "--repo-url", str(tmp_path / "mirrors" / "{owner}__{name}"))
    assert done.returncode == 0, done.stderr
    preds = {p["instance_id"]: p for p in map(json.loads, (out / "preds.jsonl").read_text().splitlines())}
    assert set(preds) == {"acme__calc-1", "other__calc-7", "acme__calc-2"}
    assert {p["model_name_or_path"] for p in preds.values()} == {"glm-agent/glm-4.6"}
    assert preds["acme__calc-2"]["model_patch"] == ""
    for instance, base, owner in (("acme__calc-1", base_one, "acme"), ("other__calc-7", base_two, "other")):
        patch = preds[instance]["model_patch"]
        assert "-    return a - b" in patch and "+    return a + b" in patch and ".glm-agent" not in patch
        clean = tmp_path / f"clean-{instance}"
        subprocess.run(["git", "clone", "-q", str(tmp_path / "mirrors" / f"{owner}__calc"), str(clean)], check=True)
        git(clean, "checkout", "-q", base)
        applied = subprocess.run(["git", "apply"], input=patch, text=True, cwd=clean, capture_output=True)
        assert applied.returncode == 0, applied.stderr
        assert (clean / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
        assert not (clean / "NEWS").exists()  # started at base_commit, not the mirror's HEAD
    assert result_rows(out)["acme__calc-1"]["success"]


@pytest.mark.parametrize("extra, line, message", [
    ([], {"instance_id": "x", "repo": "a/b", "base_commit": "abc", "problem_statement": "p"}, "needs --repo-url"),
    (["--repo-url", "https://example.invalid/{repo}.git"], {"instance_id": "x", "repo": "ab", "base_commit": "c",
                                                            "problem_statement": "p"}, "is not owner/name"),
    (["--repo-url", "https://example.invalid/{repo}.git"], {"instance_id": "x", "repo": "a/b",
                                                            "problem_statement": "p"}, "missing or empty base_commit"),
    (["--repo-url", "https://example.invalid/x.git"], {"instance_id": "x", "repo": "a/b", "base_commit": "c",
                                                       "problem_statement": "p"}, "has none of {repo}"),
])
def test_bad_instances_are_usage_errors(tmp_path, extra, line, message):
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(line) + "\n")
    done = batch_cli(instances, tmp_path / "out", "http://127.0.0.1:9/api/paas/v4", "--format", "swebench", *extra)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
