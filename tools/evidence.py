"""Evidence before done: a finish from a run that has changed no file and run no command is refused once.

A small model (and GLM now and then) calls finish as its very first action, claiming work it never did. The
refusal asks it to do the work, or to call finish again and say why nothing needed to change: a read-only task
("explain X") legitimately changes nothing, so the second finish is accepted once the run has at least looked at
the repository (read, searched, asked git). A run that has done nothing at all but call finish cannot know that
nothing needed to change: its finish is refused again, and the third ends the run as no_action.
"""
from __future__ import annotations

from typing import Callable

from glm_agent.tools.base import EndRun
from glm_agent.tools.finish import Refusal

NO_EVIDENCE = "no_evidence"
BLIND_FINISHES = 3  # finishes with nothing at all done before the run ends as no_action


class EvidenceGate:
    """A finish gate: `changed()` lists the paths the run changed, `commands_run()` counts the commands it ran
    (bash, and the custom and MCP tools that answered: actions glm-agent cannot see into),
    `looked()` says whether any tool that inspects the repository has succeeded."""

    def __init__(self, changed: Callable[[], list[str]], commands_run: Callable[[], int], looked: Callable[[], bool]):
        self.changed, self.commands_run, self.looked = changed, commands_run, looked
        self.refusals = 0

    def __call__(self, summary: str) -> Refusal | None:
        if self.changed() or self.commands_run() or (self.refusals and self.looked()):
            return None
        from glm_agent.prompts import render

        self.refusals += 1
        if self.refusals >= BLIND_FINISHES:
            raise EndRun("no_action", f"finish called {self.refusals} times with nothing read, changed or run")
        return Refusal(render("no_evidence", again=self.refusals > 1, left=BLIND_FINISHES - self.refusals),
                       NO_EVIDENCE)
