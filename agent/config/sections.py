"""Checks stdlib dataclass "sections" against their type hints and field bounds: config without pydantic at start-up.

A section is a frozen dataclass deriving from `Section`, checked and converted whenever one is built (directly,
by `from_dict` or by `dataclasses.replace`); every problem is raised at once in a SectionError, each as
`dotted.key: message (got value)`. Lax like pydantic where it matters: a float takes an int, an int an integral
float, neither a bool; sections come from dicts, tuples from lists; unknown keys are refused, missing ones
take their defaults. Field metadata: `gt`, `ge`, `lt`, `le` bound every number the field holds; `check` maps
the converted value to a problem message (or None).
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from types import UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

_BOUNDS = {"gt": (lambda v, b: v > b, "greater than"), "ge": (lambda v, b: v >= b, "greater than or equal to"),
           "lt": (lambda v, b: v < b, "less than"), "le": (lambda v, b: v <= b, "less than or equal to")}


S = TypeVar("S", bound="Section")


class SectionError(ValueError):
    """Every problem found in one validation; `problems` holds them one by one."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class Section:
    """Base of a validated dataclass section (decorate subclasses with @dataclass(frozen=True))."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        values = _values(type(self), {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, "", problems)
        if problems:
            raise SectionError(problems)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls: type[S], data: Any) -> S:
        """The section from plain data (a parsed TOML table, a recorded `to_dict()`); raises SectionError."""
        problems: list[str] = []
        section = _convert(data, cls, {}, "", problems)
        if problems:
            raise SectionError(problems)
        return section

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (nested sections as dicts, tuples as lists) that `from_dict` reads back."""
        return _plain(self)


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _values(cls: type, data: dict, prefix: str, problems: list[str]) -> dict[str, Any]:
    """The known keys of `data` converted to the types of `cls`'s fields; problems are appended."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    problems += [f"{prefix}{key}: unknown key" for key in data if key not in fields]
    return {name: _convert(value, _hints(cls)[name], fields[name].metadata, prefix + name, problems)
            for name, value in data.items() if name in fields}


def _convert(value: Any, hint: Any, meta: Any, loc: str, problems: list[str]) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union or origin is UnionType:  # Optional[X] or X | None, the only unions sections use
        (kind,) = [arg for arg in args if arg is not type(None)]
        return None if value is None else _convert(value, kind, meta, loc, problems)
    if origin is Literal:
        return value if value in args and type(value) in map(type, args) else _problem(
            problems, loc, "must be one of " + ", ".join(map(repr, args)), value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            return _problem(problems, loc, f"must be a list of {len(args)} items", value)
        return tuple(_convert(item, arg, meta, f"{loc}.{i}", problems)
                     for i, (item, arg) in enumerate(zip(value, args)))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            return _problem(problems, loc, "must be a list", value)
        return [_convert(item, args[0], meta, f"{loc}.{i}", problems) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            return _problem(problems, loc, "must be a table", value)
        return {_convert(k, args[0], {}, loc, problems): _convert(v, args[1], meta, f"{loc}.{k}", problems)
                for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Section):
        if isinstance(value, hint):
            return value  # validated when it was built
        if not isinstance(value, dict):
            return _problem(problems, loc or "(top)", "must be a table", value)
        before = len(problems)
        values = _values(hint, value, f"{loc}." if loc else "", problems)
        return hint(**values) if len(problems) == before else value
    return _scalar(value, hint, meta, loc, problems)


def _scalar(value: Any, hint: type, meta: Any, loc: str, problems: list[str]) -> Any:
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if hint is bool or hint is str:
        if not isinstance(value, hint):
            return _problem(problems, loc, "must be true or false" if hint is bool else "must be a string", value)
        converted = value
    elif hint is int:
        if not number or (isinstance(value, float) and not value.is_integer()):
            return _problem(problems, loc, "must be an integer", value)
        converted = int(value)
    elif hint is float:
        if not number:
            return _problem(problems, loc, "must be a number", value)
        converted = float(value)
    else:
        raise TypeError(f"{loc}: a section field cannot have the type {hint!r}")
    for key, (holds, words) in _BOUNDS.items():
        if key in meta and not holds(converted, meta[key]):
            return _problem(problems, loc, f"must be {words} {meta[key]}", value)
    message = meta["check"](converted) if "check" in meta else None
    return _problem(problems, loc, message, value) if message else converted


def _problem(problems: list[str], loc: str, message: str, value: Any) -> Any:
    shown = repr(value)
    problems.append(f"{loc}: {message} (got {shown if len(shown) <= 60 else shown[:57] + '...'})")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Section):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
