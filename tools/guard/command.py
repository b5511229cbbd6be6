"""Refuse shell command lines that would destroy work: each segment is parsed, not string-prefix matched."""
from __future__ import annotations

import os
import re
from fnmatch import fnmatch
from pathlib import Path

from glm_agent.tools.guard.git import check_git
from glm_agent.tools.guard.kill import check_kill, is_killer
from glm_agent.tools.guard.paths import (
    broad,
    check_redirect,
    check_rm,
    check_writer,
    is_writer,
)
from glm_agent.tools.guard.syntax import SUBST, extract_substitutions, segments
from glm_agent.tools.workspace import KEPT_DIRS

_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELLS = {"bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "yash"}
_MULTICALL = {"busybox", "toybox"}  # `busybox rm -rf .` is the applet `rm -rf .`
_KEYWORDS = {"{", "}", "!", "if", "then", "else", "elif", "do", "while", "until", "time", "exec", "builtin"}
# wrapper -> its options that take a separate value
_WRAPPERS = {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-U", "-r", "-t", "-T", "-D", "-R", "--user", "--group", "--chdir"},
    "doas": {"-u", "-C"}, "env": {"-u", "-C", "--unset", "--chdir"}, "command": set(), "nohup": set(),
    "nice": {"-n", "--adjustment"}, "timeout": {"-s", "-k", "--signal", "--kill-after"}, "stdbuf": set(),
    "setsid": set(), "ionice": {"-c", "-n", "-p"}, "xargs": {"-I", "-n", "-P", "-L", "-s", "-d", "-E", "-a",
    "--max-args", "--max-procs", "--replace", "--delimiter", "--arg-file", "--max-lines"},
}
SCRIPT_LIMIT = 256 * 1024  # shell scripts in the repository up to this size are checked line by line


def check_command(command: str, root: Path) -> str | None:
    """A refusal message (why, and what to do instead) when the command would destroy work, else None."""
    root = Path(root).resolve()
    return _check_line(command, root, root, depth=0)


def _check_line(line: str, root: Path, cwd: Path | None, depth: int) -> str | None:
    if depth > 8:
        return "Refused: the command nests shells or substitutions too deeply to check; simplify it."
    outer, inner = extract_substitutions(line)
    for sub in inner:
        refusal = _check_line(sub, root, cwd, depth + 1)
        if refusal:
            return refusal
    writes: list[tuple[int, str]] = []
    feeds: dict[int, str | int] = {}
    parts = segments(outer, writes, feeds)
    for index, words in enumerate([*parts, []]):
        for target in (target for at, target in writes if at == index):
            refusal = check_redirect(target, root, cwd)
            if refusal:
                return refusal
        if words[:1] in (["cd"], ["pushd"]):
            cwd = _cd(words[1:], cwd)
            continue
        feed = feeds.get(index)
        stdin = _output_of(parts[feed], root, cwd) if isinstance(feed, int) else feed
        refusal = _check_words(words, root, cwd, depth, from_xargs=False, stdin=stdin)
        if refusal:
            return refusal
    return None


def _check_words(words: list[str], root: Path, cwd: Path | None, depth: int, from_xargs: bool,
                 stdin: str | None = None) -> str | None:
    """`stdin`: what the command reads on its standard input, when known (a here-string, echo or printf piped in)."""
    words = _unwrap(words)
    if not words:
        return None
    name = os.path.basename(words[0])
    if name in _MULTICALL and len(words) > 1:
        return _check_words(words[1:], root, cwd, depth, from_xargs, stdin)
    if name in _WRAPPERS:
        rest = _skip_options(words[1:], _WRAPPERS[name])
        rest = rest[1:] if name == "timeout" else rest  # its DURATION
        return _check_words(rest, root, cwd, depth, name == "xargs" or from_xargs, stdin)
    if name in _SHELLS:
        script = _shell_script(words[1:])
        operand = next((w for w in words[1:] if not w.startswith(("-", "+"))), "")
        if script is None and operand and not any(w.startswith("-") and "s" in w[1:] for w in words[1:]):
            script = _script_file(operand, root, cwd)  # `bash nuke.sh`: a script in the repository is read
        elif script is None:  # `echo ... | bash`, `bash <<< ...`, `bash -s`: the script comes on stdin
            script = stdin
        return None if script is None else _check_line(script, root, cwd, depth + 1)
    if "/" in words[0]:  # `./nuke.sh`: checked when it is a shell script in the repository
        script = _script_file(words[0], root, cwd) or "\0"
        shebang = script.partition("\n")[0]
        if "\0" not in script and (not shebang.startswith("#!") or os.path.basename(shebang.split()[-1]) in _SHELLS):
            return _check_line(script, root, cwd, depth + 1)
    if name == "eval":
        return _check_line(" ".join(words[1:]), root, cwd, depth + 1)
    if name == "find":
        return _check_find(words, root, cwd, depth)
    if name == "git":
        return check_git(words[1:], cwd, from_xargs)
    if name == "rm":
        return check_rm(words[1:], root, cwd, from_xargs)
    if is_writer(name):
        return check_writer(name, words[1:], root, cwd)
    if is_killer(name):
        return check_kill(name, words[1:])
    if "$" in name or SUBST in name:  # `$(echo git) reset --hard`, `$G clean -f`: judged as if it were git or rm
        return check_git(words[1:], cwd, from_xargs) or check_rm(words[1:], root, cwd, from_xargs)
    return None


def _output_of(words: list[str], root: Path, cwd: Path | None) -> str | None:
    """What `echo`, `printf` or `cat FILE` writes, near enough to check it as a script piped into a shell."""
    words = _unwrap(words)
    name = os.path.basename(words[0]) if words else ""
    if name == "echo":
        args = words[1:]
        while args and re.fullmatch(r"-[neE]+", args[0]):
            args = args[1:]
        return _unescape(" ".join(args))
    if name == "printf" and len(words) > 1:
        text, args = _unescape(words[1]), iter(words[2:])
        return re.sub(r"%[sbd]", lambda _: next(args, ""), text) + " " + " ".join(args)
    if name == "cat" and len(words) == 2:
        return _script_file(words[1], root, cwd)
    return None


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", " ").replace("\\", "\\")


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


def _script_file(word: str, root: Path, cwd: Path | None) -> str | None:
    """The text of a script file inside the repository (None when absent, outside, or too big to check)."""
    if not word or "$" in word or SUBST in word or word.startswith("~"):
        return None
    path = Path(os.path.realpath((cwd or root) / word))
    if not path.is_relative_to(root) or not path.is_file() or path.stat().st_size > SCRIPT_LIMIT:
        return None
    return path.read_text(errors="replace")


def _shell_script(args: list[str]) -> str | None:
    for index, word in enumerate(args):
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            return args[index + 1] if index + 1 < len(args) else None
    return None


def _check_find(words: list[str], root: Path, cwd: Path | None, depth: int) -> str | None:
    """-delete and -exec act on each starting point and everything below it: judged like `rm -r START`, except
    `find . -name '*.pyc' ...`, which only reaches files of that name below the root."""
    starts = []
    for word in words[1:]:
        if word.startswith("-") or word in ("(", "!"):
            break
        starts.append(word)
    named = _names_files(words, root)
    for start in starts or ["."]:
        below = named and cwd is not None and Path(os.path.realpath(cwd / start)) == root
        found = start.rstrip("/") + "/found" if below else start
        for index, word in enumerate(words):
            if word == "-delete" and not below:
                refusal = check_rm(["-r", "--", start], root, cwd, False)
            elif word in ("-exec", "-execdir", "-ok", "-okdir"):
                tail = words[index + 1:]
                tail = tail[: next((i for i, w in enumerate(tail) if w in (";", "+")), len(tail))]
                refusal = _check_words([found if w == "{}" else w for w in tail], root, cwd, depth + 1, False)
            else:
                continue
            if refusal:
                return refusal
    return None


def _names_files(words: list[str], root: Path) -> bool:
    """`find . -name '*.pyc' -delete`: only files of a specific name (no -o), none of them in .git or the records."""
    if any(w in ("-o", "-or", ",") for w in words):
        return False
    names = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-name", "-iname")]
    if not names or any(broad(name) for name in names):
        return False
    kept = [n for place in KEPT_DIRS for _, dirs, files in os.walk(root / place) for n in dirs + files]
    return not any(fnmatch(n.lower(), name.lower()) for name in names for n in kept)


def _cd(args: list[str], cwd: Path | None) -> Path | None:
    target = args[0] if args else os.path.expanduser("~")
    if cwd is None or target == "-" or "$" in target or SUBST in target or target.startswith("~"):
        return None
    return Path(os.path.normpath(cwd / target))
