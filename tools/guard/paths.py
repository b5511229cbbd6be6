"""Where shell commands delete and write: never outside the repository, the root itself, .git or the run records.

Only literal paths can be judged: a variable or command output in a target is refused for recursive deletes and
let through for single files (the run's snapshot covers files inside the repository).
"""
from __future__ import annotations

import os
import re
from fnmatch import fnmatch
from pathlib import Path

from glm_agent.tools.guard.syntax import SUBST
from glm_agent.tools.workspace import KEPT_DIRS

_DEVICES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}
# program -> (options taking a value, whether only the last operand is written (cp) or all of them (mv: the
# sources vanish too))
_WRITERS = {
    "mv": ({"-t", "-S", "--suffix", "--target-directory"}, False),
    "cp": ({"-t", "-S", "--suffix", "--target-directory"}, True),
    "install": ({"-t", "-m", "-o", "-g", "-S", "--mode", "--owner", "--group", "--target-directory"}, True),
    "ln": ({"-t", "-S", "--suffix", "--target-directory"}, True),
    "tee": (set(), False), "touch": ({"-r", "-d", "-t", "--reference", "--date"}, False),
    "truncate": ({"-s", "-r", "--size", "--reference"}, False), "shred": ({"-n", "-s", "--iterations"}, False),
}
_ADVICE = ("Commands may delete and write only inside the repository (not the root itself, .git or .glm-agent); "
           "name the exact files or folders, e.g. `rm -r build/`.")


def check_rm(args: list[str], root: Path, cwd: Path | None, from_xargs: bool) -> str | None:
    options, targets = [], []
    for index, word in enumerate(args):
        if word == "--":
            targets.extend(args[index + 1:])
            break
        (options if word.startswith("-") and len(word) > 1 else targets).append(word)
    recursive = "--recursive" in options or any(
        not o.startswith("--") and ("r" in o or "R" in o) for o in options)
    if recursive and from_xargs:
        return (f"Refused (not run): `rm {' '.join(args)}` with targets read by xargs/find: they cannot be checked. "
                "Recursive deletes are allowed only for literal paths inside the repository; name the folders.")
    for target in targets:
        problem = target_problem(target, root, cwd, strict=recursive)
        if problem:
            return f"Refused (not run): `rm {' '.join(args)}`: {target!r} {problem}. {_ADVICE}"
    return None


def check_writer(program: str, args: list[str], root: Path, cwd: Path | None) -> str | None:
    """mv, cp, tee, touch, truncate, dd ... writing or removing a file outside the allowed places."""
    for target in _written(program, args):
        problem = target_problem(target, root, cwd, strict=False)
        if problem:
            return f"Refused (not run): `{program} {' '.join(args)}`: {target!r} {problem}. {_ADVICE}"
    return None


def check_redirect(target: str, root: Path, cwd: Path | None) -> str | None:
    problem = target_problem(target, root, cwd, strict=False)
    return f"Refused (not run): output redirected to {target!r}, which {problem}. {_ADVICE}" if problem else None


def is_writer(program: str) -> bool:
    return program in _WRITERS or program == "dd"


def broad(pattern: str) -> bool:
    """A glob in the repo root that would hit everything, or .git."""
    return set(pattern) <= set("*?.") or fnmatch(".git", pattern)


def target_problem(target: str, root: Path, cwd: Path | None, strict: bool) -> str | None:
    """Why deleting or writing `target` is refused (strict: a recursive delete), or None."""
    if target in _DEVICES or target.startswith("/dev/fd/"):
        return None
    if target.startswith("~"):
        return "is in the home folder, outside the repository"
    if "$" in target or SUBST in target:
        return "expands to a path that cannot be checked (a variable or command output)" if strict else None
    if cwd is None and not target.startswith("/"):
        return "is relative to a directory that cannot be determined (after an unresolvable cd)" if strict else None
    base = cwd or root
    if re.search(r"[*?\[]", target):
        folder, slash, pattern = target.rpartition("/")
        if re.search(r"[*?\[]", folder):
            return "is a glob spanning several folders" if strict else None
        place = Path(os.path.realpath(base / (folder or slash or ".")))
        if not place.is_relative_to(root):
            return "is outside the repository"
        if place == root and strict and broad(pattern):
            return "would delete everything in the repository root (or .git)"
        return "is inside .git (the repository's history) or .glm-agent (run records)" if _kept(place, root) else None
    path = Path(os.path.normpath(base / target))
    real = Path(os.path.realpath(path if target.endswith("/") else path.parent)) / (
        "" if target.endswith("/") else path.name)
    for candidate in (path, real):
        if root.is_relative_to(candidate):
            return "is the repository root or contains it"
        if not candidate.is_relative_to(root):
            return "is outside the repository"
    return "is .git or .glm-agent, or inside one (history, run records)" if _kept(real, root) else None


def _written(program: str, args: list[str]) -> list[str]:
    if program == "dd":
        return [word[3:] for word in args if word.startswith("of=")]
    with_value, last_only = _WRITERS[program]
    operands, targets, index = [], [], 0
    while index < len(args):
        word = args[index]
        if word == "--":
            operands += args[index + 1:]
            break
        if word in ("-t", "--target-directory") and index + 1 < len(args):
            targets.append(args[index + 1])
        if word.startswith("--target-directory="):
            targets.append(word.partition("=")[2])
        if word.startswith("-") and len(word) > 1:
            index += 2 if word in with_value else 1
            continue
        operands.append(word)
        index += 1
    if last_only:
        return targets or (operands[-1:] if len(operands) > 1 else [])
    return targets + operands


def _kept(path: Path, root: Path) -> bool:
    """Inside .git, or inside the run records (which a deleted trajectory would lose)."""
    return path.relative_to(root).parts[:1] in [(name,) for name in KEPT_DIRS]
