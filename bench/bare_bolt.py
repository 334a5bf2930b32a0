"""The baseline for bench/ack.py: bare Bolt, a static acknowledgement, on our server stack.

    SLACK_SIGNING_SECRET=... SLACK_BOT_TOKEN=xoxb-... SLACK_API_URL=http://127.0.0.1:P/api/ \
        python bench/bare_bolt.py --port 3001 [--default-mode]

One `@app.command("/multichannel")` listener that does `await ack("ok")`; Bolt's AsyncApp with
`process_before_response=True` (as ours) unless --default-mode (Bolt's default, False), served
through Bolt's own Starlette adapter on uvicorn with the settings `mcbot serve` uses: one worker,
loop asyncio, no access log, log level warning.

With --with-our-libraries it first imports OUR_LIBRARIES, the libraries `mcbot serve` is built
on beyond Bolt's stack (bench/ack.py's "floor": what ours' start cannot go below while it uses
them; tests/test_start_weight.py checks that ours imports each of them at start).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

# bench/ holds policy.py, named like the package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import uvicorn  # noqa: E402
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler  # noqa: E402
from slack_bolt.async_app import AsyncAck, AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

# The ORM and its SQLite dialect (the default database), settings, templates and their
# translations, the policy's editions (YAML).
OUR_LIBRARIES = (
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "pydantic_settings",
    "jinja2",
    "babel.support",
    "yaml",
)


def build(*, process_before_response: bool) -> Starlette:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
        timeout=10,
    )
    app = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=client,
        process_before_response=process_before_response,
        logger=logging.getLogger("bare.bolt"),
    )

    @app.command("/multichannel")
    async def multichannel(ack: AsyncAck) -> None:
        await ack("ok")

    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", slack_events, methods=["POST"])])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3001, help="port (default 3001)")
    parser.add_argument(
        "--default-mode",
        action="store_true",
        help="Bolt's default process_before_response=False (the ack is polled every 10 ms)",
    )
    parser.add_argument(
        "--with-our-libraries",
        action="store_true",
        help="first import " + ", ".join(OUR_LIBRARIES) + " (bench/ack.py's floor)",
    )
    args = parser.parse_args()
    if args.with_our_libraries:
        for name in OUR_LIBRARIES:
            importlib.import_module(name)
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(
        build(process_before_response=not args.default_mode),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="asyncio",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
