"""Evidence before done: a finish from a run that has changed no file and run no command is refused once.

A small model (and GLM now and then) calls finish as its very first action, claiming work it never did. The
refusal asks it to do the work, or to call finish again and say why nothing needed to change: a read-only task
("explain X") legitimately changes nothing, so the second finish is accepted.
"""
from __future__ import annotations

from typing import Callable

from glm_agent.tools.finish import Refusal

NO_EVIDENCE = "no_evidence"


class EvidenceGate:
    """A finish gate: `changed()` lists the paths the run changed, `commands_run()` counts the commands it ran."""

    def __init__(self, changed: Callable[[], list[str]], commands_run: Callable[[], int]):
        self.changed, self.commands_run = changed, commands_run
        self.asked = False

    def __call__(self, summary: str) -> Refusal | None:
        if self.asked or self.changed() or self.commands_run():
            return None
        from glm_agent.prompts import render

        self.asked = True
        return Refusal(render("no_evidence"), NO_EVIDENCE)
