"""The HTTP side, served by uvicorn.

- `POST /slack/events` — commands, interactivity and events (signature checked first: 401).
- `GET /healthz` — liveness and the database.
- `GET /readyz` — readiness: the database accepts a write, Slack accepts the bot token
  (bot/core/readiness.py); 503 with what failed and what to do.
- `POST /partner-center/webhooks` — Partner Center events (bot/http/webhooks.py, docs/webhooks.md).
- `GET /partner-center/connect/callback` — the end of "Connect Partner Center" (bot/http/
  pc_connect.py, docs/partner-center-connection.md).

`POST /slack/events` is a bare ASGI endpoint (SlackEvents) in front of Bolt instead of Bolt's
Starlette handler, for three reasons: a size limit on bodies; Bolt 1.30's parsing
(slack_bolt/request/internals.py tests `"payload" in body` on the raw form, so a slash command
whose text contains the word "payload" loses its body and is answered 404; and a malformed body
raises inside Bolt, a 500) — we parse the body ourselves (400 when malformed) and hand Bolt the
result, tests/slack/test_command.py keeps the regression tests; and speed, since every Slack
request passes here (bench/ack.py). The other routes are Starlette's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.response import BoltResponse
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot.core.delivery import stand_in_hosts
from bot.core.readiness import Readiness
from bot.core.services import Services
from bot.http.pc_connect import connect_route
from bot.http.slack_request import BadBody, SlackAuthenticator, check_shape, parse_slack_body
from bot.http.webhooks import webhook_route

log = logging.getLogger(__name__)
MAX_SLACK_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is not Slack


def bolt_request(
    raw: str, headers: dict[str, str], query: str = "", *, extra_hosts: frozenset[str] = frozenset()
) -> AsyncBoltRequest:
    """A Bolt request whose body we parsed and checked (Bolt's own parsing is bypassed, see
    above). Only for a request already authenticated (SlackEvents)."""
    bolt_headers: dict[str, str | Sequence[str]] = dict(headers)
    req = AsyncBoltRequest(body="", query=query or None, headers=bolt_headers)
    body = parse_slack_body(raw, req.content_type)
    check_shape(body, extra_hosts=extra_hosts)
    req.raw_body = raw
    req.body = body
    req.context = build_async_context(AsyncBoltContext({}), body)
    return req


class SlackEvents:
    """`POST /slack/events` as a bare ASGI endpoint: every Slack request goes through it, so it
    reads the body and writes the response itself instead of through Starlette's Request and
    Response (bench/ack.py measures it).

    Authentication first (docs/security.md): headers that cannot be a signature are refused
    before the body is read; the body is read up to MAX_SLACK_BODY; its signature is checked
    (401) before anything parses it. Bolt's own verification is off (bot/slack/app.py): this is
    the one place that decides, so nothing unauthenticated reaches Bolt, a listener or the
    error handler, and nothing about it can cause an outgoing call or a write."""

    def __init__(self, app: AsyncApp, signing_secret: str) -> None:
        self.app = app
        self.auth = SlackAuthenticator(signing_secret)
        self.extra_hosts = stand_in_hosts(app.client.base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not self.auth.headers_look_signed(headers):
            return await _plain(send, 401, "invalid or missing Slack signature")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_SLACK_BODY:
            return await _plain(send, 413, "request body too large")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None  # the client left: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_SLACK_BODY:
                return await _plain(send, 413, "request body too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        data = b"".join(chunks)
        if not self.auth.authentic(headers, data):
            log.info("refused an unsigned or stale request to /slack/events (401)")
            return await _plain(send, 401, "invalid or missing Slack signature")
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            return await _plain(send, 400, "request body is not UTF-8")
        try:
            query = scope.get("query_string", b"").decode("latin-1")
            bolt_req = bolt_request(raw, headers, query, extra_hosts=self.extra_hosts)
        except BadBody as exc:
            return await _plain(send, 400, f"malformed request body: {exc}")
        response = await self.app.async_dispatch(bolt_req)
        await _send(
            send,
            response.status,
            response.body.encode("utf-8"),
            [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response.first_headers_without_set_cookie().items()
            ],
        )


async def _plain(send: Send, status: int, text: str) -> None:
    await _send(send, status, text.encode(), [(b"content-type", b"text/plain; charset=utf-8")])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class WebApp:
    """The ASGI app `mcbot serve` runs: `POST /slack/events` straight to SlackEvents, anything
    else through Starlette's routing (which routes /slack/events too, and answers 405/404)."""

    def __init__(self, slack_events: SlackEvents, routes: Starlette) -> None:
        self.slack_events = slack_events
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/slack/events"
            and not scope.get("root_path")
        ):
            return await self.slack_events(scope, receive, send)
        await self.routes(scope, receive, send)


def oauth_routes(app: AsyncApp) -> list[Route]:
    """Distributed mode: `GET /slack/install` and `GET /slack/oauth_redirect`, handled by
    Bolt's OAuth flow (bot/slack/oauth.py); none in single-workspace mode. They read only the
    query string and the headers (the state cookie): no body."""
    flow = app.oauth_flow
    if flow is None:
        return []

    def bolt_get(request: Request) -> AsyncBoltRequest:
        return AsyncBoltRequest(
            body="",
            query=request.url.query or None,
            headers={k: v for k, v in request.headers.items()},
        )

    def starlette_response(bolt: BoltResponse) -> Response:
        response = Response(status_code=bolt.status, content=bolt.body)
        for name, values in bolt.headers.items():
            for value in values:
                if name.lower() == "set-cookie":
                    response.headers.append("set-cookie", value)
                else:
                    response.headers[name] = value
        return response

    async def install(request: Request) -> Response:
        return starlette_response(await flow.handle_installation(bolt_get(request)))

    async def oauth_redirect(request: Request) -> Response:
        return starlette_response(await flow.handle_callback(bolt_get(request)))

    return [
        Route(flow.install_path, install, methods=["GET"]),
        Route(flow.redirect_uri_path, oauth_redirect, methods=["GET"]),
    ]


class Background(Protocol):
    """Work that runs beside the server (e.g. the outbox worker), started and stopped by the
    ASGI lifespan."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_web_app(
    app: AsyncApp,
    services: Services,
    *,
    signing_secret: str,
    webhooks: Route | None = None,
    background: Sequence[Background] = (),
    readiness: Readiness | None = None,
) -> WebApp:
    """`webhooks`: the Partner Center route (default: `bot.http.webhooks.webhook_route` with
    settings from the environment). `background` is started at startup and stopped at
    shutdown (uvicorn's lifespan; servers run with `lifespan="off"` start none).
    `readiness`: the checks of /readyz (default: the database, and the token of `app.client`)."""

    slack_events = SlackEvents(app, signing_secret)

    async def healthz(_: Request) -> Response:
        try:
            await services.run(lambda session: session.execute(text("SELECT 1")))
        except Exception as exc:  # any database failure makes the instance unhealthy
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    distributed = app.oauth_flow is not None
    ready_checks = readiness or Readiness(
        services.sessions.kw["bind"],
        None if distributed else app.client,
        installations=distributed,
    )

    async def readyz(_: Request) -> Response:
        ready, body = await ready_checks.check()
        return JSONResponse(body, status_code=200 if ready else 503)

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
            await services.drain()  # e.g. the decision log's pending rows

    routes = Starlette(
        routes=[
            *oauth_routes(app),
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            webhooks if webhooks is not None else webhook_route(services),
            connect_route(services, app.client),
        ],
        lifespan=lifespan,
    )
    return WebApp(slack_events, routes)
