"""After a customer accepts: the GDAP button of each party (bot/core/gdap.py: under 2026-11
"Request delegated admin (GDAP) for <itself>" for the provider and for the reseller; under
2017-03 "Request delegated admin for <reseller>" for the provider), done through Microsoft Graph
or, for an organization without it here, a modal where it records the relationship it created in
its own Partner Center; and the select that links an acceptance Partner Center reported to one
of the partner's invitations."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.delivery import tell_user
from bot.core.modals import acting_once, open_modal, recall
from bot.core.outbox.actions import (
    GdapRequest,
    link_acceptance,
    record_delegated_admin,
    request_delegated_admin,
)
from bot.core.partner_center.errors import InvalidRequest
from bot.core.partner_center.graph import approval_url
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.metadata import GdapContext, InvitationButton, LinkChoice, MetadataError, load
from bot.slack.listeners import user_and_team
from bot.slack.listeners.invitations import USER_ERRORS, problem_notice


def register(app: AsyncApp, services: Services) -> None:
    @app.action("inv_request_gdap")
    async def request_gdap(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(client, user_id, team_id)
        try:
            button = load(InvitationButton, action.get("value"))
        except MetadataError:
            await respond(**surfaces.notice_message("stale_button", lang=lang))
            return
        try:
            result = await request_delegated_admin(
                services,
                invitation_id=button.i,
                version=button.v,
                team_id=team_id,
                user_id=user_id,
            )
        except USER_ERRORS as exc:
            await respond(**problem_notice(exc, lang))
            return
        view = result.view
        if not result.requested:  # no Graph for it: it creates it, then records its id
            context = GdapContext(
                i=view.id,
                v=view.version,
                channel_id=(body.get("channel") or {}).get("id"),
                k=result.kind.value,
            )
            modal = surfaces.gdap_modal(
                view=view, context=context, by=result.by, holder=result.holder, lang=lang
            )
            await open_modal(
                services,
                client,
                trigger_id=body["trigger_id"],
                view=modal,
                team_id=team_id,
                user_id=user_id,
            )
            return
        await respond(**_requested_notice(result, lang))

    @app.view("gdap_modal")
    async def gdap_recorded(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(client, user_id, team_id)
        try:
            context = load(
                GdapContext, await recall(services, view, team_id=team_id, user_id=user_id)
            )
        except MetadataError:
            await ack(**surfaces.modal_errors({"relationship": "unknown_value"}, lang=lang))
            return
        values = (view.get("state") or {}).get("values") or {}
        typed = ((values.get("relationship") or {}).get("relationship") or {}).get("value") or ""
        try:
            approval_url(typed.strip())
        except InvalidRequest:
            await ack(**surfaces.modal_errors({"relationship": "bad_relationship"}, lang=lang))
            return
        await ack()
        try:
            async with acting_once(services, view, undo_on=USER_ERRORS):
                result = await record_delegated_admin(
                    services,
                    invitation_id=context.i,
                    version=context.v,
                    team_id=team_id,
                    user_id=user_id,
                    relationship_id=typed,
                    kind=context.k,
                )
        except USER_ERRORS as exc:
            await tell_user(
                client, problem_notice(exc, lang), user=user_id, channel=context.channel_id
            )
            return
        await tell_user(
            client, _requested_notice(result, lang), user=user_id, channel=context.channel_id
        )

    @app.action("link_acceptance")
    async def link(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(client, user_id, team_id)
        value = (action.get("selected_option") or {}).get("value")
        try:
            choice = load(LinkChoice, value)
        except MetadataError:
            await respond(**surfaces.notice_message("link_stale", lang=lang))
            return
        container = body.get("container") or {}
        try:
            await link_acceptance(
                services,
                choice,
                team_id=team_id,
                user_id=user_id,
                channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
                message_ts=(body.get("message") or {}).get("ts") or container.get("message_ts"),
            )
        except USER_ERRORS as exc:
            await respond(**problem_notice(exc, lang))


def _requested_notice(result: GdapRequest, lang: str) -> dict[str, Any]:
    """Who requested what for whom, and the link the customer's admin must open."""
    code = "gdap_asked_for_reseller" if result.kind.value == "for_reseller" else "gdap_requested"
    return surfaces.notice_message(
        code,
        lang=lang,
        by=result.by,
        holder=result.holder,
        ref=result.view.ref,
        url=result.approval_url or "",
    )
