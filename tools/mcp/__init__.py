"""The MCP client: configured servers' tools offered to GLM as mcp__SERVER__TOOL (the SDK is the `mcp` extra)."""
