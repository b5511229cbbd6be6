"""Fixtures every test gets: an environment without the developer's key, config or identity, and a temp repo."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers import git_init


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test may read the developer's key, config or git identity."""
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)  # undo's outside copies go under this HOME
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def repo(tmp_path) -> Path:
    return git_init(tmp_path / "repo")


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """One real local Ray cluster for the session (127.0.0.1, 2 CPUs, its own temp dir), stopped at the end by
    signalling its own process group; its nodes' environment has no developer key, config or identity."""
    import importlib.util
    import os

    from glm_agent.testing.raycluster import LocalRayCluster
    from helpers import need

    need(importlib.util.find_spec("ray") is not None, 'Ray (pip install "glm-agent[ray]")')
    home = tmp_path_factory.mktemp("ray-home")
    env = {key: value for key, value in os.environ.items() if key != "ZAI_API_KEY" and not key.startswith("GIT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1")
    with LocalRayCluster(cpus=2, env=env) as cluster:
        yield cluster.address
