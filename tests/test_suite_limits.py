"""The suite itself cannot hang CI: every test has a time limit, enforced by a method that leaves SIGALRM alone."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYTEST = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]


def test_every_test_has_a_time_limit_and_the_deadline_signal_stays_the_codes():
    assert 0 < int(PYTEST["timeout"]) <= 300
    assert PYTEST["timeout_method"] == "thread"  # glm-agent's own hard deadline uses SIGALRM


def test_a_hanging_test_fails_the_run_instead_of_stalling_it(tmp_path):
    (tmp_path / "test_hang.py").write_text("import time\n\ndef test_hangs():\n    time.sleep(60)\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                           str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-o", "timeout=1",
                           str(tmp_path / "test_hang.py")], capture_output=True, text=True, timeout=50)
    assert proc.returncode != 0
    assert "Timeout" in proc.stdout + proc.stderr
