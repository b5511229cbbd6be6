"""The raw argument string GLM sends: what is repaired, what is refused, and the messages."""
from __future__ import annotations

import pytest
from glm_agent.tools.arguments import ArgumentError, parse_arguments


@pytest.mark.parametrize("raw, args", [
    ('{"a": 1}', {"a": 1}),
    ("", {}),
    (None, {}),
    ({"a": 1}, {"a": 1}),
    ('  {"a": 1}\n', {"a": 1}),
])
def test_plain_arguments_have_no_note(raw, args):
    parsed = parse_arguments(raw)
    assert parsed.args == args and parsed.note is None


@pytest.mark.parametrize("raw, note", [
    ('{"a": 1}{"a": 1}', "repeated the same JSON object 2 times"),
    ('{"a": 1} {"a": 1}\n{"a": 1}', "3 times"),
    ('{"a": 1}}', "stray closing characters"),
    ('{"a": 1}</tool_call>', "stray closing characters"),
    ('```json\n{"a": 1}\n```', "markdown fence"),
])
def test_unambiguous_damage_is_repaired_with_a_note(raw, note):
    parsed = parse_arguments(raw)
    assert parsed.args == {"a": 1} and note in parsed.note


@pytest.mark.parametrize("raw, message", [
    ('{"a": 1}{"a": 2}', "2 different JSON objects back to back"),
    ('{"a": 1} and also run tests', "unexpected text after the JSON object at char 8: 'and also run tests'"),
    ('{"a": 1, }', "not valid JSON"),
    ('{"id": 123e4567-e89b}', "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('"just text"', "must be a JSON object"),
    ("<arg_key>a</arg_key>", "without matching <arg_value>"),
    ("<arg_key>a</arg_key><arg_value>1</arg_value><arg_key>a</arg_key><arg_value>2</arg_value>", "given twice"),
])
def test_ambiguous_arguments_are_refused_precisely(raw, message):
    with pytest.raises(ArgumentError) as info:
        parse_arguments(raw)
    assert message in str(info.value)


def test_invalid_json_message_points_at_the_spot():
    with pytest.raises(ArgumentError) as info:
        parse_arguments('{"path": "a.py" "limit": 3}')
    assert "at char 16" in str(info.value) and "limit" in str(info.value)


def test_xml_values_follow_the_schema_types():
    raw = ("<tool_call>grep\n<arg_key>pattern</arg_key><arg_value>123</arg_value>\n"
           "<arg_key>context</arg_key><arg_value>2</arg_value>\n"
           "<arg_key>ignore_case</arg_key><arg_value>true</arg_value></tool_call>")
    parsed = parse_arguments(raw, frozenset({"pattern"}), "grep")
    assert parsed.args == {"pattern": "123", "context": 2, "ignore_case": True}
    with pytest.raises(ArgumentError, match="'grep' inside a call to 'bash'"):
        parse_arguments(raw, frozenset(), "bash")


def test_double_encoded_object_is_unwrapped():
    assert parse_arguments('"{\\"a\\": 1}"').args == {"a": 1}
