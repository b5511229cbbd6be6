"""closest_regions and edit_file's miss message: the region an LLM's inexact old_string came from, found by lines."""
from __future__ import annotations

import json
import re

import pytest
from glm_agent.tools import build_toolset
from glm_agent.tools.files.fuzzy import closest_regions


def module(functions: int) -> list[str]:
    """Near-identical functions: most lines repeat everywhere, only the numbered lines tell the copies apart."""
    lines = []
    for n in range(functions):
        lines += [
            f"def handler_{n}(request, options=None):",
            f'    """Handle request kind {n}."""',
            "    if options is None:",
            "        options = {}",
            "    result = []",
            f"    for item in request.items[{n % 7}:]:",
            "        if not item:",
            "            continue",
            f"        result.append(item * {n})",
            "    return result",
            "",
        ]
    return lines


def reindent(lines: list[str], width: int) -> list[str]:
    """4-space indentation steps turned into `width`-space ones."""
    return [" " * ((len(line) - len(line.lstrip(" "))) // 4 * width) + line.lstrip(" ") for line in lines]


def call(toolset, name, **kwargs):
    return toolset.dispatch(name, json.dumps(kwargs))


@pytest.mark.parametrize("size", [20, 40])
@pytest.mark.parametrize("functions", [300, 400])  # 3,300 and 4,400 lines: both sides of the old full-scan limit
def test_indentation_drift_finds_the_region_and_says_only_whitespace_differs(size, functions):
    lines = module(functions)
    origin = 11 * 157 + 5  # 0-based: handler_157's `for item in ...`
    old = "\n".join(reindent(lines[origin : origin + size], 3))
    assert old not in "\n".join(lines)
    best = closest_regions(lines, old)[0]
    assert (best.start, best.end) == (origin + 1, origin + size)
    assert best.ratio == 1.0
    assert best.whitespace == f"line {origin + 1} starts with 4 spaces in the file, 3 spaces in old_string"


@pytest.mark.parametrize("size", [5, 20, 40])
def test_a_changed_middle_line_finds_the_region(size):
    lines = module(300)
    origin = 11 * 212 + 1  # handler_212's docstring
    block = lines[origin : origin + size]
    middle = size // 2 + (not block[size // 2])
    block[middle] = re.sub(r"(\w+)(\W*)$", r"\1_old\2", block[middle])  # its last name changed
    regions = closest_regions(lines, "\n".join(block))
    assert (regions[0].start, regions[0].end) == (origin + 1, origin + size)
    assert 0.8 < regions[0].ratio < 1.0 and regions[0].whitespace == ""


def test_every_line_changed_still_finds_the_region():
    """No line is equal to the file's (each starts with a capital), so only the words point at the region."""
    lines = module(300)
    origin = 11 * 99
    block = [re.sub(r"[a-z]", lambda m: m.group().upper(), line, count=1) for line in lines[origin : origin + 10]]
    best = closest_regions(lines, "\n".join(block))[0]
    assert (best.start, best.end) == (origin + 1, origin + 10) and best.whitespace == ""


def test_nothing_similar_gives_no_region():
    lines = module(300)
    sql = "SELECT t_users.id FROM ledger -- zebra\nJOIN QQ ON x9 = 42 -- quartz\nORDER BY vortex LIMIT 7"
    assert closest_regions(lines, sql) == []
    assert closest_regions(lines, "\n\n   \n") == []
    assert closest_regions([], "anything") == []


def test_regions_do_not_overlap_and_the_best_comes_first():
    lines = module(50)
    old = "\n".join(lines[11 * 20 : 11 * 20 + 11]).replace("item * 20", "item * 2O")  # letter O for zero
    regions = closest_regions(lines, old)
    assert len(regions) == 2 and regions[0].start == 11 * 20 + 1
    assert regions[0].ratio >= regions[1].ratio
    assert regions[1].end < regions[0].start or regions[1].start > regions[0].end


def test_tabs_against_spaces_and_inner_spacing_are_described():
    tabbed = ["class A:", "\tdef f(self):", "\t\treturn 1"]
    assert closest_regions(tabbed, "class A:\n    def f(self):\n        return 1")[0].whitespace == (
        "line 2 starts with 1 tab in the file, 4 spaces in old_string")
    spaced = ["x = call(a,  b)", "y = 2"]
    assert closest_regions(spaced, "x = call(a, b)\ny = 2")[0].whitespace == "line 1 is spaced differently inside"


# Through edit_file: what the model is told.

@pytest.fixture
def tools(repo):
    return build_toolset(repo)


def test_edit_miss_by_indentation_names_the_lines_and_the_difference(repo, tools):
    lines = module(300)
    (repo / "h.py").write_text("\n".join(lines) + "\n")
    origin = 11 * 157
    old = "\n".join(reindent(lines[origin : origin + 20], 3))
    result = call(tools, "edit_file", path="h.py", old_string=old, new_string="pass")
    assert result.is_error
    assert f"Lines {origin + 1}-{origin + 20} hold the same text except for whitespace" in result.text
    assert f"line {origin + 2} starts with 4 spaces in the file, 3 spaces in old_string" in result.text
    assert f"{origin + 2:6}\t    \"\"\"Handle request kind 157.\"\"\"" in result.text
    assert "Closest region" not in result.text


def test_edit_miss_with_nothing_similar_says_so_and_shows_no_region(repo, tools):
    (repo / "h.py").write_text("\n".join(module(300)) + "\n")
    result = call(tools, "edit_file", path="h.py", old_string="SELECT id FROM ledger;\nDROP TABLE zebra;",
                  new_string="x")
    assert result.is_error and "Nothing similar was found" in result.text
    assert "Closest region" not in result.text and "whitespace" not in result.text
