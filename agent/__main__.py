"""`python -m glm_agent`: the same as the `glm-agent` console script."""
import sys

from glm_agent.cli import main

sys.exit(main())
