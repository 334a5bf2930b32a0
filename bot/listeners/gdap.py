"""After a customer accepts: "Request delegated admin for <reseller>" (GDAP), and the select
that links an acceptance Partner Center reported to one of the partner's invitations."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import surfaces
from bot.listeners.invitations import USER_ERRORS, problem_notice
from bot.metadata import InvitationButton, MetadataError, load
from bot.outbox.actions import LinkChoice, link_acceptance, request_delegated_admin
from bot.services import Services


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
        lang = await services.language.for_user(client, body["user"]["id"], _team(body))
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
                team_id=_team(body),
                user_id=body["user"]["id"],
            )
        except USER_ERRORS as exc:
            await respond(**problem_notice(exc, lang))
            return
        view = result.view
        reseller = view.reseller.name if view.reseller else ""
        if not result.requested:
            notice = surfaces.notice_message(
                "gdap_instructions",
                lang=lang,
                reseller=reseller,
                customer=view.customer_name,
                tenant=view.customer_tenant_id or "",
                ref=view.ref,
            )
        else:
            notice = surfaces.notice_message(
                "gdap_requested", lang=lang, reseller=reseller, ref=view.ref
            )
        await respond(**notice)

    @app.action("link_acceptance")
    async def link(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        lang = await services.language.for_user(client, body["user"]["id"], _team(body))
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
                team_id=_team(body),
                user_id=body["user"]["id"],
                channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
                message_ts=(body.get("message") or {}).get("ts") or container.get("message_ts"),
            )
        except USER_ERRORS as exc:
            await respond(**problem_notice(exc, lang))


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")
