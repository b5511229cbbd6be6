"""Wire-faithful GLM stand-in server for tests, the demo and benchmarks (see agent.standin.server)."""
from __future__ import annotations

from agent.standin.script import Fault, Raw, Reply, item_from_dict, load_script
from agent.standin.server import StandIn

__all__ = ["Fault", "Raw", "Reply", "StandIn", "item_from_dict", "load_script"]
