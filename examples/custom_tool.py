"""Give the agent a tool of your own: a typed Python function, passed to run_job through Job(tools=[...]).

    ZAI_API_KEY=... python examples/custom_tool.py PATH/TO/REPO       # with GLM
    python examples/custom_tool.py PATH/TO/REPO --offline              # against the bundled stand-in

The function's signature is the schema GLM sees and the validation of what it sends back; its docstring is the
description. Raising ToolError gives the model an error it can act on; the run goes on.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from glm_agent import Config, GLMClient, Job, ToolError, run_job, tool

TICKETS = {101: {"title": "Crash on empty cart", "status": "open", "component": "shopcart"},
           102: {"title": "Typo in README", "status": "closed", "component": "docs"}}


@tool
def get_ticket(ticket_id: Annotated[int, Field(description="The ticket number, e.g. 101")],
               fields: list[Literal["title", "status", "component"]] = ["title", "status"]) -> dict:
    """Look up a ticket in the team's issue tracker by number."""
    ticket = TICKETS.get(ticket_id)
    if ticket is None:
        raise ToolError(f"no ticket #{ticket_id}; open tickets: {[n for n, t in TICKETS.items() if t['status'] == 'open']}")
    return {name: ticket[name] for name in fields}


def main(repo: Path, offline: bool) -> int:
    job = Job("Read ticket 101 and write its title to TICKET.txt", repo, Config(limits={"max_steps": 20}),
              tools=[get_ticket], branch=None)
    if not offline:
        result = run_job(job)
    else:
        from glm_agent.testing import Reply, StandIn

        script = [Reply(tool_calls=[("get_ticket", {"ticket_id": 101})]),
                  Reply(tool_calls=[("write_file", {"path": "TICKET.txt", "content": "Crash on empty cart\n"})]),
                  Reply(tool_calls=[("finish", {"summary": "Wrote the title of ticket 101 to TICKET.txt"})])]
        with StandIn(script) as server, GLMClient(server.base_url, "offline-key-0123456789") as client:
            result = run_job(job, model=client)
    print(f"{result.stop_reason}: {result.summary or result.error}")
    return 0 if result.stop_reason == "finished" else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), "--offline" in sys.argv[2:]))
