"""The HTTP side: a Starlette app served by uvicorn.

- `POST /slack/events` — commands, interactivity and events (Bolt verifies the signature: 401).
- `GET /healthz` — liveness and the database.
- `POST /partner-center/webhooks` — Partner Center events (bot/webhooks.py, docs/webhooks.md).

Our own adapter instead of Bolt's Starlette handler, for two reasons: a size limit on bodies, and
Bolt 1.30's parsing (slack_bolt/request/internals.py tests `"payload" in body` on the raw form, so
a slash command whose text contains the word "payload" loses its body and is answered 404; and a
malformed body raises inside Bolt, a 500). We parse the body ourselves (400 when malformed) and
hand Bolt the result; tests/slack/test_command.py keeps the regression tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.services import Services
from bot.webhooks import webhook_route

log = logging.getLogger(__name__)
MAX_SLACK_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is not Slack


class BadBody(ValueError):
    """The body is neither valid JSON nor a valid Slack form."""


def parse_slack_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """What Bolt's parse_body means to do, without its substring test: JSON bodies (events),
    `payload=<json>` forms (interactivity) and plain forms (slash commands)."""
    if not raw:
        return {}
    if raw.startswith("{") or (content_type or "").startswith("application/json"):
        value = _json_object(raw)
    else:
        params = dict(parse_qsl(raw, keep_blank_values=True))
        value = _json_object(params["payload"]) if set(params) == {"payload"} else params
    return value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadBody(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadBody("JSON body is not an object")
    return value


def bolt_request(raw: str, request: Request) -> AsyncBoltRequest:
    """A Bolt request whose body we parsed (Bolt's own parsing is bypassed, see above)."""
    req = AsyncBoltRequest(body="", query=request.url.query, headers=dict(request.headers))
    body = parse_slack_body(raw, req.content_type)
    req.raw_body = raw
    req.body = body
    req.context = build_async_context(AsyncBoltContext({}), body)
    return req


class Background(Protocol):
    """Work that runs beside the server (e.g. the outbox worker), started and stopped by the
    ASGI lifespan."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_web_app(
    app: AsyncApp,
    services: Services,
    *,
    webhooks: Route | None = None,
    background: Sequence[Background] = (),
) -> Starlette:
    """`webhooks`: the Partner Center route (default: `bot.webhooks.webhook_route` with
    settings from the environment). `background` is started at startup and stopped at
    shutdown (uvicorn's lifespan; servers run with `lifespan="off"` start none)."""

    async def slack_events(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_SLACK_BODY:
            return PlainTextResponse("request body too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_SLACK_BODY:
            return PlainTextResponse("request body too large", status_code=413)
        try:
            raw = body.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("request body is not UTF-8", status_code=400)
        try:
            bolt_req = bolt_request(raw, request)
        except BadBody as exc:
            return PlainTextResponse(f"malformed request body: {exc}", status_code=400)
        bolt_response = await app.async_dispatch(bolt_req)
        return Response(
            status_code=bolt_response.status,
            content=bolt_response.body,
            headers=bolt_response.first_headers_without_set_cookie(),
        )

    async def healthz(_: Request) -> Response:
        try:
            await services.run(lambda session: session.execute(text("SELECT 1")))
        except Exception as exc:  # any database failure makes the instance unhealthy
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        started: list[Background] = []
        try:
            for job in background:
                await job.start()
                started.append(job)
            yield
        finally:
            for job in reversed(started):
                await job.stop()

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            webhooks if webhooks is not None else webhook_route(services),
        ],
        lifespan=lifespan,
    )
