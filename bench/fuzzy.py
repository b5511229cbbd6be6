"""How long a missed edit_file takes to find the closest region: the line-level matcher vs the old character scan.

    python bench/fuzzy.py [--repeats N] [--old-budget SECONDS] [--no-old]

Generates code-like Python files deterministically (2,950 and 10,000 lines; nothing is downloaded), then for
old_string sizes of 5, 20 and 40 lines times three kinds of miss: the whole block re-indented from 4-space to
3-space steps (the LLM's usual miss), one line in the middle changed, and a block with nothing similar in the
file. Prints milliseconds per miss (median of --repeats runs) for the current glm_agent.tools.files.fuzzy ("after") and for the
old algorithm copied below ("before"), whether each found the region the old_string came from, and the ratio.
Not part of the test suite; the goal (every miss <= 100 ms on 10,000 lines) is printed, not asserted.
"""
from __future__ import annotations

import argparse
import difflib
import random
import sys
import time
from functools import partial
from statistics import median

from glm_agent.tools.files.fuzzy import closest_regions

GOAL_MS = 100.0
SIZES = (5, 20, 40)
KINDS = ("indent drift", "middle line changed", "nothing similar")


# The "before" peer: tools/fuzzy.py as it was before the line-level matcher (commit 90b4e71), unchanged.

OLD_FULL_SCAN_LINES = 3000
OLD_MAX_SCORED = 400


def old_closest_regions(lines: list[str], wanted: str, count: int = 2, cutoff: float = 0.5) -> list[tuple]:
    wanted_lines = wanted.strip("\n").split("\n")
    wanted = "\n".join(wanted_lines)
    size = len(wanted_lines)
    last_start = max(0, len(lines) - size)
    starts = _old_anchored_starts(lines, wanted_lines, last_start)
    if len(lines) <= OLD_FULL_SCAN_LINES:
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
    for _, start in quick[:OLD_MAX_SCORED]:
        matcher.set_seq1("\n".join(lines[start : start + size]))
        ratio = matcher.ratio()
        if ratio >= cutoff:
            scored.append((ratio, start))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[tuple] = []  # (start, end, ratio), 1-based inclusive like Region
    for ratio, start in scored:
        end = min(len(lines), start + size)
        if all(end <= c_start - 1 or start >= c_end for c_start, c_end, _ in chosen):
            chosen.append((start + 1, end, ratio))
        if len(chosen) == count:
            break
    return chosen


def _old_anchored_starts(lines: list[str], wanted_lines: list[str], last_start: int) -> set[int]:
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


# A deterministic code-like Python module: classes and functions built from a small vocabulary, so that common
# lines (return None, self.name = name, docstring quotes, else:) repeat across the file as in real code.

WORDS = ("name value option param context command group result item source default help type flag count "
         "path token parser args kwargs callback envvar prefix metavar choice nargs multiple required prompt "
         "hidden deprecated formatter section record message style color width indent limit state")


def _ident(rng: random.Random, parts: int = 2) -> str:
    words = WORDS.split()
    return "_".join(rng.choice(words) for _ in range(parts))


def _sentence(rng: random.Random, n: int) -> str:
    words = WORDS.split()
    text = " ".join(rng.choice(words) for _ in range(n))
    return text[0].upper() + text[1:] + "."


def _function(rng: random.Random, indent: str, method: bool) -> list[str]:
    args = [_ident(rng, 1) for _ in range(rng.randint(1, 4))]
    params = (["self"] if method else []) + args + [f"{_ident(rng, 1)}={rng.choice(['None', 'False', '0'])}"]
    body = indent + "    "
    out = [f"{indent}def {_ident(rng)}({', '.join(params)}):", f'{body}"""{_sentence(rng, rng.randint(4, 12))}']
    if rng.random() < 0.5:
        out += ["", f"{body}{_sentence(rng, rng.randint(6, 14))}"]
    out.append(f'{body}"""')
    for _ in range(rng.randint(2, 6)):
        a, b = rng.choice(args), _ident(rng)
        shape = rng.randrange(7)
        if shape == 0:
            out += [f"{body}if {a} is None:", f"{body}    {a} = {'self.' if method else ''}{b}"]
        elif shape == 1:
            out += [f"{body}for {b} in {a}:", f"{body}    if not {b}:", f"{body}        continue",
                    f"{body}    result.append({b})"]
        elif shape == 2:
            out += [f"{body}try:", f"{body}    {b} = {a}[{rng.randint(0, 9)}]", f"{body}except (KeyError, IndexError):",
                    f"{body}    {b} = None"]
        elif shape == 3 and method:
            out += [f"{body}self.{a} = {a}"]
        elif shape == 4:
            out += [f"{body}{b} = {_ident(rng)}({a}, {rng.choice(args)})"]
        elif shape == 5:
            out += [f"{body}if {a} and {b}:", f"{body}    return {a}", f"{body}else:", f"{body}    {b} = {a}"]
        else:
            out += [f'{body}{b} = "{_sentence(rng, 3)}"']
    out += [f"{body}return {rng.choice(args + ['None', 'result'])}", ""]
    return out


def make_source(lines: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = ['"""A generated module for bench/fuzzy.py."""', "from __future__ import annotations", "", "import os",
           "import sys", "", ""]
    while len(out) < lines:
        if rng.random() < 0.6:
            out += [f"class {_ident(rng).title().replace('_', '')}:", f'    """{_sentence(rng, 8)}"""', ""]
            for _ in range(rng.randint(2, 6)):
                out += _function(rng, "    ", method=True)
            out.append("")
        else:
            out += _function(rng, "", method=False) + [""]
    return out[:lines]


# The misses: each old_string comes from a known place, then is spoiled in one of the three ways.

def make_miss(lines: list[str], size: int, kind: str) -> tuple[str, int | None]:
    """(old_string, the 1-based line it came from, or None when nothing similar is in the file)."""
    if kind == "nothing similar":
        rng = random.Random(size)
        sql = ("SELECT", "FROM", "WHERE", "JOIN", "ORDER BY", "GROUP BY", "HAVING", "LIMIT")
        block = [f"{rng.choice(sql)} {rng.choice(('t_users', 'x9', 'QQ_ledger'))}.{rng.randint(100, 999)} -- "
                 f"{rng.choice(('zebra', 'quartz', 'vortex', 'glyph'))}!" for _ in range(size)]
        return "\n".join(block), None
    start = next(n for n in range(len(lines) * 2 // 3, len(lines)) if lines[n].startswith("    def "))
    block = lines[start : start + size]
    if kind == "indent drift":
        block = [" " * ((len(line) - len(line.lstrip(" "))) // 4 * 3) + line.lstrip(" ") for line in block]
    else:
        middle = next(n for n in range(size // 2, size) if block[n].strip())
        block[middle] = block[middle].rstrip() + "  # changed: extra words the file never had"
    old = "\n".join(block)
    assert old not in "\n".join(lines)
    return old, start + 1


def timed(fn, repeats: int, budget: float) -> tuple[float, object]:
    """Median milliseconds over up to `repeats` runs, stopping early once `budget` seconds are spent."""
    times, result, spent = [], None, 0.0
    for _ in range(repeats):
        begin = time.perf_counter()
        result = fn()
        took = time.perf_counter() - begin
        times.append(took * 1000)
        spent += took
        if spent > budget:
            break
    return median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per case; the median is printed")
    parser.add_argument("--old-budget", type=float, default=2.0,
                        help="seconds after which the old algorithm stops repeating a case (it can take a minute)")
    parser.add_argument("--no-old", action="store_true", help="skip the old algorithm")
    args = parser.parse_args(argv)
    files = {2950: make_source(2950), 10_000: make_source(10_000)}  # the first is the second's first 2,950 lines
    print("| file lines | old_string | miss | after ms | found | before ms | found | before/after |")
    print("|---:|---:|---|---:|---|---:|---|---:|")
    worst = 0.0
    for total, lines in files.items():
        for kind in KINDS:
            for size in SIZES:
                old, origin = make_miss(lines, size, kind)
                new_ms, regions = timed(partial(closest_regions, lines, old), args.repeats, 10.0)
                found = _verdict([(r.start, r.ratio) for r in regions], origin)
                if total == 10_000:
                    worst = max(worst, new_ms)
                before = "- | - | -"
                if not args.no_old:
                    old_ms, chosen = timed(partial(old_closest_regions, lines, old), args.repeats, args.old_budget)
                    ratio = old_ms / new_ms
                    ratio = f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2f}x"
                    before = f"{old_ms:,.1f} | {_verdict([(c[0], c[2]) for c in chosen], origin)} | {ratio}"
                print(f"| {total:,} | {size} | {kind} | {new_ms:,.1f} | {found} | {before} |", flush=True)
    print("\nfound: the best region starts where old_string came from (similarity after: whitespace collapsed;"
          f" before: raw characters). before: median of fewer runs once they pass {args.old_budget:g} s.")
    print(f"slowest miss on 10,000 lines: {worst:.1f} ms (goal <= {GOAL_MS:.0f} ms: "
          f"{'met' if worst <= GOAL_MS else 'NOT met'})")
    return 0


def _verdict(found: list[tuple[int, float]], origin: int | None) -> str:
    """'yes (100%)' when the best region starts where the old_string came from; 'none' / 'wrong' otherwise."""
    if not found:
        return "none" if origin is None else "NONE (missed)"
    start, ratio = found[0]
    if origin is None:
        return f"WRONG: {start} ({ratio:.0%})"
    return f"yes ({ratio:.0%})" if start == origin else f"WRONG: {start} ({ratio:.0%})"


if __name__ == "__main__":
    sys.exit(main())
