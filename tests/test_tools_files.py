"""read_file, write_file, edit_file and undo_edit on real files in a temporary git repo."""
from __future__ import annotations

import json
import os
import stat

import pytest
from glm_agent.tools import ToolSettings, build_toolset


def call(toolset, name, **kwargs):
    return toolset.dispatch(name, json.dumps(kwargs))


@pytest.fixture
def tools(repo):
    return build_toolset(repo)


# read_file

def test_read_numbers_lines_and_pages(repo, tools):
    (repo / "a.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    result = call(tools, "read_file", path="a.txt", offset=3, limit=2)
    assert not result.is_error
    assert result.text.splitlines()[:2] == ["     3\tline 3", "     4\tline 4"]
    assert "showing lines 3-4 of 10; use offset=5" in result.text
    whole = call(tools, "read_file", path="a.txt").text
    assert "showing" not in whole and whole.splitlines()[-1] == "    10\tline 10"


def test_read_absolute_path_inside_repo(repo, tools):
    assert "hello" in call(tools, "read_file", path=str(repo / "README.md")).text


def test_read_cuts_long_lines_and_notes_bad_utf8(repo, tools):
    (repo / "long.txt").write_bytes(b"x" * 2500 + b"\ncaf\xe9\n")
    text = call(tools, "read_file", path="long.txt").text
    assert "[line cut: 500 more characters]" in text
    assert "caf\ufffd" in text and "not valid UTF-8" in text


def test_read_offset_past_end_is_an_error(repo, tools):
    result = call(tools, "read_file", path="README.md", offset=5)
    assert result.is_error and "has 1 lines" in result.text


def test_read_missing_file_suggests_near_names(repo, tools):
    (repo / "src").mkdir()
    (repo / "src" / "parser.py").write_text("x\n")
    result = call(tools, "read_file", path="src/parsr.py")
    assert result.is_error and "does not exist" in result.text and "src/parser.py" in result.text


def test_read_binary_file_is_refused_with_type_and_size(repo, tools):
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2048))
    result = call(tools, "read_file", path="logo.png")
    assert result.is_error and "PNG image" in result.text and "KB" in result.text


def test_read_50mb_file_shows_only_the_first_lines(repo, tools):
    line = b"0123456789" * 9 + b"\n"  # 100 bytes
    (repo / "big.log").write_bytes(line * 500_000)
    result = call(tools, "read_file", path="big.log", limit=5)
    assert not result.is_error
    assert len(result.text) < 2000
    assert "showing lines 1-5 of 500000" in result.text
    tail = call(tools, "read_file", path="big.log", offset=499_999)
    assert "499999\t" in tail.text and "500000\t" in tail.text


def test_read_directory_lists_two_levels_without_ignored(repo, tools):
    (repo / ".gitignore").write_text("build/\n*.log\n")
    for name in ("src/pkg/deep/x.py", "src/pkg/mod.py", "src/main.py", "build/out.o", "debug.log"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("x\n")
    text = call(tools, "read_file", path=".").text
    assert "src/" in text and "main.py" in text and "pkg/ (2 files)" in text
    assert "deep" not in text and "build" not in text and "debug.log" not in text and ".git/" not in text


def test_symlink_escaping_repo_is_refused(repo, tools, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    (repo / "link.txt").symlink_to(secret)
    (repo / "linkdir").symlink_to(tmp_path)
    for name in ("link.txt", "linkdir/secret.txt"):
        result = call(tools, "read_file", path=name)
        assert result.is_error and "outside the workspace" in result.text and "top secret" not in result.text
    result = call(tools, "write_file", path="link.txt", content="pwned\n")
    assert result.is_error and secret.read_text() == "top secret\n"


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "src/../../x", "~/x"])
def test_paths_outside_are_refused(tools, path):
    for name, extra in (("read_file", {}), ("write_file", {"content": "x"})):
        result = call(tools, name, path=path, **extra)
        assert result.is_error and ("outside the workspace" in result.text or "'~'" in result.text)


def test_fifo_is_refused(repo, tools):
    os.mkfifo(repo / "pipe")
    result = call(tools, "read_file", path="pipe")
    assert result.is_error and "FIFO" in result.text


# write_file

def test_write_creates_parents_and_new_files(repo, tools):
    result = call(tools, "write_file", path="a/b/c.py", content="print(1)\n")
    assert not result.is_error and "Created a/b/c.py" in result.text
    assert (repo / "a/b/c.py").read_text() == "print(1)\n"


def test_overwrite_needs_a_read_first(repo, tools):
    result = call(tools, "write_file", path="README.md", content="new\n")
    assert result.is_error and "has not read it" in result.text
    call(tools, "read_file", path="README.md")
    assert not call(tools, "write_file", path="README.md", content="new\n").is_error
    assert (repo / "README.md").read_text() == "new\n"


def test_stale_write_is_refused(repo, tools):
    call(tools, "read_file", path="README.md")
    (repo / "README.md").write_text("changed by someone else, longer\n")
    result = call(tools, "write_file", path="README.md", content="mine\n")
    assert result.is_error and "changed on disk" in result.text
    assert (repo / "README.md").read_text() == "changed by someone else, longer\n"


def test_touch_without_change_is_not_stale(repo, tools):
    call(tools, "read_file", path="README.md")
    os.utime(repo / "README.md", ns=(1, 1))
    assert not call(tools, "write_file", path="README.md", content="mine\n").is_error


def test_write_keeps_mode_and_crlf(repo, tools):
    script = repo / "run.sh"
    script.write_bytes(b"#!/bin/sh\r\necho hi\r\n")
    script.chmod(0o755)
    call(tools, "read_file", path="run.sh")
    call(tools, "write_file", path="run.sh", content="#!/bin/sh\necho bye\n")
    assert script.read_bytes() == b"#!/bin/sh\r\necho bye\r\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert not [p for p in repo.iterdir() if p.name.endswith(".tmp")]


def test_protected_paths_are_refused(repo):
    tools = build_toolset(repo, ToolSettings(protected=["tests/**", "conftest.py"]))
    (repo / "tests").mkdir()
    (repo / "tests" / "test_a.py").write_text("assert True\n")
    for name, args in (("write_file", {"path": "tests/test_a.py", "content": "x"}),
                       ("edit_file", {"path": "tests/test_a.py", "old_string": "True", "new_string": "False"}),
                       ("write_file", {"path": "sub/conftest.py", "content": "x"})):
        result = call(tools, name, **args)
        assert result.is_error and "protected" in result.text and "--allow-test-edits" in result.text
    assert (repo / "tests" / "test_a.py").read_text() == "assert True\n"
    assert not call(tools, "write_file", path="src/a.py", content="x\n").is_error


def test_writes_into_dot_git_are_refused(repo, tools):
    result = call(tools, "write_file", path=".git/hooks/pre-commit", content="x")
    assert result.is_error and ".git" in result.text


# edit_file

def test_edit_exact_match_shows_region(repo, tools):
    (repo / "m.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    result = call(tools, "edit_file", path="m.py", old_string="return 2", new_string="return 3")
    assert not result.is_error
    assert "     6\t    return 3" in result.text
    assert (repo / "m.py").read_text().endswith("return 3\n")


def test_edit_preserves_crlf_tabs_missing_newline_and_mode(repo, tools):
    path = repo / "w.c"
    path.write_bytes(b"int main() {\r\n\treturn 0;\r\n}")
    path.chmod(0o750)
    result = call(tools, "edit_file", path="w.c", old_string="{\n\treturn 0;", new_string="{\n\tputs(\"x\");\n\treturn 1;")
    assert not result.is_error, result.text
    assert path.read_bytes() == b"int main() {\r\n\tputs(\"x\");\r\n\treturn 1;\r\n}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


def test_edit_zero_matches_shows_closest_region(repo, tools):
    body = "".join(f"x{n} = {n}\n" for n in range(200))
    body += "def compute(a, b):\n    total = a + b\n    return total\n"
    (repo / "c.py").write_text(body)
    result = call(tools, "edit_file", path="c.py", old_string="def compute(a, b):\n    totl = a + b\n",
                  new_string="def compute(a, b):\n    total = a * b\n")
    assert result.is_error
    assert "not found" in result.text and "lines 201-202" in result.text and "   202\t    total = a + b" in result.text


def test_edit_zero_matches_hints_at_indentation(repo, tools):
    (repo / "t.py").write_text("if x:\n\tcall()\n")
    result = call(tools, "edit_file", path="t.py", old_string="if x:\n    call()", new_string="if y:\n    call()")
    assert result.is_error and "indentation" in result.text


def test_edit_with_line_number_prefix_gets_a_hint(repo, tools):
    (repo / "p.py").write_text("a = 1\nb = 2\n")
    result = call(tools, "edit_file", path="p.py", old_string="     1\ta = 1\n     2\tb = 2", new_string="a = 3")
    assert result.is_error and "line-number prefixes" in result.text


def test_edit_several_matches_lists_lines(repo, tools):
    (repo / "d.py").write_text("x = 1\ny = 2\nx = 1\n")
    result = call(tools, "edit_file", path="d.py", old_string="x = 1", new_string="x = 5")
    assert result.is_error and "2 times" in result.text and "lines 1, 3" in result.text and "replace_all" in result.text
    result = call(tools, "edit_file", path="d.py", old_string="x = 1", new_string="x = 5", replace_all=True)
    assert not result.is_error and (repo / "d.py").read_text() == "x = 5\ny = 2\nx = 5\n"


def test_edit_identical_strings_refused(repo, tools):
    result = call(tools, "edit_file", path="README.md", old_string="hello", new_string="hello")
    assert result.is_error and "identical" in result.text


def test_edit_missing_file_points_to_write_file(repo, tools):
    result = call(tools, "edit_file", path="nope.py", old_string="a", new_string="b")
    assert result.is_error and "write_file" in result.text


def test_edit_in_50mb_file_is_exact_and_misses_fast(repo, tools):
    line = "value = 0123456789012345678901234567890123456789012345678901234567890123456789012345678\n"
    (repo / "big.py").write_text(line * 500_000 + "MARKER = 1\n")
    result = call(tools, "edit_file", path="big.py", old_string="MARKER = 1", new_string="MARKER = 2")
    assert not result.is_error and "500001\tMARKER = 2" in result.text
    miss = call(tools, "edit_file", path="big.py", old_string="MARKR = 2\nnothing", new_string="x")
    assert miss.is_error and "not found" in miss.text


# undo_edit

def test_undo_several_levels_and_creation(repo, tools):
    call(tools, "edit_file", path="README.md", old_string="hello", new_string="one")
    call(tools, "edit_file", path="README.md", old_string="one", new_string="two")
    call(tools, "write_file", path="new.txt", content="fresh\n")
    assert "1 earlier" in call(tools, "undo_edit", path="README.md").text
    assert (repo / "README.md").read_text() == "one\n"
    call(tools, "undo_edit", path="README.md")
    assert (repo / "README.md").read_text() == "hello\n"
    result = call(tools, "undo_edit", path="README.md")
    assert result.is_error and "no write or edit" in result.text
    assert "removed" in call(tools, "undo_edit", path="new.txt").text
    assert not (repo / "new.txt").exists()


def test_undo_refuses_to_clobber_a_later_outside_change(repo, tools):
    call(tools, "edit_file", path="README.md", old_string="hello", new_string="mine")
    (repo / "README.md").write_text("formatter output, different\n")
    result = call(tools, "undo_edit", path="README.md")
    assert result.is_error and "changed on disk" in result.text
    assert (repo / "README.md").read_text() == "formatter output, different\n"


def test_listing_an_ignored_folder_shows_its_entries(repo, tools):
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build" / "lib").mkdir(parents=True)
    (repo / "build" / "out.o").write_bytes(b"\x00")
    text = call(tools, "read_file", path="build").text
    assert "ignored" in text and "lib/" in text and "out.o" in text


def test_edit_keeps_a_byte_order_mark(repo, tools):
    (repo / "bom.txt").write_bytes(b"\xef\xbb\xbfname = 1\r\nother = 2\r\n")
    assert call(tools, "read_file", path="bom.txt").text.startswith("     1\tname = 1\n")
    result = call(tools, "edit_file", path="bom.txt", old_string="name = 1\nother", new_string="name = 3\nother")
    assert not result.is_error, result.text
    assert (repo / "bom.txt").read_bytes() == b"\xef\xbb\xbfname = 3\r\nother = 2\r\n"


def test_edit_miss_in_mixed_line_endings_says_so(repo, tools):
    (repo / "mixed.txt").write_bytes(b"a = 1\r\nb = 2\nc = 3\r\n")
    result = call(tools, "edit_file", path="mixed.txt", old_string="a = 1\nb = 2", new_string="a = 0\nb = 2")
    assert result.is_error and "mixes CRLF and LF" in result.text
    assert (repo / "mixed.txt").read_bytes() == b"a = 1\r\nb = 2\nc = 3\r\n"


def test_edit_of_non_utf8_file_keeps_other_bytes_and_result_is_sendable(repo, tools):
    (repo / "legacy.txt").write_bytes(b"name = caf\xe9\nvalue = 1\n")
    result = call(tools, "edit_file", path="legacy.txt", old_string="value = 1", new_string="value = 2")
    assert not result.is_error
    assert (repo / "legacy.txt").read_bytes() == b"name = caf\xe9\nvalue = 2\n"
    result.text.encode("utf-8")


def test_undo_keeps_fewer_levels_of_huge_files(repo, tools, monkeypatch):
    monkeypatch.setattr("glm_agent.tools.files.state.UNDO_BYTES", 100)
    (repo / "huge.txt").write_text("a" * 80 + "\n")
    call(tools, "edit_file", path="huge.txt", old_string="a" * 80, new_string="b" * 80)
    call(tools, "edit_file", path="huge.txt", old_string="b" * 80, new_string="c" * 80)
    assert not call(tools, "undo_edit", path="huge.txt").is_error
    assert (repo / "huge.txt").read_text() == "b" * 80 + "\n"
    assert call(tools, "undo_edit", path="huge.txt").is_error


def test_ctrl_c_right_after_the_temporary_file_is_created_leaves_no_trace(tmp_path, monkeypatch):
    """The signal is held until the write is complete, then delivered: new content, no temporary file."""
    import signal
    import tempfile

    from glm_agent.tools import workspace

    real_mkstemp = tempfile.mkstemp

    def mkstemp_then_ctrl_c(*args, **kwargs):
        made = real_mkstemp(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return made

    monkeypatch.setattr(workspace.tempfile, "mkstemp", mkstemp_then_ctrl_c)
    target = tmp_path / "f.txt"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        workspace.atomic_write(target, b"new\n")
    assert target.read_text() == "new\n" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]
