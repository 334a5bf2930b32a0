"""Invitations: `/multichannel invite|status|admin`, their modals, and the buttons on
invitation messages."""

from __future__ import annotations

from typing import Any, Literal

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import invitations
from bot.core.delivery import reply, tell_user
from bot.core.invitations import InvitationProblem
from bot.core.modals import AlreadySubmitted, acting_once, open_modal, recall
from bot.core.partner_center.errors import PartnerCenterError
from bot.core.services import Services
from bot.core.store.errors import ConflictError, NotAllowedError, NotFoundError, TransitionError
from bot.core.ui import surfaces
from bot.core.ui.commands import AdminCommand, InviteCommand, StatusCommand
from bot.core.ui.forms import FormErrors, InviteForm, read_invite_form
from bot.core.ui.metadata import InvitationButton, InviteContext, MetadataError, load
from bot.slack.listeners import user_and_team
from policy import Role

BUTTON_ACTIONS: dict[str, invitations.Action] = {
    "inv_fulfil": "fulfil",
    "inv_decline": "decline",
    "inv_send_reseller": "send_to_reseller",
    "inv_sent_customer": "sent_to_customer",
    "inv_cancel": "cancel",
}


def problem_notice(exc: Exception, lang: str) -> dict[str, Any]:
    """The notice for an error a user can understand (raised by the invitations service)."""
    if isinstance(exc, InvitationProblem):
        return surfaces.notice_message(exc.code, lang=lang, **exc.params)
    if isinstance(exc, AlreadySubmitted):
        return surfaces.notice_message("already_submitted", lang=lang)
    if isinstance(exc, ConflictError):
        return surfaces.notice_message("conflict", lang=lang, state=exc.current_state)
    if isinstance(exc, TransitionError):
        return surfaces.notice_message("invalid_transition", lang=lang, state=exc.old)
    if isinstance(exc, NotAllowedError):
        return surfaces.notice_message("not_allowed", lang=lang)
    if isinstance(exc, NotFoundError):
        return surfaces.notice_message("not_found", lang=lang)
    if isinstance(exc, PartnerCenterError):
        return surfaces.notice_message("partner_center_error", lang=lang, reason=str(exc))
    raise exc


USER_ERRORS = (
    AlreadySubmitted,
    InvitationProblem,
    ConflictError,
    TransitionError,
    NotAllowedError,
    NotFoundError,
    PartnerCenterError,
)


async def open_invite_flow(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str | None,
    user_id: str,
    trigger_id: str,
    context: InviteContext,
    lang: str,
) -> dict[str, Any] | None:
    """Open the right modal for the requester's role; returns a message instead when there is
    nothing to open (unknown workspace, or a reseller, who gets the policy's refusal)."""
    who = await invitations.whoami(services, team_id)
    if who is None:
        return surfaces.notice_message("not_in_directory", lang=lang, team=team_id or "?")
    edition = (await services.editions.for_team(team_id)).name
    if who.org.role is Role.indirect_reseller:
        return surfaces.reseller_refusal(
            context=context, providers=who.providers, lang=lang, edition=edition
        )
    await open_modal(
        services,
        client,
        trigger_id=trigger_id,
        view=surfaces.invite_modal(
            context=context,
            resellers=who.resellers,
            customer=context.customer,
            lang=lang,
            edition=edition,
        ),
        team_id=team_id or "",
        user_id=user_id,
    )
    return None


async def handle_command(
    services: Services,
    client: AsyncWebClient,
    command: InviteCommand | StatusCommand | AdminCommand,
    payload: dict[str, Any],
    lang: str,
) -> dict[str, Any] | None:
    """The message to acknowledge with (None: acknowledged empty, a modal was opened)."""
    team_id, user_id = payload.get("team_id") or "", payload["user_id"]
    try:
        if isinstance(command, InviteCommand):
            return await open_invite_flow(
                services,
                client,
                team_id=team_id,
                user_id=user_id,
                trigger_id=payload["trigger_id"],
                context=InviteContext(
                    customer=command.customer, channel_id=payload.get("channel_id")
                ),
                lang=lang,
            )
        if isinstance(command, StatusCommand):
            org, views = await invitations.status(services, team_id, command.customer)
            return surfaces.status_message(
                org=org, views=views, customer=command.customer, lang=lang
            )
        overview = await invitations.admin_overview(services, team_id, user_id)
        return surfaces.admin_message(lang=lang, **overview)
    except USER_ERRORS as exc:
        return problem_notice(exc, lang)


def register(app: AsyncApp, services: Services) -> None:
    # -- entry points from a decision ----------------------------------------------------
    @app.action("create_invitation")
    @app.action("ask_provider_for_invitation")
    async def start_invitation(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        await ack()
        team_id = _team(body)
        lang = await services.language.for_user(client, body["user"]["id"], team_id)
        try:
            context = load(InviteContext, action.get("value"))
        except MetadataError:
            await reply(client, body, surfaces.notice_message("stale_button", lang=lang))
            return
        context = context.model_copy(update={"channel_id": (body.get("channel") or {}).get("id")})
        if action["action_id"] == "ask_provider_for_invitation":
            who = await invitations.whoami(services, team_id)
            if who is None:
                await reply(
                    client,
                    body,
                    surfaces.notice_message("not_in_directory", lang=lang, team=team_id),
                )
                return
            if not who.providers:  # not a reseller (any more): the button is out of date
                await reply(client, body, surfaces.notice_message("stale_button", lang=lang))
                return
            await open_modal(
                services,
                client,
                trigger_id=body["trigger_id"],
                view=surfaces.request_modal(
                    context=context,
                    providers=who.providers,
                    customer=context.customer,
                    lang=lang,
                    edition=(await services.editions.for_team(team_id)).name,
                ),
                team_id=team_id,
                user_id=body["user"]["id"],
            )
            return
        message = await open_invite_flow(
            services,
            client,
            team_id=team_id,
            user_id=body["user"]["id"],
            trigger_id=body["trigger_id"],
            context=context,
            lang=lang,
        )
        if message is not None:
            await reply(client, body, {**message, "replace_original": False})

    # -- the modals ------------------------------------------------------------------------
    @app.view("invite_modal")
    async def invite_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        sub = await _read_submission(services, ack, body, view, client, "reseller")
        if sub is None:
            return
        form, user_id, team_id, lang, context = sub
        try:
            async with acting_once(services, view, undo_on=USER_ERRORS):
                created = await invitations.create(
                    services,
                    client,
                    team_id=team_id,
                    user_id=user_id,
                    customer=form.customer,
                    customer_domain=form.customer_domain,
                    customer_tenant_id=form.customer_tenant_id,
                    reseller_key=form.reseller_key,
                    delegated_admin=form.delegated_admin,
                    decision_id=context.decision_id,
                    origin_channel=context.channel_id,
                )
        except USER_ERRORS as exc:
            await tell_user(
                client, problem_notice(exc, lang), user=user_id, channel=context.channel_id
            )
            return
        if created.locations and created.locations[0].channel != context.channel_id:
            where = f"<#{created.locations[0].channel}>"
            await tell_user(
                client,
                surfaces.notice_message(
                    "invitation_created", lang=lang, ref=created.ref, where=where
                ),
                user=user_id,
                channel=context.channel_id,
            )

    @app.view("request_modal")
    async def request_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        sub = await _read_submission(services, ack, body, view, client, "provider")
        if sub is None:
            return
        form, user_id, team_id, lang, context = sub
        try:
            assert form.provider_key is not None
            async with acting_once(services, view, undo_on=USER_ERRORS):
                requested = await invitations.request(
                    services,
                    client,
                    team_id=team_id,
                    user_id=user_id,
                    provider_key=form.provider_key,
                    customer=form.customer,
                    customer_domain=form.customer_domain,
                    delegated_admin=form.delegated_admin,
                    decision_id=context.decision_id,
                    origin_channel=context.channel_id,
                )
        except USER_ERRORS as exc:
            await tell_user(
                client, problem_notice(exc, lang), user=user_id, channel=context.channel_id
            )
            return
        await tell_user(
            client,
            surfaces.notice_message(
                "request_sent", lang=lang, ref=requested.ref, provider=requested.provider.name
            ),
            user=user_id,
            channel=context.channel_id,
        )

    # -- buttons on an invitation message -------------------------------------------------
    async def on_invitation_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
    ) -> None:
        await ack()
        lang = await services.language.for_user(client, body["user"]["id"], _team(body))
        try:
            button = load(InvitationButton, action.get("value"))
        except MetadataError:
            await reply(client, body, surfaces.notice_message("stale_button", lang=lang))
            return
        try:
            await invitations.act(
                services,
                client,
                action=BUTTON_ACTIONS[action["action_id"]],
                invitation_id=button.i,
                version=button.v,
                team_id=_team(body),
                user_id=body["user"]["id"],
            )
        except USER_ERRORS as exc:
            await reply(client, body, problem_notice(exc, lang))

    for action_id in BUTTON_ACTIONS:
        app.action(action_id)(on_invitation_button)


async def _read_submission(
    services: Services,
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    key_block: Literal["reseller", "provider"],
) -> tuple[InviteForm, str, str, str, InviteContext] | None:
    """Read the invite or request modal: acknowledge with errors on the blocks (None), or
    acknowledge and return (form, user, team, language, context)."""
    user_id, team_id = user_and_team(body)
    lang = await services.language.for_user(client, user_id, team_id)
    who = await invitations.whoami(services, team_id)
    choices = (who.resellers if key_block == "reseller" else who.providers) if who else []
    try:
        form = read_invite_form(
            view["state"]["values"], allowed_keys={o.key for o in choices}, key_block=key_block
        )
    except FormErrors as invalid:
        await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
        return None
    await ack()
    context = await _context(services, view, team_id=team_id, user_id=user_id)
    return form, user_id, team_id, lang, context


def _team(body: dict[str, Any]) -> str:
    return user_and_team(body)[1]


async def _context(
    services: Services, view: dict[str, Any], *, team_id: str, user_id: str
) -> InviteContext:
    """What the server stored when it opened the modal (never the submitted metadata)."""
    try:
        return load(InviteContext, await recall(services, view, team_id=team_id, user_id=user_id))
    except MetadataError:
        return InviteContext()
