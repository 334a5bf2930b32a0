"""Onboarding in Slack: the Home tab's "Set up your organization" button and modal
(bot/core/onboarding.py), a provider's join codes and the Approve / Decline buttons of a
reseller's request (bot/core/joining.py), and a directory admin's "Notification channel and
admins" modal (bot/core/org_admin.py). Permission is checked on the click and again on the
submission, server-side."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.channels import channel_problem
from bot.core.delivery import tell_user
from bot.core.home import publish_home
from bot.core.joining import JoinRefused, create_code, decide
from bot.core.modals import open_modal
from bot.core.onboarding import SetupRefused, set_up_organization, setup_access
from bot.core.org_admin import (
    AdminRefused,
    DetailsRefused,
    admin_org,
    current_settings,
    people_outside,
    refused_notice,
    save_settings,
)
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.forms import FormErrors, read_org_settings_form, read_setup_form
from bot.core.ui.metadata import JoinButton, MetadataError, load
from bot.slack.listeners import actor, own_client, user_and_team


def register(app: AsyncApp, services: Services) -> None:
    @app.action("open_setup_modal")
    async def open_setup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
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
        user_id, team_id, client, lang = await actor(services, body, client)
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
        if form.notification_channel and (
            problem := await channel_problem(client, form.notification_channel)
        ):
            await ack(**surfaces.modal_errors({"org_channel": problem}, lang=lang))
            return
        try:
            done = await services.run(
                lambda s: set_up_organization(
                    s,
                    team_id=team_id,
                    user_id=user_id,
                    form=form,
                    cipher=services.cipher,
                    clock=services.clock,
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
        services.outbox_wakeup.set()  # a reseller's request for its provider's approval
        if done.waiting_for is not None:
            notice = surfaces.notice_message(
                "organization_set_up_pending", lang=lang, org=done.org, provider=done.waiting_for
            )
        else:
            notice = surfaces.notice_message("organization_set_up", lang=lang, org=done.org)
        await tell_user(client, notice, user=user_id)
        await publish_home(services, client, user_id, team_id, opened=False)

    @app.action("create_join_code")
    async def create_join_code(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        now = services.clock()
        try:
            new = await services.run(
                lambda s: create_code(s, team_id=team_id, user_id=user_id, now=now)
            )
        except JoinRefused as refused:
            await tell_user(client, surfaces.notice_message(refused.code, lang=lang), user=user_id)
            return
        # shown once, in a modal: never in a message that stays in the conversation history
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=surfaces.join_code_modal(
                code=new.code, provider=new.provider, expires_at=new.expires_at, lang=lang
            ),
        )

    async def join_decision(
        approve: bool,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(
            await own_client(services, client, team_id), user_id, team_id
        )
        try:
            button = load(JoinButton, action.get("value"))
        except MetadataError:
            await respond(**surfaces.notice_message("join_stale", lang=lang))
            return
        now = services.clock()
        try:
            decided = await services.run(
                lambda s: decide(
                    s,
                    request_id=button.r,
                    version=button.v,
                    approve=approve,
                    team_id=team_id,
                    user_id=user_id,
                    now=now,
                )
            )
        except JoinRefused as refused:
            await respond(**surfaces.notice_message(refused.code, lang=lang))
            return
        services.forget_membership(team_id)
        services.outbox_wakeup.set()
        await respond(replace_original=True, **decided.message)

    @app.action("join_approve")
    async def join_approve(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        await join_decision(True, body, action, respond, client)

    @app.action("join_decline")
    async def join_decline(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        await join_decision(False, body, action, respond, client)

    @app.action("open_org_settings")
    async def open_org_settings(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            current = await services.run(
                lambda s: current_settings(s, team_id=team_id, user_id=user_id)
            )
        except AdminRefused as refused:
            await tell_user(client, surfaces.notice_message(refused.code, lang=lang), user=user_id)
            return
        await open_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            view=surfaces.org_settings_modal(settings=current, lang=lang),
            team_id=team_id,
            user_id=user_id,
        )

    @app.view("org_settings_modal")
    async def org_settings_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            form = read_org_settings_form((view.get("state") or {}).get("values") or {})
        except FormErrors as invalid:
            await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
            return
        try:  # an admin, before any call about the people chosen
            await services.run(lambda s: admin_org(s, team_id, user_id).id)
        except AdminRefused as refused:
            await ack()
            await tell_user(client, surfaces.notice_message(refused.code, lang=lang), user=user_id)
            return
        errors = {}
        if await people_outside(client, team_id, form.admins):
            errors["org_admins"] = "admin_not_in_workspace"
        if form.notification_channel and (
            problem := await channel_problem(client, form.notification_channel)
        ):
            errors["org_channel"] = problem
        if errors:
            await ack(**surfaces.modal_errors(errors, lang=lang))
            return
        await ack()
        try:
            saved = await services.run(
                lambda s: save_settings(
                    s,
                    team_id=team_id,
                    user_id=user_id,
                    channel=form.notification_channel,
                    admins=form.admins,
                    clock=services.clock,
                )
            )
        except AdminRefused as refused:
            await tell_user(client, surfaces.notice_message(refused.code, lang=lang), user=user_id)
            return
        except DetailsRefused as refused:
            code = refused_notice(refused)
            await tell_user(client, surfaces.notice_message(code, lang=lang), user=user_id)
            return
        notice = surfaces.notice_message("org_settings_saved", lang=lang, org=saved.name)
        await tell_user(client, notice, user=user_id)
        await publish_home(services, client, user_id, team_id, opened=False)
