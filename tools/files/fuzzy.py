"""Find where in a file an edit's old text most nearly appears, so a missed edit can be corrected.

Why it works line by line: a miss must answer fast. Running difflib's character-level ratio over hundreds of
windows took up to a minute on indentation drift (the commonest LLM miss: runs of spaces make each ratio nearly
quadratic). Here every line is compared with its whitespace collapsed, which also makes a re-indented block an
exact match, reported as such (`Region.whitespace`). Candidate windows come from two linear passes: starts voted
for by file lines equal to a wanted line, and the windows whose words best cover the wanted words (for misses
where every line changed). Only a few candidates are scored, by aligning their lines with the wanted lines and
comparing characters within paired lines, under a budget of scored lines: a miss in a 10,000-line file answers
in tens of milliseconds (bench/fuzzy.py prints the figures against the old matcher).
"""
from __future__ import annotations

import difflib
import heapq
import re
from collections import Counter
from dataclasses import dataclass

ANCHOR_MIN = 4  # shorter lines (else:, ), return) vote for too many windows to tell anything
PEAKS = 8  # candidate windows taken from each pass
SCORED_LINES = 2000  # budget: window lines scored per call (at least 2 * count windows are)
WORD_SCAN_LINES, WORD_SCAN_CHARS = 3000, 600_000  # larger files find candidates by equal lines only
WORD_SCAN_WIDTH = 300  # the word pass reads this much of each line
SHIFT = 6  # how far a peak of the word pass may move to align its lines
LONG_PAIR = 40_000  # line pairs longer than this (length product) count common characters, unordered
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Region:
    """Lines start..end (1-based, inclusive) resembling the wanted text by `ratio` (0..1, whitespace collapsed).

    `whitespace` is set when the lines equal the wanted text apart from whitespace: where they first differ."""

    start: int
    end: int
    ratio: float
    whitespace: str = ""


def closest_regions(lines: list[str], wanted: str, count: int = 2, cutoff: float = 0.5) -> list[Region]:
    """Best non-overlapping windows of len(wanted lines) lines."""
    wanted_lines = wanted.strip("\n").split("\n")
    want = [_key(line) for line in wanted_lines]
    if not any(want) or not lines:
        return []
    size = len(want)
    last_start = max(0, len(lines) - size)
    keys = [_key(line) for line in lines]
    passes = [_equal_line_peaks(keys, want, last_start)]
    if len(keys) <= WORD_SCAN_LINES or sum(map(len, keys)) <= WORD_SCAN_CHARS:
        passes.append(_word_peaks(keys, want, last_start))
    candidates = [group[rank] for rank in range(PEAKS) for group in passes if rank < len(group)]  # alternating
    budget = max(2 * count, SCORED_LINES // size)
    scored: dict[int, float] = {}
    for start in dict.fromkeys(candidates):
        if len(scored) == budget:
            break
        scored[start] = _similarity(want, keys[start : start + size])
    chosen: list[Region] = []
    for start, ratio in sorted(scored.items(), key=lambda item: (-item[1], item[0])):
        if ratio < cutoff or len(chosen) == count:
            break
        end = min(len(lines), start + size)
        if all(end <= region.start - 1 or start >= region.end for region in chosen):
            note = _first_difference(lines, start, wanted_lines) if keys[start:end] == want else ""
            chosen.append(Region(start + 1, end, ratio, note))
    return chosen


def _key(line: str) -> str:
    line = line.strip()
    return " ".join(line.split()) if "  " in line or "\t" in line else line


def _equal_line_peaks(keys: list[str], want: list[str], last_start: int) -> list[int]:
    """Window starts implied by file lines equal to a wanted line, most (by characters) first."""
    index: dict[str, list[int]] = {}
    for number, key in enumerate(want):
        if len(key) >= ANCHOR_MIN and len(index.setdefault(key, [])) < 4:
            index[key].append(number)
    votes: dict[int, int] = {}
    for number, key in enumerate(keys):
        for offset in index.get(key, ()):
            start = min(last_start, max(0, number - offset))
            votes[start] = votes.get(start, 0) + len(key)
    return _peaks(votes, len(want))


def _word_peaks(keys: list[str], want: list[str], last_start: int) -> list[int]:
    """Window starts whose bag of words best covers the wanted words (difflib's quick_ratio, over words)."""
    wanted = Counter(word for key in want for word in _WORD.findall(key, 0, WORD_SCAN_WIDTH))
    if not wanted:
        return []
    size, total_wanted = len(want), sum(wanted.values())
    lengths, useful = [], []
    for key in keys:
        words = _WORD.findall(key, 0, WORD_SCAN_WIDTH)
        lengths.append(len(words))
        useful.append([word for word in words if word in wanted])
    have: dict[str, int] = {}
    common = length = 0
    scores: dict[int, float] = {}
    for number in range(last_start + size):
        if number < len(keys):
            length += lengths[number]
            for word in useful[number]:
                have[word] = have.get(word, 0) + 1
                common += have[word] <= wanted[word]
        if number >= size:
            length -= lengths[number - size]
            for word in useful[number - size]:
                common -= have[word] <= wanted[word]
                have[word] -= 1
        if number >= size - 1 and common:
            scores[number - size + 1] = common / (length + total_wanted)
    # a bag barely changes as its window slides by a line: align each peak by the words of paired lines
    wanted_sets = [set(_WORD.findall(key, 0, WORD_SCAN_WIDTH)) for key in want]
    line_sets: dict[int, set[str]] = {}

    def words_at(number: int) -> set[str]:
        if number not in line_sets:
            line_sets[number] = set(useful[number])
        return line_sets[number]

    def paired(start: int) -> int:
        pairs = enumerate(wanted_sets[: len(keys) - start])
        return sum(len(words & words_at(start + offset)) for offset, words in pairs)

    radius = min(SHIFT, max(1, size // 2))
    return [max(range(max(0, peak - radius), min(last_start, peak + radius) + 1),
                key=lambda start: (paired(start), -abs(start - peak))) for peak in _peaks(scores, size)]


def _peaks(scores: dict, size: int) -> list[int]:
    """The best-scoring starts, skipping any within half a window of a better one."""
    radius, peaks = max(1, size // 2), []
    for start in heapq.nlargest(PEAKS * 8, scores, key=lambda start: (scores[start], -start)):
        if all(abs(start - peak) > radius for peak in peaks):
            peaks.append(start)
            if len(peaks) == PEAKS:
                break
    return peaks


def _similarity(want: list[str], got: list[str]) -> float:
    """difflib's ratio, but over lines: equal lines match whole, replaced lines pair up and match characters."""
    common = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, want, got).get_opcodes():
        if tag == "equal":
            common += sum(len(key) + 1 for key in want[i1:i2])
        elif tag == "replace":
            common += sum(_common_chars(a, b) for a, b in zip(want[i1:i2], got[j1:j2]))
    total = sum(map(len, want)) + sum(map(len, got)) + len(want) + len(got)
    return 2 * common / total


def _common_chars(a: str, b: str) -> int:
    if len(a) * len(b) > LONG_PAIR:
        return sum((Counter(a) & Counter(b)).values())
    return sum(block.size for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())


def _first_difference(lines: list[str], start: int, wanted_lines: list[str]) -> str:
    """Where the file's lines (from index `start`) first differ from the wanted lines, all in whitespace."""
    for number, (have, want) in enumerate(zip(lines[start : start + len(wanted_lines)], wanted_lines), start + 1):
        if have == want:
            continue
        have_indent, want_indent = have[: len(have) - len(have.lstrip())], want[: len(want) - len(want.lstrip())]
        if have_indent != want_indent:
            return f"line {number} starts with {_blanks(have_indent)} in the file, {_blanks(want_indent)} in old_string"
        if have.rstrip("\r") == want.rstrip("\r"):
            return f"line {number} has a different line ending (CRLF against LF)"
        if have.rstrip() != want.rstrip():
            return f"line {number} is spaced differently inside"
        return f"line {number} has different trailing whitespace"
    return "the lines are equal; old_string's blank lines or line breaks at its start or end differ"


def _blanks(indent: str) -> str:
    if not indent:
        return "no indentation"
    tabs, spaces = indent.count("\t"), len(indent) - indent.count("\t")
    parts = []
    if tabs:
        parts.append(f"{tabs} tab" + "s" * (tabs > 1))
    if spaces:
        parts.append(f"{spaces} space" + "s" * (spaces > 1))
    return " and ".join(parts)
