"""Refuse shell command lines that would destroy work: each segment is parsed, not string-prefix matched."""
from __future__ import annotations

import os
import re
from fnmatch import fnmatch
from pathlib import Path

from tools.gitguard import check_git
from tools.shellsyntax import SUBST, extract_substitutions, segments
from tools.workspace import RECORDS_DIR

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
        return check_git(words[1:], cwd, from_xargs)
    if name == "rm":
        return _check_rm(words[1:], root, cwd, from_xargs)
    if "$" in name or SUBST in name:  # `$(echo git) reset --hard`, `$G clean -f`: judged as if it were git or rm
        return check_git(words[1:], cwd, from_xargs) or _check_rm(words[1:], root, cwd, from_xargs)
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
    """-delete and -exec act on every starting point and everything below it: judged like `rm -r START`."""
    starts = []
    for word in words[1:]:
        if word.startswith("-") or word in ("(", "!"):
            break
        starts.append(word)
    for index, word in enumerate(words):
        if word == "-delete":
            named = _names_files(words, root)
            for start in starts or ["."]:
                if named and cwd is not None and Path(os.path.realpath(cwd / start)) == root:
                    continue  # `find . -name '*.pyc' -delete`
                refusal = _check_rm(["-r", "--", start], root, cwd, False)
                if refusal:
                    return refusal.replace("Recursive deletes", "find -delete and recursive deletes")
        if word in ("-exec", "-execdir", "-ok", "-okdir"):
            tail = words[index + 1:]
            tail = tail[: next((i for i, w in enumerate(tail) if w in (";", "+")), len(tail))]
            for start in starts or ["."]:
                refusal = _check_words([start if w == "{}" else w for w in tail], root, cwd, depth + 1, False)
                if refusal:
                    return refusal
    return None


def _names_files(words: list[str], root: Path) -> bool:
    """`find . -name '*.pyc' -delete`: only files of a specific name (no -o), none of them in .git or the records."""
    if any(w in ("-o", "-or", ",") for w in words):
        return False
    names = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-name", "-iname")]
    if not names or any(_broad(name) for name in names):
        return False
    kept = [n for place in (".git", RECORDS_DIR) for _, dirs, files in os.walk(root / place) for n in dirs + files]
    return not any(fnmatch(n.lower(), name.lower()) for name in names for n in kept)


def _check_rm(args: list[str], root: Path, cwd: Path | None, from_xargs: bool) -> str | None:
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
    if from_xargs:
        return (f"Refused (not run): `rm {' '.join(args)}` with targets read by xargs/find: they cannot be checked. "
                "Recursive deletes are allowed only for literal paths inside the repository; name the folders.")
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
        return "is inside .git (the repository's history) or .glm-agent (run records)" if _in_git(place, root) else None
    path = Path(os.path.normpath(base / target))
    real = Path(os.path.realpath(path if target.endswith("/") else path.parent)) / (
        "" if target.endswith("/") else path.name)
    for candidate in (path, real):
        if root.is_relative_to(candidate):
            return "is the repository root or contains it"
        if not candidate.is_relative_to(root):
            return "is outside the repository"
    return "is .git or .glm-agent, or inside one (history, run records)" if _in_git(real, root) else None


def _in_git(path: Path, root: Path) -> bool:
    """Inside .git, or inside the run records (which a deleted trajectory would lose)."""
    return path.relative_to(root).parts[:1] in ((".git",), (RECORDS_DIR,))


def _broad(pattern: str) -> bool:
    """A glob in the repo root that would hit everything, or .git."""
    return set(pattern) <= set("*?.") or fnmatch(".git", pattern)


def _cd(args: list[str], cwd: Path | None) -> Path | None:
    target = args[0] if args else os.path.expanduser("~")
    if cwd is None or target == "-" or "$" in target or SUBST in target or target.startswith("~"):
        return None
    return Path(os.path.normpath(cwd / target))
