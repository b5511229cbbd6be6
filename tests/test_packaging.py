"""The wheel carries every file glm-agent reads at run time, and every package under agent/ and tools/.

A data file left out of package-data still works from the source tree (and the editable install the tests
use), so only this check, or a user, would notice it missing.
"""
from __future__ import annotations

import sys
from fnmatch import fnmatch
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _folder(package: str) -> Path:
    mapped = SETUPTOOLS.get("package-dir", {}).get(package)
    return ROOT / mapped if mapped else ROOT.joinpath(*package.split("."))


def test_every_data_file_the_code_reads_ships_in_the_wheel():
    data = SETUPTOOLS["package-data"]
    needed = [("tools", "schemas.json"), ("agent", "demo_script.json"),
              *[("prompts", p.name) for p in (ROOT / "prompts").glob("*.j2")]]
    for package, name in needed:
        assert (_folder(package) / name).is_file()
        assert any(fnmatch(name, pattern) for pattern in data.get(package, [])), f"{package}/{name} not packaged"


def test_every_python_package_is_listed():
    listed = set(SETUPTOOLS["packages"])
    for top in ("agent", "tools", "prompts"):
        for init in (ROOT / top).rglob("__init__.py"):
            assert ".".join(init.parent.relative_to(ROOT).parts) in listed
