"""The options run, fix and batch share, and the validated Config they make."""
from __future__ import annotations

import argparse
from pathlib import Path

from glm_agent.cli.formats import add_output_options

# flag attribute -> config key; a flag left at None does not override the config files
FLAG_KEYS = {
    "model": "model.name", "base_url": "model.base_url", "dialect": "model.dialect", "endpoint": "model.endpoint",
    "thinking": "model.thinking", "stream": "model.stream", "max_steps": "limits.max_steps",
    "max_cost": "limits.max_cost_usd", "max_tokens": "limits.max_total_tokens", "timeout": "limits.timeout",
    "sandbox": "sandbox.mode", "network": "sandbox.network",
}


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Repository, model, budget, git and output options shared by run, fix and batch."""
    parser.add_argument("--repo", type=Path, default=Path("."), metavar="PATH",
                        help="repository, or a folder inside it (default: current folder)")
    parser.add_argument("--model", metavar="NAME", help="model name (default glm-4.6)")
    parser.add_argument("--base-url", metavar="URL",
                        help="API base URL, e.g. a self-hosted vLLM at http://host:8000/v1 (with --dialect openai)")
    parser.add_argument("--dialect", choices=["zai", "openai"], help="wire dialect: zai or openai (vLLM/SGLang)")
    parser.add_argument("--endpoint", choices=["general", "coding", "mainland", "mainland-coding"],
                        help="which Z.ai endpoint when --base-url is not given (default general; coding for a "
                             "GLM Coding Plan key)")
    parser.add_argument("--thinking", action=argparse.BooleanOptionalAction, default=None,
                        help="GLM thinking mode (default: the server's default)")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="stream responses (default on)")
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop after N model calls (default 100)")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="stop when the run has cost this much")
    parser.add_argument("--max-tokens", type=int, metavar="N",
                        help="stop once the run has used N tokens in total (the per-answer limit is "
                             "-c model.max_tokens=N)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit for the whole run (per request: -c model.timeout=SECONDS)")
    parser.add_argument("--branch", metavar="NAME", help="work branch name (default glm-agent/<task-slug>)")
    parser.add_argument("--no-branch", action="store_true", help="work on the current branch")
    parser.add_argument("--no-commit", action="store_true", help="leave the changes uncommitted")
    parser.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="set a config key, e.g. -c limits.max_steps=30 (repeatable)")
    parser.add_argument("--config", type=Path, metavar="FILE", help="extra config file (TOML), above the repo's own")
    add_output_options(parser)
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "off"],
                        help="where the model's commands run: auto (bubblewrap when it starts, default), bwrap "
                             "(required), off (with your full rights)")
    parser.add_argument("--network", action="store_const", const=True, default=None,
                        help="let sandboxed commands use the network (off by default)")
    parser.add_argument("--trust-repo-config", action="store_true",
                        help="let the repository's config file loosen limits and set protected keys (prices, "
                             "endpoint, sandbox...): only for a repository you trust")


def config_from_args(args: argparse.Namespace, recorded: tuple[str, dict] | None = None):
    """The validated Config for these arguments (raises ConfigError); `recorded`: the (source, config) of a run
    being resumed, which these arguments override."""
    from glm_agent.config.loading import load_config

    flags = {key: getattr(args, attr, None) for attr, key in FLAG_KEYS.items()}
    if getattr(args, "no_commit", False):
        flags["git.commit"] = False
    if getattr(args, "no_branch", False):
        flags["git.branch"] = False
    return load_config(args.repo.resolve(), args.overrides, args.config, flags, recorded,
                       trust_repo=getattr(args, "trust_repo_config", False))


def branch_from_args(args: argparse.Namespace) -> str | None:
    from glm_agent.jobs.branches import AUTO_BRANCH

    return None if args.no_branch else (args.branch or AUTO_BRANCH)
