"""Onboarding in Slack (bot/core/onboarding.py): the Home tab's "Set up your organization"
button and its modal. Permission is checked on the click and again on the submission."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.delivery import tell_user
from bot.core.home import publish_home
from bot.core.installations import NotInstalled, workspace_client
from bot.core.modals import open_modal
from bot.core.onboarding import SetupRefused, set_up_organization, setup_access
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.forms import FormErrors, read_setup_form
from bot.slack.listeners import user_and_team


def register(app: AsyncApp, services: Services) -> None:
    async def own_client(client: AsyncWebClient, team_id: str) -> AsyncWebClient:
        """The client of the acting user's own workspace (Slack Connect: not the channel's)."""
        try:
            return await workspace_client(services.tokens, client, team_id)
        except NotInstalled:
            return client

    @app.action("open_setup_modal")
    async def open_setup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id = user_and_team(body)
        client = await own_client(client, team_id)
        lang = await services.language.for_user(client, user_id, team_id)
        if not (await setup_access(services, client, team_id, user_id)).allowed:
            await tell_user(
                client, surfaces.notice_message("setup_not_allowed", lang=lang), user=user_id
            )
            return
        await open_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            view=surfaces.setup_modal(lang=lang),
            team_id=team_id,
            user_id=user_id,
        )

    @app.view("setup_modal")
    async def setup_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id = user_and_team(body)
        client = await own_client(client, team_id)
        lang = await services.language.for_user(client, user_id, team_id)
        try:
            form = read_setup_form((view.get("state") or {}).get("values") or {})
        except FormErrors as invalid:
            await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
            return
        if not (await setup_access(services, client, team_id, user_id)).allowed:
            await ack()
            await tell_user(
                client, surfaces.notice_message("setup_not_allowed", lang=lang), user=user_id
            )
            return
        try:
            await services.run(
                lambda s: set_up_organization(
                    s, team_id=team_id, user_id=user_id, form=form, clock=services.clock
                )
            )
        except SetupRefused as refused:
            if refused.errors:
                await ack(**surfaces.modal_errors(refused.errors, lang=lang))
                return
            await ack()
            await tell_user(
                client, surfaces.notice_message(refused.code or "", lang=lang), user=user_id
            )
            return
        await ack()
        services.forget_membership(team_id)
        await tell_user(
            client,
            surfaces.notice_message("organization_set_up", lang=lang, org=form.name),
            user=user_id,
        )
        await publish_home(services, client, user_id, team_id, opened=False)
