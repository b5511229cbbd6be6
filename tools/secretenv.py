"""The environment variables that hold API keys (kept import-light: the git runner needs it at CLI start-up)."""
from __future__ import annotations

# never in the environment of commands, hooks or git filters a run starts
SECRET_ENV = ("ZAI_API_KEY", "ZHIPUAI_API_KEY", "GLM_API_KEY", "OPENAI_API_KEY")
