"""The GLM-4.6 client: requests, responses, SSE, typed errors, endpoints and prices; it never imports tools."""
