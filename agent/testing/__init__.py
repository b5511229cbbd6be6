"""Wire-faithful GLM stand-in server for tests, the demo and benchmarks (see glm_agent.testing.server)."""
from __future__ import annotations

from glm_agent.testing.script import Fault, Raw, Reply, item_from_dict, load_script
from glm_agent.testing.server import StandIn

__all__ = ["Fault", "Raw", "Reply", "StandIn", "item_from_dict", "load_script"]
