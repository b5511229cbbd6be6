"""Refuse shell command lines that would destroy work: each segment is parsed, not string-prefix matched."""
from __future__ import annotations

import os
import re
from fnmatch import fnmatch
from pathlib import Path

from tools.shellsyntax import SUBST, extract_substitutions, segments

_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELLS = {"bash", "sh", "zsh", "dash", "ksh"}
_KEYWORDS = {"{", "}", "!", "if", "then", "else", "elif", "do", "while", "until", "time", "exec", "builtin"}
# wrapper -> its options that take a separate value
_WRAPPERS = {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-U", "-r", "-t", "-T", "-D", "-R", "--user", "--group", "--chdir"},
    "doas": {"-u", "-C"}, "env": {"-u", "-C", "--unset", "--chdir"}, "command": set(), "nohup": set(),
    "nice": {"-n", "--adjustment"}, "timeout": {"-s", "-k", "--signal", "--kill-after"}, "stdbuf": set(),
    "setsid": set(), "ionice": {"-c", "-n", "-p"}, "xargs": {"-I", "-n", "-P", "-L", "-s", "-d", "-E", "-a",
    "--max-args", "--max-procs", "--replace", "--delimiter", "--arg-file", "--max-lines"},
}
_GIT_VALUE_OPTS = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env"}

_WHY = {
    "reset": "`git reset --hard` discards all uncommitted changes, including the user's own work. Revert your edits "
             "with undo_edit; `git reset --soft`/`--mixed` move HEAD but keep the files; `git stash` sets changes aside.",
    "checkout": "`git checkout` of paths (or `.`, or with -f) overwrites uncommitted changes in those files. Revert your "
                "own edits with undo_edit, inspect with `git diff`, view old versions with `git show REV:path`; "
                "`git switch BRANCH` / `git checkout -b NAME` for branches are fine.",
    "switch": "`git switch --discard-changes`/`-f` throws away uncommitted changes. Commit or `git stash` them first.",
    "restore": "`git restore` of working-tree files discards their uncommitted changes. Revert your own edits with "
               "undo_edit; `git restore --staged PATH` (unstaging only) is allowed.",
    "clean": "`git clean -f` permanently deletes untracked files, which may be the user's new work. Remove specific "
             "files you created with `rm FILE`; preview with `git clean -n`.",
    "push": "a forced or deleting push rewrites the remote and can destroy other people's commits. Push normally; "
            "force pushes are for the user to decide.",
    "stash": "`git stash drop`/`clear` permanently deletes stashed work. Leave existing stashes alone.",
    "refs": "deleting refs or expiring reflogs removes the snapshots that make this run undoable (and the "
            "user's recovery points). Leave refs, reflogs and garbage collection alone.",
    "branch": "`git branch -D` deletes a branch even when its commits exist nowhere else. Leave branches alone "
              "(`git branch -d` deletes merged branches only).",
}


def check_command(command: str, root: Path) -> str | None:
    """A refusal message (why, and what to do instead) when the command would destroy work, else None."""
    return _check_line(command, Path(root).resolve(), Path(root).resolve(), depth=0)


def _check_line(line: str, root: Path, cwd: Path | None, depth: int) -> str | None:
    if depth > 8:
        return "Refused: the command nests shells or substitutions too deeply to check; simplify it."
    outer, inner = extract_substitutions(line)
    for sub in inner:
        refusal = _check_line(sub, root, cwd, depth + 1)
        if refusal:
            return refusal
    for words in segments(outer):
        if words[:1] in (["cd"], ["pushd"]):
            cwd = _cd(words[1:], cwd)
            continue
        refusal = _check_words(words, root, cwd, depth, from_xargs=False)
        if refusal:
            return refusal
    return None


def _check_words(words: list[str], root: Path, cwd: Path | None, depth: int, from_xargs: bool) -> str | None:
    words = _unwrap(words)
    if not words:
        return None
    name = os.path.basename(words[0])
    if name in _WRAPPERS:
        rest = _skip_options(words[1:], _WRAPPERS[name])
        rest = rest[1:] if name == "timeout" else rest  # its DURATION
        return _check_words(rest, root, cwd, depth, name == "xargs" or from_xargs)
    if name in _SHELLS:
        script = _shell_script(words[1:])
        return None if script is None else _check_line(script, root, cwd, depth + 1)
    if name == "eval":
        return _check_line(" ".join(words[1:]), root, cwd, depth + 1)
    if name == "find":
        return _check_find(words, root, cwd, depth)
    if name == "git":
        return _check_git(words[1:], cwd, from_xargs)
    if name == "rm":
        return _check_rm(words[1:], root, cwd)
    return None


def _unwrap(words: list[str]) -> list[str]:
    """Drop leading variable assignments and shell keywords; the rest starts with the program."""
    index = 0
    while index < len(words) and (_ASSIGN.match(words[index]) or words[index] in _KEYWORDS):
        index += 1
    return words[index:]


def _skip_options(words: list[str], with_value: set[str]) -> list[str]:
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            return words[index + 1:]
        if _ASSIGN.match(word):
            index += 1
        elif word.startswith("-") and len(word) > 1:
            index += 2 if word in with_value else 1
        else:
            break
    return words[index:]


def _shell_script(args: list[str]) -> str | None:
    for index, word in enumerate(args):
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            return args[index + 1] if index + 1 < len(args) else None
    return None


def _check_find(words: list[str], root: Path, cwd: Path | None, depth: int) -> str | None:
    """Check -exec commands with {} standing for a file below each starting point."""
    starts = []
    for word in words[1:]:
        if word.startswith("-") or word in ("(", "!"):
            break
        starts.append(word)
    for index, word in enumerate(words):
        if word in ("-exec", "-execdir", "-ok", "-okdir"):
            tail = words[index + 1:]
            tail = tail[: next((i for i, w in enumerate(tail) if w in (";", "+")), len(tail))]
            for start in starts or ["."]:
                found = start.rstrip("/") + "/found"
                refusal = _check_words([found if w == "{}" else w for w in tail], root, cwd, depth + 1, True)
                if refusal:
                    return refusal
    return None


def _check_git(args: list[str], cwd: Path | None, from_xargs: bool) -> str | None:
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in _GIT_VALUE_OPTS else 1
    if index >= len(args):
        return None
    sub, rest = args[index], args[index + 1:]
    short = "".join(w[1:] for w in rest if w.startswith("-") and not w.startswith("--"))
    bad = False
    if sub == "reset":
        bad = "--hard" in rest or "--merge" in rest
    elif sub == "checkout":
        bad = _checkout_discards(rest, cwd, from_xargs)
    elif sub == "switch":
        bad = "--discard-changes" in rest or "--force" in rest or "f" in short
    elif sub == "restore":
        staged = "--staged" in rest or "S" in short
        worktree = "--worktree" in rest or "W" in short
        bad = worktree or not staged
    elif sub == "clean":
        dry = "--dry-run" in rest or "n" in short
        bad = not dry and ("--force" in rest or "f" in short)
    elif sub == "push":
        bad = (any(w.startswith(("--force", "--mirror", "--delete")) for w in rest) or "f" in short or "d" in short
               or any(w.startswith(("+", ":")) and len(w) > 1 for w in rest))
    elif sub == "stash":
        bad = bool(rest) and rest[0] in ("drop", "clear")
    elif sub in ("update-ref", "reflog", "gc"):
        sub, bad = "refs", ("-d" in rest or (rest[:1] in (["expire"], ["delete"]))
                            or any(w in ("--prune=now", "--prune=all") for w in rest))
    elif sub == "branch":
        deleting = "d" in short or "--delete" in rest
        bad = "D" in short or (deleting and ("f" in short or "--force" in rest))
    if not bad:
        return None
    return f"Refused (not run): `git {' '.join(args[index:])}`. {_WHY[sub]}"


def _checkout_discards(rest: list[str], cwd: Path | None, from_xargs: bool) -> bool:
    if "--" in rest:
        return bool(rest[rest.index("--") + 1:]) or from_xargs
    if any(w in ("-f", "--force", "-p", "--patch") for w in rest) or "." in rest:
        return True
    positional, skip = [], False
    for word in rest:
        if skip:
            skip = False
        elif word in ("-b", "-B", "--orphan"):
            skip = True
        elif not word.startswith("-"):
            positional.append(word)
    if any(word.startswith(":") or any(c in word for c in "*?[") for word in positional):
        return True
    if cwd is None:
        return len(positional) > 1
    return len(positional) > 1 or any((cwd / word).exists() for word in positional)


def _check_rm(args: list[str], root: Path, cwd: Path | None) -> str | None:
    options, targets = [], []
    for index, word in enumerate(args):
        if word == "--":
            targets.extend(args[index + 1:])
            break
        (options if word.startswith("-") and len(word) > 1 else targets).append(word)
    recursive = "--recursive" in options or any(
        not o.startswith("--") and ("r" in o or "R" in o) for o in options)
    if not recursive:
        return None
    for target in targets:
        problem = _rm_problem(target, root, cwd)
        if problem:
            return (f"Refused (not run): `rm {' '.join(args)}`: {target!r} {problem}. Recursive deletes are allowed "
                    "only for literal paths inside the repository (not the root itself or .git); name the exact "
                    "folder, e.g. `rm -r build/`.")
    return None


def _rm_problem(target: str, root: Path, cwd: Path | None) -> str | None:
    if target.startswith("~") or "$" in target or SUBST in target:
        return "expands to a path that cannot be checked (a variable, ~ or command output)"
    if cwd is None and not target.startswith("/"):
        return "is relative to a directory that cannot be determined (after an unresolvable cd)"
    base = cwd or root
    if re.search(r"[*?\[]", target):
        folder, slash, pattern = target.rpartition("/")
        if re.search(r"[*?\[]", folder):
            return "is a glob spanning several folders"
        place = Path(os.path.realpath(base / (folder or slash or ".")))
        if not place.is_relative_to(root):
            return "is outside the repository"
        if place == root and _broad(pattern):
            return "would delete everything in the repository root (or .git)"
        return "is inside .git (the repository's history)" if _in_git(place, root) else None
    path = Path(os.path.normpath(base / target))
    real = Path(os.path.realpath(path if target.endswith("/") else path.parent)) / (
        "" if target.endswith("/") else path.name)
    for candidate in (path, real):
        if root.is_relative_to(candidate):
            return "is the repository root or contains it"
        if not candidate.is_relative_to(root):
            return "is outside the repository"
    return "is .git or inside it (the repository's history)" if _in_git(real, root) else None


def _in_git(path: Path, root: Path) -> bool:
    return path.relative_to(root).parts[:1] == (".git",)


def _broad(pattern: str) -> bool:
    """A glob in the repo root that would hit everything, or .git."""
    return set(pattern) <= set("*?.") or fnmatch(".git", pattern)


def _cd(args: list[str], cwd: Path | None) -> Path | None:
    target = args[0] if args else os.path.expanduser("~")
    if cwd is None or target == "-" or "$" in target or SUBST in target or target.startswith("~"):
        return None
    return Path(os.path.normpath(cwd / target))
