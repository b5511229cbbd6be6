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


@lru_cache(maxsize=8)
def environment(folder: str | None = None) -> jinja2.Environment:
    """One Environment per process (and per override folder): templates are compiled once, not per step (cost
    seen in mini-swe-agent). A template in `folder` replaces the built-in one of the same name."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([folder, str(TEMPLATE_DIR)] if folder else str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **variables: object) -> str:
    """Render prompts/<name> (".j2" may be omitted); a missing variable raises instead of vanishing."""
    return Templates(None).render(name, **variables)


class Templates:
    """The templates of one run: the built-in ones, each replaced by a same-named file in `folder` if there is one."""

    def __init__(self, folder: str | Path | None):
        self.folder = str(folder) if folder else None

    def render(self, name: str, **variables: object) -> str:
        if not name.endswith(".j2"):
            name += ".j2"
        return environment(self.folder).get_template(name).render(**variables)


def folder_problem(folder: str | Path) -> str | None:
    """What is wrong with an override folder (missing, or a .j2 that replaces no built-in template: a typo), or None."""
    path = Path(folder)
    if not path.is_dir():
        return f"prompts folder {str(path)!r} is not a directory"
    known = {p.name for p in TEMPLATE_DIR.glob("*.j2")}
    strays = sorted(p.name for p in path.glob("*.j2") if p.name not in known)
    if strays:
        return (f"prompts folder {str(path)!r}: {', '.join(strays)} replace no built-in template (they are: "
                f"{', '.join(sorted(known))})")
    return None
