"""A directory admin manages its organization in Slack (the Home tab's Admin section and
modals): its details (name, role, tenant id, partner id), its Slack workspaces, its
notification channel and its admins.

Every change goes through `update_organization` (bot/core/store/directory.py), the function
behind `mcbot partners import`: the same validation, the same tables, the same audit trail
(`directory_events`, with the acting person). A role change that would misfile what exists
(invitations, reseller links, pending join requests) is refused there, with the reason.

Another Slack workspace joins the organization with a one-time workspace code (the join
codes of bot/core/joining.py, purpose "workspace"): an admin creates it here, and an admin
of the other workspace redeems it FROM that workspace (its Home tab), so that a workspace is
never claimed by typing its id. A notification channel is checked with the workspace's own
token before it is saved (bot/core/channels.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.joining import (
    WORKSPACE_CODE,
    JoinRefused,
    NewCode,
    code_owner,
    new_code,
    notice_blocks,
    to_admins,
    use_code,
)
from bot.core.onboarding import key_for
from bot.core.outbox.queue import enqueue
from bot.core.snapshots import org_views
from bot.core.store.clock import Clock, utc_now
from bot.core.store.directory import (
    import_directory,
    is_admin,
    org_for_team,
    providers_of,
    resellers_of,
    slack_actor,
    update_organization,
)
from bot.core.store.errors import DirectoryError
from bot.core.store.models import (
    SLACK_BOTS,
    Organization,
    OrganizationAdmin,
    OrganizationTeam,
)
from bot.core.store.secrets import TokenCipher
from bot.core.ui import surfaces
from bot.core.ui.forms import OrgDetailsForm, SharedResellerForm
from policy.facts import Role

log = logging.getLogger(__name__)
ADMINS_MAX = 20


class AdminRefused(Exception):
    """`code`: a notice code (not a directory admin of the organization)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class OrgSettings:
    name: str
    notification_channel: str | None
    admins: tuple[str, ...]


def admin_org(session: Session, team_id: str, user_id: str) -> Organization:
    """The organization `user_id` of `team_id` is a directory admin of; AdminRefused
    (`org_admins_only`) otherwise."""
    org = org_for_team(session, team_id)
    if org is None or not is_admin(session, org, user_id):
        raise AdminRefused("org_admins_only")
    return org


def current_settings(session: Session, *, team_id: str, user_id: str) -> OrgSettings:
    org = admin_org(session, team_id, user_id)
    admins = session.scalars(
        select(OrganizationAdmin.user_id)
        .where(OrganizationAdmin.org_id == org.id)
        .order_by(OrganizationAdmin.user_id)
        .limit(ADMINS_MAX)
    )
    return OrgSettings(org.name, org.notification_channel, tuple(admins))


def save_settings(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    channel: str | None,
    admins: tuple[str, ...],
    clock: Clock = utc_now,
) -> OrgSettings:
    """Replace the channel and the admins (checked again: the submitter must still be an
    admin). `admins` were validated by the form (ids of this workspace's people, 1 to
    ADMINS_MAX), the channel by bot/core/channels.py. AdminRefused `org_edit_refused` when the
    directory refuses the organization as it stands (a reseller no provider approved yet)."""
    org = admin_org(session, team_id, user_id)
    admins = tuple(sorted(set(admins)))
    _update(
        session,
        org,
        slack_actor(user_id, team_id),
        clock,
        notification_channel=channel,
        notification_channel_host=None,  # chosen and checked in its own workspace
        admins=list(admins),
    )
    return OrgSettings(org.name, channel, admins)


def _update(session: Session, org: Organization, actor: Any, clock: Clock, **changes: Any) -> None:
    try:
        update_organization(session, org, actor=actor, clock=clock, **changes)
    except DirectoryError as exc:
        raise DetailsRefused(_errors(exc)) from None


#: directory file field → the details modal's input block
_BLOCK_OF = {
    "name": "org_name",
    "role": "org_role",
    "tenant_id": "org_tenant",
    "partner_id": "org_partner_id",
    "providers": "org_role",
    # the shared-channel reseller modal's channel stands for its workspace and its host
    "slack_teams": "org_channel",
    "notification_channel": "org_channel",
    "notification_channel_host": "org_channel",
}


class DetailsRefused(Exception):
    """The directory refused the change: input block → error code."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def refused_notice(refused: DetailsRefused) -> str:
    """The notice code for a refusal shown outside the details modal (the channel and admins
    modal has none of its blocks)."""
    if "reseller_needs_provider" in refused.errors.values():
        return "org_needs_provider"
    return "org_edit_refused"


def _errors(exc: DirectoryError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for issue in exc.issues:
        block = _BLOCK_OF.get(issue.field.split(".")[0].split("[")[0], "org_name")
        errors.setdefault(block, issue.code)
    return errors


@dataclass(frozen=True)
class OrgDetails:
    name: str
    role: Role
    tenant_id: str
    partner_id: str | None


def current_details(session: Session, *, team_id: str, user_id: str) -> OrgDetails:
    org = admin_org(session, team_id, user_id)
    return OrgDetails(org.name, org.role, org.tenant_id, org.partner_id)


def save_details(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    form: OrgDetailsForm,
    clock: Clock = utc_now,
) -> str:
    """Change the organization's name, role, tenant id and partner id as an import of its
    entry would. Raises AdminRefused (not an admin) or DetailsRefused (nothing written)."""
    org = admin_org(session, team_id, user_id)
    _update(
        session,
        org,
        slack_actor(user_id, team_id),
        clock,
        name=form.name,
        role=form.role.value,
        tenant_id=form.tenant_id,
        partner_id=form.partner_id,
    )
    log.info("organization %s: details changed in Slack by %s of %s", org.key, user_id, team_id)
    return org.name


def add_shared_reseller(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    form: SharedResellerForm,
    reseller_team: str,
    cipher: TokenCipher | None = None,
    clock: Clock = utc_now,
) -> str:
    """An indirect provider's directory admin adds a reseller that never installs the app and
    is reached through a Slack Connect channel (docs/slack-app.md, "one shared channel per
    reseller"): the reseller's entry, its workspace `reseller_team` (the channel's other
    workspace, read from Slack by the caller, so its people's clicks there are credited to
    it), that channel as its notification channel, hosted by (reached with the token of) the
    provider's workspace `team_id`, and this provider as its provider: written and audited as
    an import of that entry. The provider approves by adding it. AdminRefused (not an admin;
    `shared_reseller_providers_only`) or DetailsRefused (nothing written)."""
    provider = admin_org(session, team_id, user_id)
    if provider.role is not Role.indirect_provider:
        raise AdminRefused("shared_reseller_providers_only")
    entry: dict[str, Any] = {
        "key": key_for(session, form.name),
        "name": form.name,
        "role": Role.indirect_reseller.value,
        "tenant_id": form.tenant_id,
        "partner_id": form.partner_id,
        "slack_teams": [reseller_team],
        "notification_channel": form.channel,
        "notification_channel_host": team_id,
        "providers": [provider.key],
    }
    try:
        import_directory(
            session,
            {"organizations": [entry]},
            cipher=cipher,
            clock=clock,
            actor=slack_actor(user_id, team_id),
        )
    except DirectoryError as exc:
        raise DetailsRefused(_errors(exc)) from None
    log.info(
        "organization %s: reseller %s added in a shared channel by %s", provider.key,
        entry["key"], user_id,
    )  # fmt: skip
    return form.name


@dataclass(frozen=True)
class AdminView:
    """What the Home tab's admin section lists: the organization's workspaces, a reseller's
    providers (key, name) and a provider's resellers (names)."""

    workspaces: tuple[str, ...]
    providers: tuple[tuple[str, str], ...] = ()
    resellers: tuple[str, ...] = ()
    # team id → the workspace's name, as its installation recorded it (distributed mode)
    names: dict[str, str] = field(default_factory=dict)


def admin_view(session: Session, org: Organization) -> AdminView:
    """Three statements at most; each list capped by Slack's Home tab size."""
    providers: tuple[tuple[str, str], ...] = ()
    resellers: tuple[str, ...] = ()
    if org.role is Role.indirect_reseller:
        providers = tuple((p.key, p.name) for p in providers_of(session, org)[:LIST_MAX])
    elif org.role is Role.indirect_provider:
        resellers = tuple(r.name for r in resellers_of(session, org)[:LIST_MAX])
    named = _named_workspaces(session, org)
    names = {team: name for team, name in named if name}
    return AdminView(tuple(team for team, _ in named), providers, resellers, names)


def _named_workspaces(session: Session, org: Organization) -> list[tuple[str, str | None]]:
    """The first LIST_MAX team ids of `org`, sorted, each with the name its latest Slack
    installation recorded (None: not installed, or single-workspace mode). One statement."""
    name = (
        select(SLACK_BOTS.c.team_name)
        .where(SLACK_BOTS.c.team_id == OrganizationTeam.team_id)
        .order_by(SLACK_BOTS.c.installed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(OrganizationTeam.team_id, name)
        .where(OrganizationTeam.org_id == org.id)
        .order_by(OrganizationTeam.team_id)
        .limit(LIST_MAX)
    )
    return [(team, team_name) for team, team_name in rows]


LIST_MAX = 10


def workspaces_of(session: Session, org: Organization) -> list[str]:
    """The Slack team ids of `org`, sorted."""
    return list(
        session.scalars(
            select(OrganizationTeam.team_id)
            .where(OrganizationTeam.org_id == org.id)
            .order_by(OrganizationTeam.team_id)
        )
    )


def remove_workspace(
    session: Session, *, team_id: str, user_id: str, remove: str, clock: Clock = utc_now
) -> str:
    """Unlink workspace `remove` from the organization of `team_id` (its admins only).
    Refused (AdminRefused) for a workspace not linked to it (`workspace_not_linked`) and for
    the workspace the admin acts from (`workspace_remove_own`: do it from another of the
    organization's workspaces, so nobody cuts off their own access by mistake)."""
    org = admin_org(session, team_id, user_id)
    teams = workspaces_of(session, org)
    if remove not in teams:
        raise AdminRefused("workspace_not_linked")
    if remove == team_id:
        raise AdminRefused("workspace_remove_own")
    try:
        update_organization(
            session,
            org,
            actor=slack_actor(user_id, team_id),
            clock=clock,
            slack_teams=[t for t in teams if t != remove],
        )
    except DirectoryError:
        raise AdminRefused("org_edit_refused") from None
    return org.name


def create_workspace_code(
    session: Session, *, team_id: str, user_id: str, now: datetime
) -> NewCode:
    """A one-time code for another Slack workspace to join the organization (its admins)."""
    org = admin_org(session, team_id, user_id)
    return new_code(session, org, purpose=WORKSPACE_CODE, user_id=user_id, now=now)


def link_workspace(
    session: Session, *, team_id: str, user_id: str, code: str, clock: Clock = utc_now
) -> str:
    """Workspace `team_id` (not in the directory yet) joins the organization whose workspace
    code this is; the caller checked that `user_id` is an admin of `team_id`. Raises
    JoinRefused (a modal error code; nothing written, the code not used)."""
    if org_for_team(session, team_id) is not None:
        raise JoinRefused("already_set_up")
    now = clock()
    row, org = code_owner(session, code, purpose=WORKSPACE_CODE, now=now)
    use_code(session, row, org_id=org.id, now=now)
    teams = workspaces_of(session, org)
    try:
        update_organization(
            session,
            org,
            actor=slack_actor(user_id, team_id),
            clock=clock,
            slack_teams=[*teams, team_id],
        )
    except DirectoryError:
        raise JoinRefused("org_edit_refused") from None
    # the organization's admins are told, in one of its workspaces that were there before
    lang = org_views(session, [org])[org.id].lang
    notice = surfaces.notice_message(
        "workspace_joined", lang=lang, team=team_id, org=org.name, user=user_id
    )
    base = f"ws{org.id}.{team_id}.{int(now.timestamp())}"
    team = teams[0] if teams else None
    enqueue(session, to_admins(session, org, team, notice_blocks(notice), base), now=now)
    log.info("workspace %s joined organization %s (%s)", team_id, org.key, user_id)
    return org.name


async def people_outside(client: AsyncWebClient, team_id: str, users: tuple[str, ...]) -> list[str]:
    """Which of `users` are not active people of workspace `team_id` (unknown to it, of another
    workspace, bots, deactivated). At most ADMINS_MAX `users.info` calls, made concurrently."""

    async def outside(user_id: str) -> bool:
        try:
            info = await client.users_info(user=user_id)
        except SlackApiError:
            return True
        user: dict[str, Any] = info.get("user") or {}
        return bool(
            user.get("team_id") not in (None, team_id) or user.get("is_bot") or user.get("deleted")
        )

    found = await asyncio.gather(*(outside(u) for u in users[:ADMINS_MAX]))
    return [u for u, out in zip(users, found, strict=False) if out]
