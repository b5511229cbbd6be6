"""The shipped wire schemas (tools/schemas.json) and the argument models loading on the first dispatch."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from glm_agent.tools import ToolSettings, build_toolset
from glm_agent.tools.base import SCHEMA_FILE
from glm_agent.tools.schemas import ReadFile, schema_file_text, tool_models, wire_schema
from glm_agent.tools.toolset import Tool, Toolset


def test_shipped_schema_file_is_what_the_models_generate():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_file_text(), \
        "tools/schemas.json is stale: regenerate it with `python -m glm_agent.tools.schemas`"


def test_default_toolset_sends_the_shipped_schemas(repo):
    defaults = ToolSettings()
    generated = [wire_schema(name, model) for name, model
                 in tool_models(defaults.bash_timeout_default, defaults.bash_timeout_max).items()]
    schemas = build_toolset(repo).schemas()
    assert schemas == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["tools"]
    assert json.dumps(schemas) == json.dumps(generated)


@pytest.mark.parametrize("settings, default, maximum", [
    (ToolSettings(bash_timeout_default=30, bash_timeout_max=90), 30, 90),
    (ToolSettings(bash_timeout_max=900), 120, 900),
    (ToolSettings(bash_timeout_default=60), 60, 600),
])
def test_non_default_bash_timeouts_show_in_the_bash_schema(repo, settings, default, maximum):
    schemas = build_toolset(repo, settings).schemas()
    timeout = next(s for s in schemas if s["function"]["name"] == "bash")["function"]["parameters"]["properties"]["timeout"]
    assert timeout["default"] == default and timeout["description"].endswith(f"(at most {maximum})")
    shipped = [s for s in build_toolset(repo).schemas() if s["function"]["name"] != "bash"]
    assert [s for s in schemas if s["function"]["name"] != "bash"] == shipped  # only bash depends on the settings


_FIRST_REQUEST = """
import json, sys
from glm_agent.tools import build_toolset
toolset = build_toolset(sys.argv[1])
toolset.schemas()
before = sorted(name for name in ("glm_agent.tools.schemas", "pydantic") if name in sys.modules)
invalid = toolset.dispatch("read_file", '{"path": "README.md", "offset": 0}')
valid = toolset.dispatch("read_file", '{"path": "README.md"}')
print(json.dumps({"before": before, "after": "pydantic" in sys.modules, "invalid": invalid.text, "valid": valid.text}))
"""


def test_building_and_sending_the_schemas_loads_no_pydantic(repo):
    out = json.loads(subprocess.run([sys.executable, "-c", _FIRST_REQUEST, str(repo)], capture_output=True, text=True,
                                    check=True).stdout)
    assert "glm_agent.tools.schemas" not in out["before"]
    assert "pydantic" not in out["before"], "something imported before the first dispatch pulls pydantic in"
    assert out["after"]
    assert out["invalid"] == ("Invalid arguments for read_file: field 'offset': Input should be greater than or "
                              "equal to 1 (got 0).\nExpected: read_file(path: string, offset: integer = 1, "
                              "limit: integer = 2000)")
    assert out["valid"] == "     1\thello"


def test_a_model_loader_runs_once_on_first_dispatch():
    loads = []

    def loader():
        loads.append(1)
        return ReadFile

    shipped = [wire_schema("read_file", ReadFile)]
    toolset = Toolset([Tool("read_file", loader, lambda args: args.path)], changed_paths=list, schemas=shipped)
    assert toolset.schemas() == shipped and loads == []
    assert toolset.dispatch("read_file", '{"path": "a"}').text == "a"
    assert toolset.dispatch("read_file", '{"path": "b"}').text == "b"
    assert "missing required field 'path'" in toolset.dispatch("read_file", "{}").text
    assert loads == [1]


def test_a_model_class_still_works_and_makes_its_schema():
    toolset = Toolset([Tool("read_file", ReadFile, lambda args: f"{args.path}:{args.limit}")], changed_paths=list)
    assert toolset.schemas() == [wire_schema("read_file", ReadFile)]
    assert toolset.dispatch("read_file", '{"path": "a"}').text == "a:2000"


def test_schemas_must_name_the_tools_in_order():
    with pytest.raises(ValueError, match="do not name the tools"):
        Toolset([Tool("glob", ReadFile, str)], changed_paths=list, schemas=[wire_schema("read_file", ReadFile)])
