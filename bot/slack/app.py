"""The Slack app: one factory builds it from settings and services.

Stack (measured with bench/ack.py, see docs/architecture.md): Bolt's AsyncApp with
`process_before_response=True`. Listeners answer in the acknowledgement itself whenever they can
(help, `assess ...`, usage errors), so a command costs one HTTP round trip and no Web API call;
work that needs the Web API (opening a modal, posting) runs after `ack()` in the same listener.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.services import Services
from bot.core.settings import SlackSettings
from bot.slack.errors import register_error_handler
from bot.slack.listeners import actions, commands, events, gdap, invitations, views

log = logging.getLogger(__name__)
ACK_DEADLINE = 2.0  # seconds; Slack gives up on an answer after 3


class DeadlineApp(AsyncApp):
    """AsyncApp whose answer to Slack never waits on work after `ack()` for more than
    `ack_deadline` seconds.

    With `process_before_response=True` the HTTP answer goes out when the listener returns, so
    work after `ack()` (creating an invitation after a modal is submitted, moving one after a
    click) is on the answer's path: with SQLite's write lock held elsewhere, such a write waited
    the busy timeout (5 s) and Slack, which waits 3 s, told the user it failed. Here a listener
    that has acknowledged and is still running at the deadline has its acknowledgement sent;
    the rest of it carries on (`background`, so that shutdown waits for it) and its write
    happens when the lock is free. Listeners that finish in time (nearly all) answer exactly
    as before, in one round trip."""

    def __init__(self, *, services: Services, ack_deadline: float = ACK_DEADLINE, **kw: Any):
        super().__init__(**kw)
        self.services = services
        self.ack_deadline = ack_deadline

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        loop = asyncio.get_running_loop()
        task = loop.create_task(super().async_dispatch(req))
        waiter: asyncio.Future[None] = loop.create_future()

        def wake(_: object = None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        task.add_done_callback(wake)
        timer = loop.call_later(self.ack_deadline, wake)
        try:
            await waiter
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        ack = req.context.get("ack")
        acked: BoltResponse | None = ack.response if ack is not None else None
        if acked is None:  # not acknowledged yet: nothing to answer with but the listener's own
            return await task
        log.warning(
            "a listener still runs %.1f s after its acknowledgement (waiting for the "
            "database?): acknowledged now, the rest continues",
            self.ack_deadline,
        )
        self.services.spawn(_finish(task), what="the rest of a slow listener")
        return acked


async def _finish(task: asyncio.Task[BoltResponse]) -> None:
    await task


def build_app(settings: SlackSettings, services: Services) -> AsyncApp:
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=10,
    )
    app = DeadlineApp(
        services=services,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=client,
        process_before_response=True,
        # Signatures are checked before Bolt sees a request, in one place
        # (bot/http/slack_request.py, used by bot/http/asgi.py's SlackEvents); Socket Mode
        # needs none (its connection is authenticated with the app-level token).
        request_verification_enabled=False,
        logger=logging.getLogger("bot.bolt"),
    )
    register_error_handler(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
    invitations.register(app, services)
    gdap.register(app, services)
    return app
