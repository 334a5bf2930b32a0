"""The Slack app: one factory builds it from settings and services.

Stack (measured with bench/ack.py, see docs/architecture.md): Bolt's AsyncApp with
`process_before_response=True`. Listeners answer in the acknowledgement itself whenever they can
(help, `assess ...`, usage errors), so a command costs one HTTP round trip and no Web API call;
work that needs the Web API (opening a modal, posting) runs after `ack()` in the same listener.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.services import Services
from bot.core.settings import SlackSettings
from bot.slack.errors import register_error_handler
from bot.slack.listeners import actions, commands, events, gdap, invitations, views

log = logging.getLogger(__name__)


def build_app(settings: SlackSettings, services: Services) -> AsyncApp:
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=10,
    )
    app = AsyncApp(
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
