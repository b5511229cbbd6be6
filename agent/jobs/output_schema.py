"""The `--output-schema` file: read and checked before a run starts, so a bad schema costs no model call."""
from __future__ import annotations

import json
from pathlib import Path

from glm_agent.core.stops import UserError


class OutputSchemaError(UserError):
    """The output schema file is missing, not JSON, or not a valid JSON Schema (exit code 2)."""


def load_output_schema(path: Path) -> dict:
    """The JSON Schema in `path`, checked against its metaschema (jsonschema, the `schema` extra)."""
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OutputSchemaError(f"cannot read the output schema {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise OutputSchemaError(f"the output schema {path} is not JSON: {exc}") from None
    try:
        from glm_agent.tools.result_schema import check_schema

        check_schema(schema)
    except ImportError:
        raise OutputSchemaError("--output-schema needs the jsonschema package: pip install 'glm-agent[schema]'") from None
    except ValueError as exc:
        raise OutputSchemaError(f"the output schema {path} is {exc}") from None
    return schema
