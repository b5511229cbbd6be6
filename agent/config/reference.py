"""The Markdown key reference, generated from the config dataclasses: one table per section with each key's type,
default, bounds and meaning (its field's metadata "doc").

    python -m glm_agent.config.reference          # rewrite the generated part of docs/configuration.md
    python -m glm_agent.config.reference --check  # exit 1 when it is stale (CI)
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Optional, Union, get_args, get_origin, get_type_hints

from glm_agent.config.sections import Section
from glm_agent.config.settings import Config

DOC_FILE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
BEGIN, END = "<!-- BEGIN GENERATED: config keys -->", "<!-- END GENERATED: config keys -->"
REGENERATE = "python -m glm_agent.config.reference"
_NAMES = {str: "string", bool: "bool", int: "int", float: "float"}
_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def render(config: type[Section] = Config) -> str:
    """The reference of every key of `config`: a table per section, nested sections after their parent."""
    return "\n\n".join(_tables(config, "", "")) + "\n"


def _tables(cls: type, prefix: str, doc: str) -> list[str]:
    hints, fields = get_type_hints(cls), dataclasses.fields(cls)
    leaves = [f for f in fields if not _is_section(hints[f.name])]
    blocks = []
    if leaves:
        heading = [f"### `[{prefix[:-1]}]`", "", *([doc, ""] if doc else [])] if prefix else []
        rows = [f"| `{prefix}{f.name}` | {_type(hints[f.name])} | {_default(f)} | {_bounds(f.metadata)} | "
                f"{_cell(f.metadata.get('doc', ''))} |" for f in leaves]
        blocks.append("\n".join([*heading, "| key | type | default | bounds | meaning |", "|---|---|---|---|---|",
                                 *rows]))
    for f in fields:
        if _is_section(hints[f.name]):
            blocks += _tables(hints[f.name], f"{prefix}{f.name}.", f.metadata.get("doc", ""))
    return blocks


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _is_section(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, Section)


def _type(hint: Any) -> str:
    """A readable type: `int`, `float or none`, `one of "a", "b"`, `list of string`, `table of float`."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union or origin is UnionType:
        inner = _type(next(arg for arg in args if arg is not type(None)))
        return f"{inner}, or none" if " " in inner else f"{inner} or none"
    if origin is Literal:
        return "one of " + ", ".join(f"`{_toml(arg)}`" for arg in args)
    if origin is tuple:
        return "[" + ", ".join(map(_type, args)) + "]"
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"table of {_type(args[1])}"
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def _default(f: dataclasses.Field) -> str:
    value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return "none" if value is None else f"`{_toml(value)}`"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)} = {_toml(item)}" for key, item in value.items()) + "}"
    return repr(value)


def _bounds(meta: Any) -> str:
    if "ge" in meta and "le" in meta and len(set(meta) & set(_BOUNDS)) == 2:
        return f"{_toml(meta['ge'])}..{_toml(meta['le'])}"
    return ", ".join(f"{sign} {_toml(meta[key])}" for key, sign in _BOUNDS.items() if key in meta)


def generated_part(text: str) -> Optional[str]:
    """What `text` holds between the markers, or None without them."""
    start, end = text.find(BEGIN), text.find(END)
    return text[start + len(BEGIN) + 1:end] if 0 <= start < end else None


def with_reference(text: str, reference: str) -> str:
    """`text` with `reference` between the markers (which must be there)."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return f"{text[:start]}\n{reference}{text[end:]}"


def main(argv: Optional[list[str]] = None, path: Path = DOC_FILE) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description="Regenerate the config key reference in " + path.name)
    parser.add_argument("--check", action="store_true", help="only check: exit 1 when the reference is stale")
    parser.add_argument("--file", type=Path, default=path, help=f"the page to update (default {path})")
    args = parser.parse_args(argv)
    path = args.file
    if not path.is_file():
        print(f"{path} not found: run this in a source checkout, or pass --file docs/configuration.md", file=sys.stderr)
        return 2
    text = path.read_text(encoding="utf-8")
    if generated_part(text) is None:
        print(f"{path}: the markers {BEGIN} and {END} are missing", file=sys.stderr)
        return 2
    updated = with_reference(text, render())
    if updated == text:
        return 0
    if args.check:
        print(f"{path} is stale: regenerate it with `{REGENERATE}`", file=sys.stderr)
        return 1
    path.write_text(updated, encoding="utf-8")
    print(f"rewrote the key reference in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
