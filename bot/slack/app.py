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
from bot.core.ui.render import render_text
from bot.slack.errors import register_error_handler
from bot.slack.listeners import (
    actions,
    commands,
    events,
    gdap,
    invitations,
    onboarding,
    org_admin,
    partner_center,
    views,
)

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


def _resumer(services: Services) -> Any:
    """After a (re)install: queue again that workspace's notifications parked when the app
    was uninstalled from it."""
    from bot.core.outbox.queue import resume_workspace
    from bot.core.store.clock import utc_now

    async def resume(team_id: str) -> int:
        count = await services.run(
            lambda session: resume_workspace(session, team_id, now=utc_now())
        )
        if count:
            services.outbox_wakeup.set()
        return count

    return resume


class _NotOurToken(logging.Filter):
    """Drops Bolt's warning that `token` is unused because `client` was given: Bolt reads
    SLACK_BOT_TOKEN from the environment itself, and our client already carries that token,
    so the warning at every start would only alarm the operator."""

    def __init__(self) -> None:
        super().__init__()
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

        self.text = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.text


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("bot.bolt")
    if not any(isinstance(f, _NotOurToken) for f in logger.filters):
        logger.addFilter(_NotOurToken())
    return logger


def build_app(settings: SlackSettings, services: Services) -> AsyncApp:
    """The Bolt app, in the mode the settings choose (bot/core/settings.py): one workspace's
    token, or Bolt's OAuth flow and installation store (bot/slack/oauth.py). Sets
    `services.tokens`, which deferred work uses to speak to each workspace with its own token."""
    from bot.core.installations import LockedTokenRotator, RefreshLock, Tokens
    from bot.core.redact import install_token_redaction

    install_token_redaction()
    distributed = settings.distributed
    token = None if distributed else settings.slack_bot_token
    client = AsyncWebClient(
        token=token.get_secret_value() if token is not None else None,
        base_url=settings.slack_api_url,
        timeout=10,
    )
    options: dict[str, Any] = {}
    if distributed:
        from bot.slack.oauth import installations_for, oauth_flow

        engine = services.sessions.kw["bind"]
        installations = installations_for(settings, engine)
        # Bolt's own text ("please reinstall this app", English only) replaced by ours, in
        # both languages: the person's language is not known before authorization.
        options["user_facing_authorize_error_message"] = "\n".join(
            render_text("text/not_installed.txt.j2", lang=lang).strip() for lang in ("en", "es")
        )
        assert settings.slack_client_id and settings.slack_client_secret
        rotator = LockedTokenRotator(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            client=client,
            installations=installations,
            lock=RefreshLock(engine),
        )
        options["oauth_flow"] = oauth_flow(
            settings, engine, client, installations, rotator, on_installed=_resumer(services)
        )
        services.tokens = Tokens(installations=installations, rotator=rotator)
    else:
        assert token is not None, "SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
        services.tokens = Tokens(token=token.get_secret_value())
    app = DeadlineApp(
        services=services,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=client,
        process_before_response=True,
        # Signatures are checked before Bolt sees a request, in one place
        # (bot/http/slack_request.py, used by bot/http/asgi.py's SlackEvents); Socket Mode
        # needs none (its connection is authenticated with the app-level token).
        request_verification_enabled=False,
        logger=_bolt_logger(),
        **options,
    )
    register_error_handler(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
    invitations.register(app, services)
    gdap.register(app, services)
    onboarding.register(app, services)
    org_admin.register(app, services)
    partner_center.register(app, services)
    return app
