"""Find where in a file an edit's old text most nearly appears, so a missed edit can be corrected."""
from __future__ import annotations

import difflib
from dataclasses import dataclass

FULL_SCAN_LINES = 3000
MAX_SCORED = 400


@dataclass(frozen=True)
class Region:
    """Lines start..end (1-based, inclusive) resembling the wanted text by `ratio` (0..1)."""

    start: int
    end: int
    ratio: float


def closest_regions(lines: list[str], wanted: str, count: int = 2, cutoff: float = 0.5) -> list[Region]:
    """Best non-overlapping windows of len(wanted lines) lines, scored with difflib."""
    wanted_lines = wanted.strip("\n").split("\n")
    wanted = "\n".join(wanted_lines)
    size = len(wanted_lines)
    last_start = max(0, len(lines) - size)
    starts = _anchored_starts(lines, wanted_lines, last_start)
    if len(lines) <= FULL_SCAN_LINES:
        starts.update(range(last_start + 1))
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted)
    quick = []
    for start in starts:
        matcher.set_seq1("\n".join(lines[start : start + size]))
        if matcher.real_quick_ratio() >= cutoff:
            quick.append((matcher.quick_ratio(), start))
    quick.sort(reverse=True)
    scored = []
    for _, start in quick[:MAX_SCORED]:
        matcher.set_seq1("\n".join(lines[start : start + size]))
        ratio = matcher.ratio()
        if ratio >= cutoff:
            scored.append((ratio, start))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[Region] = []
    for ratio, start in scored:
        end = min(len(lines), start + size)
        if all(end <= region.start - 1 or start >= region.end for region in chosen):
            chosen.append(Region(start + 1, end, ratio))
        if len(chosen) == count:
            break
    return chosen


def _anchored_starts(lines: list[str], wanted_lines: list[str], last_start: int) -> set[int]:
    """Window starts implied by file lines equal (ignoring surrounding whitespace) to a wanted line."""
    anchors: dict[str, int] = {}
    for index, line in enumerate(wanted_lines):
        key = line.strip()
        if len(key) > 3:
            anchors.setdefault(key, index)
    starts = set()
    for number, line in enumerate(lines):
        index = anchors.get(line.strip())
        if index is not None:
            starts.add(min(last_start, max(0, number - index)))
    return starts
