"""One error handler: an unexpected failure shows the user a short apology with an error
reference, logs the same reference with the traceback, and answers Slack with HTTP 200."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.core.delivery import DeliveryError, route_from_body, tell_user
from bot.core.services import Services
from bot.core.ui.i18n import DEFAULT_LANGUAGE
from bot.core.ui.surfaces import error_message
from bot.slack.listeners import user_and_team

log = logging.getLogger(__name__)


def new_reference() -> str:
    return "ERR-" + secrets.token_hex(4).upper()


async def _language(services: Services, client: AsyncWebClient, body: dict[str, Any]) -> str:
    """The user's language, or English if even that cannot be found out now."""
    user_id, team_id = user_and_team(body)
    try:
        return await services.language.for_user(client, user_id, team_id)
    except (SQLAlchemyError, SlackApiError, SlackClientError, OSError) as exc:
        log.warning("error handler: language unknown (%s), answering in English", exc)
        return DEFAULT_LANGUAGE


def register_error_handler(app: AsyncApp, services: Services) -> None:
    @app.error
    async def on_error(
        error: Exception, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> BoltResponse:
        reference = new_reference()
        log.error("unexpected error %s (%s)", reference, _where(body), exc_info=error)
        message = error_message(reference, lang=await _language(services, client, body))
        acked = context.ack.response if context.ack is not None else None
        if acked is None and body.get("command"):
            # Not acknowledged yet: the apology is the acknowledgement itself.
            return BoltResponse(
                status=200,
                body=json.dumps({k: message[k] for k in ("response_type", "text", "blocks")}),
                headers={"content-type": "application/json"},
            )
        try:
            await tell_user(client, message, **route_from_body(body))
        except (SlackApiError, SlackClientError, DeliveryError, OSError) as exc:
            log.warning("could not show error %s to the user: %s", reference, exc)
        if acked is not None:
            # Keep the answer the user already got in the acknowledgement.
            return BoltResponse(status=200, body=acked.body, headers=acked.headers)
        return BoltResponse(status=200, body="")


def _where(body: dict[str, Any]) -> str:
    kind = body.get("type") or ("command" if body.get("command") else "request")
    user, team = user_and_team(body)
    return f"{kind} from user {user} team {team}"
