"""SWE-bench in and out: instance records as batch tasks, and OUT/preds.jsonl in the harness's format.

An instance gives `instance_id`, `repo` (owner/name), `base_commit`, `problem_statement` (and maybe `hints_text`);
its repository is found through the --repo-url template ({repo}, {owner}, {name}); the task starts at base_commit,
and its prediction is the diff of the task's commit against base_commit.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from glm_agent.batch.tasks import BatchError, Task, is_url, read_lines

REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement")


def load_instances(path: Path, template: str | None) -> list[Task]:
    if not template:
        raise BatchError("--format swebench needs --repo-url TEMPLATE, e.g. https://github.com/{repo}.git "
                         "or a mirror folder /mirrors/{owner}__{name}")
    if not re.search(r"\{(repo|owner|name)\}", template):
        raise BatchError(f"--repo-url {template!r} has none of {{repo}}, {{owner}}, {{name}}")
    lines = read_lines(path)
    tasks, seen = [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            task = _task(json.loads(line), template, Path(path).parent)
        except (ValueError, KeyError) as exc:
            raise BatchError(f"{path}:{number}: {exc} (SWE-bench instances: instance_id, repo, base_commit, "
                             f"problem_statement, hints_text?)") from None
        if task.id in seen or task.slug in seen:
            raise BatchError(f"{path}:{number}: duplicate instance_id {task.id!r}")
        seen.update((task.id, task.slug))
        tasks.append(task)
    if not tasks:
        raise BatchError(f"{path}: no instances")
    return tasks


def _task(data: object, template: str, base: Path) -> Task:
    from glm_agent.prompts import render

    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    missing = [name for name in REQUIRED if not isinstance(data.get(name), str) or not data[name].strip()]
    if missing:
        raise ValueError(f"missing or empty {', '.join(missing)}")
    owner, slash, name = data["repo"].partition("/")
    if not slash or not owner or not name or "/" in name:
        raise ValueError(f"repo {data['repo']!r} is not owner/name")
    repo = template.format(repo=data["repo"], owner=owner, name=name)
    if not is_url(repo):
        repo = str((base / Path(repo).expanduser()).resolve())
    task = render("swebench_task", problem_statement=data["problem_statement"].strip(),
                  hints=str(data.get("hints_text") or "").strip())
    return Task(id=data["instance_id"], repo=repo, task=task, ref=data["base_commit"],
                patch_base=data["base_commit"])


def write_preds(out: Path, rows: list[dict], opts) -> None:
    """OUT/preds.jsonl, one prediction per finished instance (an empty patch when the agent changed nothing),
    rewritten whole from results.jsonl so a resumed batch adds to it."""
    from glm_agent.config.loading import load_config

    model = f"glm-agent/{load_config(None, opts.overrides, opts.config_file).model.name}"
    path = out / "preds.jsonl"
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps({"instance_id": row["id"], "model_name_or_path": model,
                                       "model_patch": row.get("model_patch") or ""}) + "\n" for row in rows),
                   encoding="utf-8")
    os.replace(tmp, path)
