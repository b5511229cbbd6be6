"""The wheel: one namespace (glm_agent) and nothing generic beside it, every package listed, every data file in it.

A data file left out of package-data still works from the source tree (and the editable install the tests
use), so only these checks, or a user, would notice it missing.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
MAPPED = SETUPTOOLS["package-dir"]


def _folder(package: str) -> Path:
    """The source folder of an import name, through the longest package-dir mapping that covers it."""
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        mapped = MAPPED.get(".".join(parts[:cut]))
        if mapped is not None:
            return ROOT.joinpath(mapped, *parts[cut:])
    return ROOT.joinpath(*parts)


def test_every_data_file_the_code_reads_ships_in_the_wheel():
    data = SETUPTOOLS["package-data"]
    needed = [("glm_agent.tools", "schemas.json"), ("glm_agent.jobs", "demo_script.json"),
              *[("glm_agent.prompts", p.name) for p in (ROOT / "prompts").glob("*.j2")]]
    for package, name in needed:
        assert (_folder(package) / name).is_file()
        assert any(fnmatch(name, pattern) for pattern in data.get(package, [])), f"{package}/{name} not packaged"


def test_every_python_package_is_listed_under_the_one_namespace():
    listed = SETUPTOOLS["packages"]
    assert all(name == "glm_agent" or name.startswith("glm_agent.") for name in listed)
    folders = {_folder(name).resolve() for name in listed}
    for top in ("agent", "tools", "prompts"):
        for init in (ROOT / top).rglob("__init__.py"):
            assert init.parent.resolve() in folders, f"{init.parent} is not in [tool.setuptools] packages"


@pytest.mark.slow
def test_the_wheel_installs_nothing_but_glm_agent(tmp_path):
    """No top-level tools, prompts or agent: a user's own packages of those names must never meet ours."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("glm_agent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"glm_agent", next(t for t in tops if t.endswith(".dist-info"))}, tops
    for expected in ("glm_agent/tools/schemas.json", "glm_agent/jobs/demo_script.json",
                     "glm_agent/prompts/system.j2", "glm_agent/demo_repo/shopcart/cart.py"):
        assert expected in names
