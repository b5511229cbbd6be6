"""The package's shape: one import namespace that a user's own `tools`/`prompts`/`agent` never meet, imports that
point one way (no cycles), and modules small enough to read in one sitting."""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import glm_agent
import pytest
from glm_agent.testing import Reply, StandIn
from helpers import CALC_FIXED, CHECK, buggy_project, call, git, tool_results

PACKAGE = Path(glm_agent.__file__).resolve().parent
ROOT = PACKAGE.parent
MAX_LINES = 320  # "~300 lines": a module past this wants splitting


def _modules() -> dict[str, Path]:
    """Every glm_agent module by import name, through the same folder mapping as the wheel."""
    roots = {"glm_agent": ROOT / "agent", "glm_agent.tools": ROOT / "tools", "glm_agent.prompts": ROOT / "prompts"}
    found = {}
    for prefix, folder in roots.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([prefix, *parts])] = path
    return found


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The glm_agent modules `name` imports anywhere (function-level imports too; TYPE_CHECKING blocks not)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # drop `if TYPE_CHECKING:` bodies: they never run
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
    return {t for t in targets if t in modules and t != name}


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_dependencies_point_one_way():
    """The client never imports tools or the loop; tools never import the loop, the jobs or the CLI."""
    modules = _modules()
    for name, path in modules.items():
        used = _imports(path, name, modules)
        if name.startswith("glm_agent.glm."):
            assert not {u for u in used if u.startswith(("glm_agent.tools", "glm_agent.core.loop"))}, name
        if name.startswith("glm_agent.tools"):
            assert not {u for u in used if u.startswith(("glm_agent.core", "glm_agent.jobs", "glm_agent.cli",
                                                         "glm_agent.fix", "glm_agent.batch"))}, name
        if not name.startswith("glm_agent.cli"):
            assert not {u for u in used if u.startswith("glm_agent.cli")} or name == "glm_agent.__main__", name


def test_modules_stay_small():
    big = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def _hostile(repo: Path) -> None:
    """The user's repository has its own tools/, prompts/ and agent/ packages, each raising on import."""
    for name in ("tools", "prompts", "agent"):
        (repo / name).mkdir()
        (repo / name / "__init__.py").write_text(f"raise SystemExit('the repository\\'s own {name} was imported')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the user's own packages")


def _fixer(body: dict) -> Reply:
    if not tool_results(body):
        return call("edit_file", path="calc.py", old_string="a - b", new_string="a + b")
    return call("finish", summary="add() adds")


@pytest.fixture
def hostile_repo(repo):
    buggy_project(repo)
    _hostile(repo)
    return repo


def _glm_agent(repo: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The installed console script, run from inside the repository with the repository on PYTHONPATH."""
    script = shutil.which("glm-agent", path=str(Path(sys.executable).parent)) or "glm-agent"
    env = {**os.environ, "ZAI_API_KEY": "sk-test-layout-0123456789", "PYTHONPATH": str(repo)}
    return subprocess.run([script, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", ["run", "fix"])
def test_a_repository_with_its_own_tools_prompts_and_agent_packages_runs_as_a_clean_one(hostile_repo, command):
    with StandIn(responder=_fixer) as server:
        args = (["run", "fix add()"] if command == "run" else ["fix", "--check", CHECK])
        proc = _glm_agent(hostile_repo, *args, "--base-url", server.base_url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stop_reason"] == "finished"
    assert (hostile_repo / "calc.py").read_text() == CALC_FIXED
    assert "the repository's own" not in proc.stderr


def test_batch_from_a_repository_with_its_own_packages_runs_every_task(hostile_repo, tmp_path):
    tasks = hostile_repo / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "t1", "repo": str(hostile_repo), "task": "fix add()"}) + "\n")
    out = tmp_path / "out"
    with StandIn(responder=_fixer) as server:
        proc = _glm_agent(hostile_repo, "batch", str(tasks), "--out", str(out), "--workers", "1",
                          "-c", f"model.base_url={server.base_url}")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(row["id"], row["stop_reason"], row["success"]) for row in rows] == [("t1", "finished", True)]
