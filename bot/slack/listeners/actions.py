"""Buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.modals import open_modal
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.metadata import AssessOrigin, DecisionRef, MetadataError, load
from bot.slack.listeners import user_and_team
from policy import EditionError, evaluate
from policy.compare import compare, other_edition


def register(app: AsyncApp, services: Services) -> None:
    @app.action("open_assess_modal")
    async def open_assess_modal(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(client, user_id, team_id)
        origin = AssessOrigin(
            channel_id=(body.get("channel") or {}).get("id"), response_url=body.get("response_url")
        )
        role = await services.role_for(team_id)
        await open_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            view=surfaces.assess_modal(origin=origin, role=role, lang=lang),
            team_id=team_id,
            user_id=user_id,
        )

    @app.action("share_decision")
    async def share_decision(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(client, user_id, team_id)
        try:
            ref = load(DecisionRef, action.get("value"))
            decision = evaluate(ref.facts, edition=ref.edition, decision_id=ref.decision_id)
        except (MetadataError, EditionError):
            await respond(**surfaces.notice_message("stale_button", lang=lang))
            return
        message = surfaces.decision_message(
            decision, customer=ref.customer, shared_by=user_id, lang=lang
        )
        await respond(**message, replace_original=False)

    @app.action("compare_editions")
    async def compare_editions(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        """ "What would the other edition say?": the same facts under the other edition, the
        difference rule by rule (policy/compare.py), privately to whoever clicked."""
        await ack()
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(client, user_id, team_id)
        try:
            ref = load(DecisionRef, action.get("value"))
            comparison = compare(
                ref.facts, ref.edition, other_edition(ref.edition), decision_id=ref.decision_id
            )
        except (MetadataError, EditionError):
            await respond(**surfaces.notice_message("stale_button", lang=lang))
            return
        await respond(**surfaces.compare_message(comparison, lang=lang))
