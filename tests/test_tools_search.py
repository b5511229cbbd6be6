"""glob and grep on a real repo: .gitignore respected, binary skipped, caps with counts of the rest."""
from __future__ import annotations

import json
import os

import pytest
from glm_agent.tools import build_toolset


def call(toolset, name, **kwargs):
    return toolset.dispatch(name, json.dumps(kwargs))


@pytest.fixture
def tools(repo):
    files = {
        ".gitignore": "build/\n*.log\n",
        "src/app.py": "import os\n\ndef main():\n    return os.getcwd()\n",
        "src/util/helpers.py": "def helper():\n    return 'Main'\n",
        "src/web/index.ts": "export const main = 1;\n",
        "docs/guide.md": "# Guide\nmain entry\n",
        "build/gen.py": "def main(): pass\n",
        "debug.log": "main crashed\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "src" / "blob.bin").write_bytes(b"main\x00\x01\x02")
    os.utime(repo / "src/util/helpers.py", (2_000_000_000, 2_000_000_000))
    return build_toolset(repo)


def test_glob_recursive_newest_first_ignored_hidden(tools):
    lines = call(tools, "glob", pattern="**/*.py").text.splitlines()
    assert lines == ["src/util/helpers.py", "src/app.py"]


def test_glob_name_pattern_matches_at_any_depth_and_braces(tools):
    assert set(call(tools, "glob", pattern="*.{ts,md}").text.splitlines()) == {"src/web/index.ts", "docs/guide.md",
                                                                             "README.md"}
    assert call(tools, "glob", pattern="*.py", path="src/util").text == "src/util/helpers.py"
    assert call(tools, "glob", pattern="web/*.ts", path="src").text == "src/web/index.ts"


def test_glob_no_match_and_bad_folder(tools):
    assert "No files match" in call(tools, "glob", pattern="*.rs").text
    assert call(tools, "glob", pattern="*", path="README.md").is_error
    assert call(tools, "glob", pattern="*", path="../").is_error


def test_glob_caps_with_count(repo, tools):
    for n in range(230):
        (repo / "many" / f"f{n}.txt").parent.mkdir(exist_ok=True)
        (repo / "many" / f"f{n}.txt").write_text("x")
    text = call(tools, "glob", pattern="*.txt").text
    assert len(text.splitlines()) == 201 and "and 30 more" in text


def test_grep_finds_lines_skipping_ignored_and_binary(tools):
    text = call(tools, "grep", pattern=r"def \w+\(").text
    assert text.splitlines() == ["src/app.py:3:def main():", "src/util/helpers.py:1:def helper():",
                                 "(1 binary or very large files skipped)"]
    found = call(tools, "grep", pattern="main").text
    assert "build/" not in found and "debug.log" not in found and "blob.bin" not in found
    assert "binary" in found


def test_grep_options(tools):
    assert "src/util/helpers.py:2:    return 'Main'" in call(tools, "grep", pattern="main", ignore_case=True).text
    only_md = call(tools, "grep", pattern="main", glob="*.md").text
    assert only_md.splitlines() == ["docs/guide.md:2:main entry"]
    context = call(tools, "grep", pattern="def main", path="src/app.py", context=1).text
    assert context.splitlines() == ["src/app.py-2-", "src/app.py:3:def main():", "src/app.py-4-    return os.getcwd()"]


def test_grep_caps_with_count(tools):
    text = call(tools, "grep", pattern="main", max_results=1).text
    assert len(text.splitlines()) == 3 and "more matching lines not shown" in text


def test_grep_errors(tools):
    bad = call(tools, "grep", pattern="(unclosed")
    assert bad.is_error and "invalid regular expression" in bad.text
    assert "No matches" in call(tools, "grep", pattern="zzz_nothing").text
    assert call(tools, "grep", pattern="x", path="missing/").is_error


def test_search_works_outside_git(tmp_path):
    (tmp_path / ".git").mkdir()  # an empty .git is not a repository: the walk fallback must still skip it
    (tmp_path / ".git" / "HEAD.py").write_text("def hidden(): pass\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def visible(): pass\n")
    tools = build_toolset(tmp_path)
    assert call(tools, "glob", pattern="*.py").text == "pkg/mod.py"
    assert call(tools, "grep", pattern="def ").text == "pkg/mod.py:1:def visible(): pass"
    assert "mod.py" in call(tools, "read_file", path="pkg").text
