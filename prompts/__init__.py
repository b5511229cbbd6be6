"""Every string the model sees, as jinja2 templates shipped inside the wheel; rendered strictly."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """One Environment per process: templates are compiled once, not per step (cost seen in mini-swe-agent)."""
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
