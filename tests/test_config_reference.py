"""The key reference in docs/configuration.md is generated from the config dataclasses and kept current."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, get_type_hints

from glm_agent.config import reference
from glm_agent.config.reference import BEGIN, END, REGENERATE, generated_part, render
from glm_agent.config.sections import Section
from glm_agent.config.settings import Config, Limits

DOC_FILE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"  # the checkout's, also under a wheel install


def _keys(cls: type, prefix: str = ""):
    """(dotted key, field) of every key of a section, nested sections and their keys included."""
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        yield prefix + f.name, f
        if isinstance(hints[f.name], type) and issubclass(hints[f.name], Section):
            yield from _keys(hints[f.name], f"{prefix}{f.name}.")


def test_docs_hold_the_reference_the_dataclasses_give():
    text = DOC_FILE.read_text(encoding="utf-8")
    assert generated_part(text) == render(), f"docs/configuration.md is stale: regenerate it with `{REGENERATE}`"


def test_every_key_has_a_one_line_doc():
    keys = dict(_keys(Config))
    assert {"model.name", "limits.max_steps", "tools.protected", "git"} <= set(keys)
    missing = [key for key, f in keys.items() if not str(f.metadata.get("doc", "")).strip()]
    assert not missing, f"keys without a metadata doc: {missing}"
    assert not [key for key, f in keys.items() if "\n" in f.metadata["doc"]]
    for key in ("model.name", "limits.max_steps", "tools.protected"):
        assert f"| `{key}` |" in render()


@dataclass(frozen=True)
class _Demo(Section):
    size: int = field(default=3, metadata={"gt": 0, "doc": "how big"})
    share: Optional[float] = field(default=None, metadata={"ge": 0, "le": 1, "doc": "a | share"})
    mode: Literal["a", "b"] = field(default="a", metadata={"doc": "which"})
    pair: tuple[float, float] = field(default=(1.0, 2.5), metadata={"doc": "two"})
    names: list[str] = field(default_factory=list, metadata={"doc": "some names"})


@dataclass(frozen=True)
class _Root(Section):
    demo: _Demo = field(default_factory=_Demo, metadata={"doc": "A demo section."})


def test_rendering_shows_type_default_bounds_and_doc():
    assert render(_Root) == "\n".join([
        "### `[demo]`", "", "A demo section.", "",
        "| key | type | default | bounds | meaning |", "|---|---|---|---|---|",
        "| `demo.size` | int | `3` | > 0 | how big |",
        "| `demo.share` | float or none | none | 0..1 | a \\| share |",
        '| `demo.mode` | one of `"a"`, `"b"` | `"a"` |  | which |',
        "| `demo.pair` | [float, float] | `[1.0, 2.5]` |  | two |",
        "| `demo.names` | list of string | `[]` |  | some names |", ""])


def test_a_changed_default_changes_the_reference_so_stale_docs_fail():
    steps = {f.name: f for f in dataclasses.fields(Limits)}["max_steps"]
    limits = {f.name: f for f in dataclasses.fields(Config)}["limits"]
    changed = dataclasses.make_dataclass("Limits", [("max_steps", int, field(default=7, metadata=steps.metadata))],
                                         bases=(Limits,), frozen=True)
    variant = dataclasses.make_dataclass(
        "Config", [("limits", changed, field(default_factory=changed, metadata=limits.metadata))],
        bases=(Config,), frozen=True)
    before, after = render(Config).splitlines(), render(variant).splitlines()
    assert len(before) == len(after)
    assert [line for line in after if line not in before] == [
        "| `limits.max_steps` | int | `7` | > 0 | model calls per run |"]
    assert generated_part(DOC_FILE.read_text(encoding="utf-8")) != render(variant)


def test_main_rewrites_only_the_marked_part_and_check_reports_staleness(tmp_path, capsys):
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# Title\n\nintro\n\n{BEGIN}\nold table\n{END}\n\nafter\n", encoding="utf-8")
    assert reference.main(["--check"], path=doc) == 1
    assert REGENERATE in capsys.readouterr().err
    assert reference.main([], path=doc) == 0
    text = doc.read_text(encoding="utf-8")
    assert text == f"# Title\n\nintro\n\n{BEGIN}\n{render()}{END}\n\nafter\n"
    assert reference.main(["--check"], path=doc) == 0
    doc.write_text("no markers\n", encoding="utf-8")
    assert reference.main([], path=doc) == 2
