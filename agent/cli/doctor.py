"""`glm-agent doctor`: its arguments; the checks and their report are glm_agent.jobs.doctor."""
from __future__ import annotations

import argparse
from pathlib import Path

from glm_agent.glm.endpoints import DIALECTS, ENDPOINTS


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `doctor` subcommand; its handler (args.handler) returns the exit code."""
    parser = subparsers.add_parser("doctor", help="check key, endpoint and model with one tiny request",
                                   description="Check config, key, endpoint reachability and one tiny request; print a diagnosis." + " Reads the same configuration as "
                                   "`glm-agent run` in --repo (default: the current folder); flags win.")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository whose config to check")
    parser.add_argument("--base-url", help="any OpenAI-compatible base URL (overrides --endpoint)")
    parser.add_argument("--endpoint", choices=sorted(ENDPOINTS), help="which Z.ai endpoint (default general)")
    parser.add_argument("--model", help="model name (default glm-4.6)")
    parser.add_argument("--dialect", choices=DIALECTS, help="wire dialect (default zai)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long to wait for the test answer (default 30)")
    parser.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="set a config key, as for `glm-agent run`")
    parser.set_defaults(handler=handle)
    return parser


def handle(args: argparse.Namespace) -> int:
    from glm_agent.config.loading import load_config
    from glm_agent.config.settings import ConfigError
    from glm_agent.jobs.doctor import CONFIG_PROBLEM, run_doctor

    flags = {"model.base_url": args.base_url, "model.endpoint": args.endpoint, "model.name": args.model,
             "model.dialect": args.dialect}
    try:
        m = load_config(args.repo.resolve(), args.overrides, None, flags).model
    except ConfigError as exc:
        print(f"FAIL config: {exc}", flush=True)
        return CONFIG_PROBLEM
    return run_doctor(base_url=m.base_url, model=m.name, endpoint=m.endpoint, dialect=m.dialect,
                      connect_timeout=m.connect_timeout, timeout=min(args.timeout, m.timeout))
