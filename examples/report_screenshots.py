"""Make the report screenshots in docs/ (report-demo.png, report-batch.png): the offline demo's report, and the
report of a small batch against the GLM stand-in, each loaded in headless Chromium.

Usage: python examples/report_screenshots.py [OUT_DIR]   (default docs/; needs chromium)
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def main(out: Path) -> int:
    from glm_agent.cli.main import main as glm_agent
    from glm_agent.testing import Reply, StandIn

    with tempfile.TemporaryDirectory(prefix="report-shots-") as tmp:
        tmp = Path(tmp)
        os.chdir(tmp)
        assert glm_agent(["demo", "--json", "--keep", "--report", str(tmp / "demo.html")]) == 0
        _shoot(tmp / "demo.html", out / "report-demo.png", "1200,2400")
        repo = tmp / "repo"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=a", "-c", "user.email=a@example.com", "commit",
                        "-q", "--allow-empty", "-m", "init"], check=True)
        tasks = tmp / "tasks.jsonl"
        tasks.write_text("".join(json.dumps({"id": i, "repo": str(repo), "task": t}) + "\n" for i, t in (
            ("readme", "create README.md"), ("license", "create LICENSE"), ("changelog", "create CHANGELOG.md"),
            ("stuck", "look for a file that is not there"))))

        def answer(body: dict) -> Reply:
            task = body["messages"][1]["content"]
            done = sum(m["role"] == "tool" for m in body["messages"])
            name = re.search(r"create (\S+)", task)
            if name is None:
                return Reply(tool_calls=[("read_file", {"path": f"missing-{done}.txt"})])
            if done == 0:
                return Reply(content=f"Writing {name.group(1)}.",
                             tool_calls=[("write_file", {"path": name.group(1), "content": "# " * 40 + "\n"})])
            return Reply(tool_calls=[("finish", {"summary": f"created {name.group(1)}"})])

        os.environ.setdefault("ZAI_API_KEY", "screenshot-key-000000")
        with StandIn(responder=answer, latency=0.2) as server:
            glm_agent(["batch", str(tasks), "--out", str(tmp / "out"), "--report", "-c",
                       f"model.base_url={server.base_url}", "-c", "limits.max_steps=4"])
        _shoot(tmp / "out" / "report.html", out / "report-batch.png", "1200,1000")
    print(f"wrote {out / 'report-demo.png'} and {out / 'report-batch.png'}")
    return 0


def _shoot(page: Path, png: Path, size: str) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
                        f"--window-size={size}", page.resolve().as_uri()], check=True, capture_output=True)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs").resolve()))
