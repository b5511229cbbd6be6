"""Shell command-line syntax, just enough to find every simple command: segments, substitutions, comments."""
from __future__ import annotations

import re
import shlex

SUBST = "__glm_subst__"
_OPERATOR = re.compile(r"[<>]+&?|&[<>]+|[;&|()]+")


def segments(line: str, writes: list[tuple[int, str]] | None = None,
             stdin: dict[int, str | int] | None = None) -> list[list[str]]:
    """Words of each simple command, split at ; && || | & ( ) and with redirections removed; the files output
    redirections write to are appended to `writes` as (segment index, target); what a segment reads on stdin
    goes in `stdin`: a here-string's text, or the index of the segment piped into it."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: bash will refuse to run it, but check the plain words anyway
        tokens = re.findall(r"[;&|()<>]+|[^\s;&|()<>]+", line.replace('"', " ").replace("'", " "))
    segments, words, skip_next = [], [], ""
    for token in tokens:
        if skip_next:
            duplicate = skip_next.endswith("&") and (token.isdigit() or token == "-")  # 2>&1, >&-
            if ">" in skip_next and not duplicate and writes is not None:
                writes.append((len(segments), token))
            if skip_next == "<<<" and stdin is not None:
                stdin[len(segments)] = token
            skip_next = ""
            continue
        if not token or not set(token) <= set(";&|()<>"):
            words.append(token)
            continue
        for part in _OPERATOR.findall(token):
            if "<" in part or ">" in part:  # a redirection: drop it, its target and an fd number before it
                if words and words[-1].isdigit():
                    words.pop()
                skip_next = part
            elif words:
                segments.append(words)
                words = []
                if part in ("|", "|&") and stdin is not None:
                    stdin[len(segments)] = len(segments) - 1
    if words:
        segments.append(words)
    return segments


def extract_substitutions(line: str) -> tuple[str, list[str]]:
    """The line with $(...), `...`, <(...) and here-document bodies taken out (returned separately, a body line by
    line, since `bash <<EOF` runs them), comments dropped, newlines as ';'."""
    out, inner = [], []
    index, quote, word_start = 0, None, True
    heredocs: list[tuple[str, bool]] = []
    while index < len(line):
        char = line[index]
        if quote == "'":
            quote = None if char == "'" else quote
            out.append(char)
            index += 1
            continue
        if char == "\\" and index + 1 < len(line):
            out.append(line[index:index + 2])
            index += 2
            word_start = False
            continue
        if line.startswith("$(", index) or (quote is None and line[index:index + 2] in ("<(", ">(")):
            end = _closing(line, index + 2)
            inner.append(line[index + 2:end])
            out.append(SUBST if quote else f" {SUBST} ")
            index = end + 1
            continue
        if char == "`":
            end = line.find("`", index + 1)
            end = len(line) if end == -1 else end
            inner.append(line[index + 1:end])
            out.append(SUBST if quote else f" {SUBST} ")
            index = end + 1
            continue
        if quote is None and line.startswith("<<<", index):  # a here-string: a word, checked where it is read
            out.append("<<<")
            index += 3
            continue
        if quote is None and line.startswith("<<", index):
            delimiter, index = _heredoc_word(line, index + 2)
            heredocs.append(delimiter)
            out.append(" << _heredoc_ ")
            continue
        if quote is None and char == "\n" and heredocs:
            index = _heredoc_bodies(line, index + 1, heredocs, inner)
            heredocs = []
            out.append(" ; ")
            word_start = True
            continue
        if char in "'\"" and quote is None:
            quote = char
        elif char == '"' and quote == '"':
            quote = None
        elif quote is None and char == "#" and word_start:
            newline = line.find("\n", index)
            index = len(line) if newline == -1 else newline
            continue
        out.append(" ; " if char == "\n" and quote is None else char)
        word_start = quote is None and (char.isspace() or char in ";&|()")
        index += 1
    return "".join(out), inner


def _closing(line: str, start: int) -> int:
    """Index of the ')' closing a '(' opened just before `start` (quotes respected), or len(line)."""
    depth, quote, index = 1, None, start
    while index < len(line):
        char = line[index]
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                index += 1
        elif char == "\\":
            index += 1
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(line)


def _heredoc_word(line: str, index: int) -> tuple[tuple[str, bool], int]:
    """The delimiter after '<<' (quotes removed) and whether '<<-' strips leading tabs; the index after it."""
    strip_tabs = line.startswith("-", index)
    index += strip_tabs
    while index < len(line) and line[index] in " \t":
        index += 1
    start = index
    while index < len(line) and not line[index].isspace() and line[index] not in ";&|()<>":
        index += 1
    return (line[start:index].replace("'", "").replace('"', "").replace("\\", ""), strip_tabs), index


def _heredoc_bodies(line: str, index: int, heredocs: list[tuple[str, bool]], inner: list[str]) -> int:
    """Collect the body lines of each pending here-document into `inner`; the index after the last one."""
    for delimiter, strip_tabs in heredocs:
        while index < len(line):
            end = line.find("\n", index)
            end = len(line) if end == -1 else end
            text = line[index:end]
            index = end + 1
            if (text.lstrip("\t") if strip_tabs else text) == delimiter:
                break
            inner.append(text)
    return min(index, len(line))
