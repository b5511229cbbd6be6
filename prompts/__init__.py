"""Every string the model sees, as jinja2 templates shipped inside the wheel; rendered strictly.

jinja2 is imported on the first render, not with this module, so a run can load it while git takes its start
snapshot (glm_agent.jobs.run).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """One Environment per process: templates are compiled once, not per step (cost seen in mini-swe-agent)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **variables: object) -> str:
    """Render prompts/<name> (".j2" may be omitted); a missing variable raises instead of vanishing."""
    if not name.endswith(".j2"):
        name += ".j2"
    return environment().get_template(name).render(**variables)
