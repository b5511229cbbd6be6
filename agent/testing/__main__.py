"""`python -m glm_agent.testing --script FILE --port 0`: serve a script; the first stdout line is the base URL."""
from __future__ import annotations

import argparse
import sys
import threading

from glm_agent.testing.responders import summarizing
from glm_agent.testing.script import load_script
from glm_agent.testing.server import StandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m glm_agent.testing", description=__doc__)
    parser.add_argument("--script", required=True, help="JSON script file (list of replies/faults)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between SSE chunks")
    parser.add_argument("--api-key", default=None, help="accept only this Bearer key (default: any)")
    parser.add_argument("--context-window", type=int, default=None,
                        help="answer 400 / 1261 to prompts over this many tokens (chars/4)")
    parser.add_argument("--summaries", action="store_true",
                        help="answer compaction's summary requests with a summary, outside the script")
    args = parser.parse_args(argv)
    script = load_script(args.script)
    feed = {"responder": summarizing(script)} if args.summaries else {"script": script}
    standin = StandIn(**feed, port=args.port, latency=args.latency, chunk_delay=args.chunk_delay,
                      api_key=args.api_key, context_window=args.context_window)
    standin.start()
    print(standin.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 1 if standin.failures else 0


if __name__ == "__main__":
    sys.exit(main())
