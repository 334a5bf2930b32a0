"""A directory admin manages its organization from the Home tab (bot/core/org_admin.py): its
details, its workspaces (remove one; a workspace code for another, redeemed from that
workspace), and for a reseller its providers (join another with a join code, leave one,
bot/core/joining.py). Permission is checked server-side on every click and submission."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.channels import external_team
from bot.core.delivery import tell_user
from bot.core.home import publish_home
from bot.core.joining import (
    JoinRefused,
    join_provider,
    leave_provider,
    reseller_admin_org,
)
from bot.core.modals import open_modal
from bot.core.onboarding import setup_access
from bot.core.org_admin import (
    AdminRefused,
    DetailsRefused,
    add_shared_reseller,
    admin_org,
    create_workspace_code,
    current_details,
    link_workspace,
    remove_workspace,
    save_details,
)
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.forms import (
    FormErrors,
    read_code_form,
    read_org_details_form,
    read_shared_reseller_form,
)
from bot.slack.listeners import actor

#: refusals of a typed code, shown on the modal's input
_CODE_ERRORS = {
    "join_code_unknown",
    "join_code_used",
    "join_code_expired",
    "join_already_linked",
    "join_already_pending",
}


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return (view.get("state") or {}).get("values") or {}


def _selected(action: dict[str, Any]) -> str:
    value = (action.get("selected_option") or {}).get("value")
    return value if isinstance(value, str) else ""


def register(app: AsyncApp, services: Services) -> None:
    async def tell(
        client: AsyncWebClient, user_id: str, code: str, lang: str, **params: Any
    ) -> None:
        await tell_user(client, surfaces.notice_message(code, lang=lang, **params), user=user_id)

    async def done(client: AsyncWebClient, user_id: str, team_id: str) -> None:
        services.forget_membership(team_id)
        services.outbox_wakeup.set()
        await publish_home(services, client, user_id, team_id, opened=False)

    # ------------------------------------------------------------------ details
    @app.action("open_org_details")
    async def open_details(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            details = await services.run(
                lambda s: current_details(s, team_id=team_id, user_id=user_id)
            )
        except AdminRefused as refused:
            await tell(client, user_id, refused.code, lang)
            return
        await open_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            view=surfaces.org_details_modal(details=details, lang=lang),
            team_id=team_id,
            user_id=user_id,
        )

    @app.view("org_details_modal")
    async def details_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            form = read_org_details_form(_values(view))
        except FormErrors as invalid:
            await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
            return
        try:
            name = await services.run(
                lambda s: save_details(
                    s, team_id=team_id, user_id=user_id, form=form, clock=services.clock
                )
            )
        except AdminRefused as refused:
            await ack()
            await tell(client, user_id, refused.code, lang)
            return
        except DetailsRefused as refused:
            await ack(**surfaces.modal_errors(refused.errors, lang=lang))
            return
        await ack()
        await tell(client, user_id, "org_details_saved", lang, org=name)
        await done(client, user_id, team_id)

    # -------------------------------------------------- a reseller in a shared channel
    @app.action("open_shared_reseller")
    async def open_shared(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            await services.run(lambda s: admin_org(s, team_id, user_id).id)
        except AdminRefused as refused:
            await tell(client, user_id, refused.code, lang)
            return
        await open_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            view=surfaces.shared_reseller_modal(lang=lang),
            team_id=team_id,
            user_id=user_id,
        )

    @app.view("shared_reseller_modal")
    async def shared_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            form = read_shared_reseller_form(_values(view))
        except FormErrors as invalid:
            await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
            return
        # the reseller's workspace is the channel's other one, as Slack says, never typed
        problem, reseller_team = await external_team(client, form.channel, team_id)
        if problem is not None or reseller_team is None:
            await ack(**surfaces.modal_errors({"org_channel": problem or ""}, lang=lang))
            return
        try:
            name = await services.run(
                lambda s: add_shared_reseller(
                    s,
                    team_id=team_id,
                    user_id=user_id,
                    form=form,
                    reseller_team=reseller_team,
                    cipher=services.cipher,
                    clock=services.clock,
                )
            )
        except AdminRefused as refused:
            await ack()
            await tell(client, user_id, refused.code, lang)
            return
        except DetailsRefused as refused:
            await ack(**surfaces.modal_errors(refused.errors, lang=lang))
            return
        await ack()
        services.forget_membership(reseller_team)
        await tell(client, user_id, "shared_reseller_added", lang, org=name, channel=form.channel)
        await done(client, user_id, team_id)

    # --------------------------------------------------------------- workspaces
    @app.action("org_remove_workspace")
    async def remove(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        gone = _selected(action)
        try:
            name = await services.run(
                lambda s: remove_workspace(
                    s, team_id=team_id, user_id=user_id, remove=gone, clock=services.clock
                )
            )
        except AdminRefused as refused:
            await tell(client, user_id, refused.code, lang)
            return
        services.forget_membership(gone)
        await tell(client, user_id, "workspace_removed", lang, team=gone, org=name)
        await done(client, user_id, team_id)

    @app.action("create_workspace_code")
    async def workspace_code(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        now = services.clock()
        try:
            new = await services.run(
                lambda s: create_workspace_code(s, team_id=team_id, user_id=user_id, now=now)
            )
        except AdminRefused as refused:
            await tell(client, user_id, refused.code, lang)
            return
        # shown once, in a modal: never in a message that stays in the conversation history
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=surfaces.join_code_modal(
                code=new.code,
                provider=new.provider,
                expires_at=new.expires_at,
                purpose="workspace",
                lang=lang,
            ),
        )

    @app.action("open_link_workspace")
    async def open_link(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        if not (await setup_access(services, client, team_id, user_id)).allowed:
            await tell(client, user_id, "setup_not_allowed", lang)
            return
        await open_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            view=surfaces.code_modal(purpose="workspace", lang=lang),
            team_id=team_id,
            user_id=user_id,
        )

    @app.view("link_workspace_modal")
    async def link_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            code = read_code_form(_values(view), "code")
        except FormErrors as invalid:
            await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
            return
        # redeemed FROM the workspace that joins, by one of its admins: never claimed by id
        if not (await setup_access(services, client, team_id, user_id)).allowed:
            await ack()
            await tell(client, user_id, "setup_not_allowed", lang)
            return
        try:
            name = await services.run(
                lambda s: link_workspace(
                    s, team_id=team_id, user_id=user_id, code=code, clock=services.clock
                )
            )
        except JoinRefused as refused:
            if refused.code in _CODE_ERRORS:
                await ack(**surfaces.modal_errors({"code": "workspace_code_unknown"}, lang=lang))
                return
            await ack()
            await tell(client, user_id, refused.code, lang)
            return
        await ack()
        await tell(client, user_id, "workspace_linked", lang, org=name)
        await done(client, user_id, team_id)

    # ---------------------------------------------------------------- providers
    @app.action("open_join_provider")
    async def open_join(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            await services.run(lambda s: reseller_admin_org(s, team_id, user_id).id)
        except JoinRefused as refused:
            await tell(client, user_id, refused.code, lang)
            return
        await open_modal(
            services,
            client,
            trigger_id=body["trigger_id"],
            view=surfaces.code_modal(purpose="provider", lang=lang),
            team_id=team_id,
            user_id=user_id,
        )

    @app.view("join_provider_modal")
    async def join_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            code = read_code_form(_values(view), "code")
        except FormErrors as invalid:
            await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
            return
        now = services.clock()
        try:
            provider = await services.run(
                lambda s: join_provider(s, team_id=team_id, user_id=user_id, code=code, now=now)
            )
        except JoinRefused as refused:
            if refused.code in _CODE_ERRORS:
                await ack(**surfaces.modal_errors({"code": refused.code}, lang=lang))
                return
            await ack()
            await tell(client, user_id, refused.code, lang)
            return
        await ack()
        await tell(client, user_id, "join_requested", lang, provider=provider)
        await done(client, user_id, team_id)

    @app.action("leave_provider")
    async def leave(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        key = _selected(action)
        now = services.clock()
        try:
            provider = await services.run(
                lambda s: leave_provider(
                    s, team_id=team_id, user_id=user_id, provider_key=key, now=now
                )
            )
        except JoinRefused as refused:
            await tell(client, user_id, refused.code, lang)
            return
        await tell(client, user_id, "provider_left", lang, provider=provider)
        await done(client, user_id, team_id)
