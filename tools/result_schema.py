"""The `result` of finish under `--output-schema`: the schema checked once, the wire tool list given the `result`
parameter, and a model's result validated with errors it can act on (jsonschema, imported only with a schema)."""
from __future__ import annotations

import copy
import json
from typing import Any

RESULT_DESCRIPTION = "The final answer as a JSON value that matches the output schema given here"
_MAX_ERRORS = 10  # validation errors shown to the model at once


class ResultCheck:
    """Validates finish's `result` against the user's schema; a result sent as a JSON string is decoded first."""

    def __init__(self, schema: dict):
        self._validator = _validator_class(schema)(schema)

    def problems(self, value: Any) -> tuple[Any, list[str]]:
        """(the result as it will be kept, what is wrong with it: empty when it validates)."""
        value = _decoded(value, self._validator)
        return value, _problems(value, self._validator)


def check_schema(schema: Any) -> None:
    """Raise ValueError saying why `schema` is not a usable JSON Schema (jsonschema must be installed)."""
    if not isinstance(schema, dict):
        raise ValueError(f"not a JSON Schema: a schema is a JSON object, not a {type(schema).__name__}")
    from jsonschema.exceptions import SchemaError

    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or "(top level)"
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None


def with_result_schema(schemas: list[dict], schema: dict) -> list[dict]:
    """The wire tool list with finish taking a required `result` of the user's schema; computed once per run, so
    the tool list stays byte-stable for the prompt cache. `$defs` move to the parameters' root, where the
    schema's own `#/$defs/...` references then resolve."""
    out = []
    for tool in schemas:
        if tool["function"]["name"] == "finish":
            tool = copy.deepcopy(tool)
            tool["function"]["description"] += " Also pass `result`: your final answer, as its schema describes."
            params = tool["function"]["parameters"]
            result = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs", "definitions")}
            result.setdefault("description", RESULT_DESCRIPTION)
            params["properties"]["result"] = result
            params["required"] = [*params.get("required", []), "result"]
            for key in ("$defs", "definitions"):
                if key in schema:
                    params[key] = schema[key]
        out.append(tool)
    return out


def _validator_class(schema: dict):
    from jsonschema.validators import validator_for

    return validator_for(schema)


def _decoded(value: Any, validator) -> Any:
    """A result the model sent as a JSON string (GLM often quotes objects) is decoded when the string itself does
    not validate."""
    if isinstance(value, str) and not validator.is_valid(value):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _problems(value: Any, validator) -> list[str]:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.path)))
    shown = [f"at {_where(error)}: {error.message}" for error in errors[:_MAX_ERRORS]]
    if len(errors) > _MAX_ERRORS:
        shown.append(f"... and {len(errors) - _MAX_ERRORS} more")
    return shown


def _where(error) -> str:
    return "result" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
