"""The toolset surface: schemas as sent to GLM, and dispatch turning every model mistake into an error result."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from glm_agent.tools import ToolResult, ToolSettings, build_toolset

NAMES = ["read_file", "write_file", "edit_file", "undo_edit", "glob", "grep", "bash", "git_status", "git_diff",
         "git_log", "git_commit", "update_plan", "finish"]


def call(toolset, name, **kwargs) -> ToolResult:
    return toolset.dispatch(name, json.dumps(kwargs))


def test_names_are_fixed_and_in_order(repo):
    toolset = build_toolset(repo)
    assert toolset.names() == NAMES
    assert [s["function"]["name"] for s in toolset.schemas()] == NAMES
    assert all(re.match(r"^[a-zA-Z0-9_-]{1,64}$", name) for name in NAMES)


def test_schema_list_is_small_and_prints_its_size(repo):
    size = len(json.dumps(build_toolset(repo).schemas(), separators=(",", ":")))
    print(f"\ntool schema list: {size} bytes of JSON")
    assert size <= 12 * 1024


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_schemas_have_no_titles_explicit_types_and_descriptions(repo):
    for schema in build_toolset(repo).schemas():
        function = schema["function"]
        assert schema["type"] == "function"
        assert len(function["description"]) > 30
        params = function["parameters"]
        assert params["type"] == "object"
        for node in _walk(params):
            assert "title" not in node
            assert "anyOf" not in node
        for name, prop in params.get("properties", {}).items():
            assert "type" in prop, (function["name"], name)
            assert prop.get("description"), (function["name"], name)


def test_descriptions_say_when_not_to_use(repo):
    by_name = {s["function"]["name"]: s["function"]["description"] for s in build_toolset(repo).schemas()}
    assert "edit_file" in by_name["bash"] and "do not persist" in by_name["bash"]
    assert "edit_file" in by_name["write_file"]
    assert "sed" in by_name["edit_file"]


def test_schemas_are_byte_stable_across_processes(repo):
    code = ("import json,sys; from glm_agent.tools import build_toolset; "
            "print(json.dumps(build_toolset(sys.argv[1]).schemas(), separators=(',',':')))")
    runs = {subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(runs) == 1
    assert runs.pop().strip() == json.dumps(build_toolset(repo).schemas(), separators=(",", ":"))


def test_bash_schema_shows_configured_timeouts(repo):
    settings = ToolSettings(bash_timeout_default=30, bash_timeout_max=90)
    bash = next(s for s in build_toolset(repo, settings).schemas() if s["function"]["name"] == "bash")
    timeout = bash["function"]["parameters"]["properties"]["timeout"]
    assert timeout["default"] == 30 and "90" in timeout["description"]


def test_optional_fields_are_plain_types(repo):
    schemas = {s["function"]["name"]: s["function"]["parameters"] for s in build_toolset(repo).schemas()}
    assert schemas["grep"]["properties"]["glob"] == {"description": schemas["grep"]["properties"]["glob"]["description"],
                                                    "type": "string"}
    assert schemas["git_commit"]["properties"]["paths"]["type"] == "array"
    assert schemas["git_commit"]["properties"]["paths"]["items"] == {"type": "string"}


def test_unknown_tool_lists_the_tools(repo):
    result = build_toolset(repo).dispatch("read_fle", "{}")
    assert result.is_error
    assert "Unknown tool 'read_fle'" in result.text and "Did you mean 'read_file'?" in result.text
    for name in NAMES:
        assert name in result.text


@pytest.mark.parametrize("raw, expected", [
    ('{"path": "README.md"', "not valid JSON"),
    ('{"path": "README.md"}{"path": "other.md"}', "2 different JSON objects"),
    ('{"path": "README.md"} then some words', "unexpected text after the JSON object"),
    ('["README.md"]', "must be a JSON object"),
    ("{path: README.md}", "not valid JSON"),
])
def test_malformed_arguments_are_error_results(repo, raw, expected):
    result = build_toolset(repo).dispatch("read_file", raw)
    assert result.is_error
    assert result.text.startswith("Invalid arguments for read_file:")
    assert expected in result.text


@pytest.mark.parametrize("raw", [
    '{"path": "README.md"}{"path": "README.md"}',
    '{"path": "README.md"}}',
    '```json\n{"path": "README.md"}\n```',
    '<tool_call>read_file<arg_key>path</arg_key><arg_value>README.md</arg_value></tool_call>',
    '<arg_key>path</arg_key>\n<arg_value>README.md</arg_value>',
    json.dumps(json.dumps({"path": "README.md"})),
])
def test_repairable_arguments_still_work_with_a_note(repo, raw):
    result = build_toolset(repo).dispatch("read_file", raw)
    assert not result.is_error, result.text
    assert "1\thello" in result.text


def test_xml_leak_keeps_string_fields_verbatim_and_decodes_others(repo):
    raw = ("<tool_call>read_file<arg_key>path</arg_key><arg_value>README.md</arg_value>"
           "<arg_key>limit</arg_key><arg_value>1</arg_value></tool_call>")
    result = build_toolset(repo).dispatch("read_file", raw)
    assert not result.is_error and "1\thello" in result.text
    (repo / "123").write_text("numbers\n")
    raw = "<arg_key>path</arg_key><arg_value>123</arg_value>"
    assert "numbers" in build_toolset(repo).dispatch("read_file", raw).text


def test_xml_leak_for_another_tool_is_refused(repo):
    raw = "<tool_call>bash<arg_key>command</arg_key><arg_value>ls</arg_value></tool_call>"
    result = build_toolset(repo).dispatch("read_file", raw)
    assert result.is_error and "'bash'" in result.text


@pytest.mark.parametrize("args, expected", [
    ({}, "missing required field 'path'"),
    ({"path": "README.md", "limit": "many"}, "field 'limit'"),
    ({"path": "README.md", "offset": 0}, "field 'offset'"),
    ({"file_path": "README.md"}, "unknown field 'file_path' (this tool takes: path, offset, limit)"),
])
def test_validation_errors_name_the_field(repo, args, expected):
    result = call(build_toolset(repo), "read_file", **args)
    assert result.is_error and expected in result.text
    assert result.text.endswith("Expected: read_file(path: string, offset: integer = 1, limit: integer = 2000)")


def test_lax_types_are_coerced(repo):
    result = build_toolset(repo).dispatch("read_file", '{"path": "README.md", "limit": "1"}')
    assert not result.is_error and "hello" in result.text


def test_empty_arguments_mean_no_arguments(repo):
    toolset = build_toolset(repo)
    for raw in ("", "  ", None, "{}"):
        assert not toolset.dispatch("git_status", raw).is_error


def test_exception_inside_a_tool_becomes_an_error_result(repo):
    def broken_gate(summary):
        raise RuntimeError("gate exploded")

    result = call(build_toolset(repo, finish_gate=broken_gate), "finish", summary="done")
    assert result.is_error and "RuntimeError: gate exploded" in result.text and result.finish_summary is None


def test_changed_paths_lists_what_this_run_wrote(repo):
    toolset = build_toolset(repo)
    call(toolset, "write_file", path="src/new.py", content="x = 1\n")
    call(toolset, "edit_file", path="README.md", old_string="hello", new_string="bye")
    call(toolset, "bash", command="echo untracked > by_shell.txt")
    assert toolset.changed_paths() == ["src/new.py", "README.md"]


def test_null_for_an_optional_field_means_its_default(repo):
    result = build_toolset(repo).dispatch("read_file", '{"path": "README.md", "offset": null, "limit": null}')
    assert not result.is_error and "1\thello" in result.text
    missing = build_toolset(repo).dispatch("read_file", '{"path": null}')
    assert missing.is_error and "field 'path'" in missing.text


@pytest.mark.parametrize("name, arguments, malformed", [
    ("read_flie", '{"path": "README.md"}', True),               # unknown tool
    ("read_file", '{"path": "README.md"', True),                 # not JSON
    ("read_file", '{"path": "a"}{"path": "b"}', True),          # two different objects
    ("read_file", '{"offset": "x"}', False),                     # readable, just invalid: the model acted
    ("read_file", '{"path": "missing.txt"}', False),             # a failing action
    ("read_file", '{"path": "README.md"}{"path": "README.md"}', False),  # repaired duplicate, runs
])
def test_calls_that_cannot_be_read_are_marked_malformed_for_the_loop(repo, name, arguments, malformed):
    result = build_toolset(repo).dispatch(name, arguments)
    assert result.malformed is malformed
    assert result.is_error or not malformed
