"""--output-schema: finish takes a `result` that must match the user's JSON Schema; a wrong one goes back to the
model with the errors, the right one is structured_output; a bad schema file is exit 2 before anything runs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from glm_agent.config.settings import Config
from glm_agent.jobs.output_schema import OutputSchemaError, load_output_schema
from glm_agent.testing import StandIn
from helpers import (
    CHECK,
    DOCS,
    buggy_project,
    call,
    cli,
    doc_example,
    finish,
    no_evidence_config,
    run_script,
    tool_results,
)

GOOD = {"verdict": "fixed", "files": ["hello.txt"], "risk": "low"}


@pytest.fixture
def schema_file(tmp_path) -> Path:
    path = tmp_path / "review.schema.json"
    path.write_text(doc_example("review.schema.json"))  # the schema docs/output.md shows
    return path


def test_an_invalid_result_goes_back_then_the_valid_one_is_structured_output(repo, schema_file):
    script = [call("write_file", path="hello.txt", content="hi\n"),
              call("finish", summary="done", result={"verdict": "done", "files": ["hello.txt"]}),
              call("finish", summary="done", result=GOOD)]
    with StandIn(script) as server:
        proc = cli("run", "Write hello.txt", "--repo", repo, "--base-url", server.base_url, "--json",
                   "--output-schema", schema_file)
        requests = list(server.requests)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["stop_reason"] == "finished" and result["steps"] == 3 and result["structured_output"] == GOOD
    refused = tool_results(requests[2])[-1]
    assert refused.startswith("Error: finish refused: `result` does not match the output schema:")
    assert "- at result: 'risk' is a required property" in refused
    assert "- at result.verdict: 'done' is not one of ['fixed', 'not_a_bug', 'needs_human']" in refused
    assert all(json.dumps(r["tools"]) == json.dumps(requests[0]["tools"]) for r in requests), "byte-stable tools"
    finish_tool = next(t["function"] for t in requests[0]["tools"] if t["function"]["name"] == "finish")
    params = finish_tool["parameters"]
    assert params["required"] == ["summary", "result"] and "$schema" not in params["properties"]["result"]
    assert params["properties"]["result"]["properties"]["risk"] == {"$ref": "#/$defs/level"}
    assert params["$defs"] == {"level": {"enum": ["low", "medium", "high"]}}  # where the $ref resolves
    assert "`result`" in finish_tool["description"]


def test_the_documented_refusal_text_is_what_the_model_gets():
    from glm_agent.tools.finish import FinishTool
    from glm_agent.tools.schemas import FinishWithResult

    docs = (DOCS / "output.md").read_text()
    shown = docs.split("A refused `finish` as the model sees it:\n\n```text\n", 1)[1].split("```", 1)[0].strip()
    tool = FinishTool([], json.loads(doc_example("review.schema.json")))
    outcome = tool(FinishWithResult(summary="s", result={"verdict": "done", "files": []}))
    assert outcome.is_error and outcome.text == shown and tool.output is None


def test_a_result_sent_as_a_json_string_is_decoded(repo):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    result, _, _ = run_script(repo, [call("finish", summary="ok", result='{"n": 3}')], output_schema=schema,
                              config=no_evidence_config())
    assert result.stop_reason == "finished" and result.structured_output == {"n": 3}


def test_without_a_schema_finish_is_unchanged(repo):
    result, requests, _ = run_script(repo, [finish("ok")], config=no_evidence_config())
    finish_tool = next(t["function"] for t in requests[0]["tools"] if t["function"]["name"] == "finish")
    assert "result" not in finish_tool["parameters"]["properties"] and result.structured_output is None
    assert result.to_dict()["structured_output"] is None


def test_a_run_that_does_not_finish_has_no_structured_output(repo):
    schema = {"type": "object"}
    result, _, _ = run_script(repo, [call("finish", summary="x", result=[1])] * 2, output_schema=schema,
                              config=Config.from_dict({"limits": {"max_steps": 2}}))
    assert result.stop_reason == "limit_reached" and result.structured_output is None


@pytest.mark.parametrize("text, reason", [
    (None, "cannot read the output schema"),
    ("{not json", "is not JSON"),
    ('{"type": "objekt"}', "is not a valid JSON Schema at type"),
    ('{"properties": {"a": {"minLength": -1}}}', "is not a valid JSON Schema at properties/a/minLength"),
    ("[1, 2]", "a schema is a JSON object"),
])
def test_a_bad_schema_file_is_exit_2_before_anything_runs(repo, tmp_path, text, reason):
    path = tmp_path / "s.json"
    if text is not None:
        path.write_text(text)
    with StandIn([finish()]) as server:
        proc = cli("run", "x", "--repo", repo, "--base-url", server.base_url, "--output-schema", path)
        assert server.requests == []
    assert proc.returncode == 2 and reason in proc.stderr and proc.stdout == ""
    assert not (repo / ".glm-agent").exists()
    with pytest.raises(OutputSchemaError, match=reason.split(" at ")[0]):
        load_output_schema(path)


@pytest.mark.slow
def test_fix_with_an_output_schema(repo, tmp_path):
    buggy_project(repo)
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object", "properties": {"cause": {"type": "string"}}, "required": ["cause"]}')
    script = [call("edit_file", path="calc.py", old_string="a - b", new_string="a + b"),
              call("finish", summary="fixed", result={"cause": "add subtracted"})]
    with StandIn(script) as server:
        proc = cli("fix", "--check", CHECK, "--repo", repo, "--base-url", server.base_url, "--json",
                   "--output-schema", schema)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["structured_output"] == {"cause": "add subtracted"}


def test_a_finish_without_the_result_is_refused_and_the_run_goes_on(repo):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    script = [finish("no result"), call("finish", summary="ok", result={"n": "three"}),
              call("finish", summary="ok", result={"n": 3})]
    result, requests, _ = run_script(repo, script, output_schema=schema, config=no_evidence_config())
    assert "missing required field 'result'" in tool_results(requests[1])[-1]
    assert "at result.n: 'three' is not of type 'integer'" in tool_results(requests[2])[-1]
    assert result.steps == 3 and result.structured_output == {"n": 3}
