"""Onboarding in Slack: a workspace that installed the app and is not in the partner directory
declares its organization from its Home tab ("Set up your organization").

Who may: the person who installed the app in that workspace (the installation store records
the installing user) or a Slack admin or owner of that workspace (`users.info`). The
organization is written by `import_directory`, the function behind `mcbot partners import`:
the same validation (tenant and workspace not already taken, the reseller rules), the same
tables (organizations, organization_teams, organization_admins), with the workspace as its
only Slack team and the person who set it up as its first admin, and the same audit trail
(`directory_events`, with the person who set it up as the actor).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.core.joining import JoinRefused, provider_for_code, redeem, request_effects
from bot.core.outbox.queue import enqueue
from bot.core.services import Services
from bot.core.store.clock import Clock, utc_now
from bot.core.store.directory import import_directory, org_for_team, slack_actor
from bot.core.store.errors import DirectoryError
from bot.core.store.models import Organization, ResellerProvider
from bot.core.store.secrets import TokenCipher
from bot.core.ui.forms import SetupForm
from policy.facts import Role

log = logging.getLogger(__name__)

#: directory file field → the modal's input block
_BLOCK_OF = {
    "name": "org_name",
    "role": "org_role",
    "tenant_id": "org_tenant",
    "partner_id": "org_partner_id",
    "notification_channel": "org_channel",
}


@dataclass(frozen=True)
class SetupAccess:
    """Whether this user may set up the workspace's organization, and who installed the app
    there (None when unknown: single-workspace mode, or an installation without a user)."""

    allowed: bool
    installer: str | None


class SetupRefused(Exception):
    """The organization could not be written. `errors`: input block → error code (shown on
    the modal); `code`: a notice code when the problem is not one field's."""

    def __init__(self, *, errors: dict[str, str] | None = None, code: str | None = None) -> None:
        super().__init__(code or str(errors))
        self.errors = errors or {}
        self.code = code


async def installer_of(services: Services, client: AsyncWebClient, team_id: str) -> str | None:
    """The Slack user who installed the app in `team_id` (distributed mode), else None.

    Enterprise Grid: slack_sdk's store finds an installation by (enterprise, team), and a
    workspace of a Grid organization was saved with its enterprise id. Only when nothing is
    found without one is `auth.test` asked (with the workspace's own token) which enterprise
    the workspace belongs to: no extra call for a workspace outside Grid."""
    tokens = services.tokens
    if tokens is None or tokens.installations is None:
        return None
    store = tokens.installations
    found = await store.async_find_installation(enterprise_id=None, team_id=team_id)
    if found is None:
        try:
            enterprise = (await client.auth_test()).get("enterprise_id")
        except SlackApiError as exc:
            log.info("auth.test for a set-up check failed: %s", exc.response.get("error"))
            enterprise = None
        if isinstance(enterprise, str) and enterprise:
            found = await store.async_find_installation(enterprise_id=enterprise, team_id=team_id)
    return found.user_id if found is not None else None


async def setup_access(
    services: Services, client: AsyncWebClient, team_id: str, user_id: str
) -> SetupAccess:
    """May `user_id` set up the organization of workspace `team_id`? `client` speaks for
    that workspace (the one Bolt authorized for the request). A Slack admin or owner of the
    workspace may; in Enterprise Grid, also an admin or owner of the Grid organization who
    belongs to this workspace (`enterprise_user`: its `team_id` may name another workspace
    of the organization)."""
    installer = await installer_of(services, client, team_id)
    if installer is not None and installer == user_id:
        return SetupAccess(True, installer)
    try:
        info = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.info("users.info for a set-up check failed: %s", exc.response.get("error"))
        return SetupAccess(False, installer)
    user: dict[str, Any] = info.get("user") or {}
    grid: dict[str, Any] = user.get("enterprise_user") or {}
    own_team = user.get("team_id") in (None, team_id) or team_id in (grid.get("teams") or [])
    admin = any(
        bool(who.get(flag))
        for who in (user, grid)
        for flag in ("is_admin", "is_owner", "is_primary_owner")
    )
    return SetupAccess(own_team and admin, installer)


def key_for(session: Session, name: str) -> str:
    """A new organization key from its name ("Fabrikam, Inc." → "fabrikam-inc"), made unique
    with a number when taken; the directory's key rule: 1-40 lowercase letters, digits and
    inner hyphens."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:34].strip("-") or "org"
    taken = set(session.scalars(select(Organization.key).where(Organization.key.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


@dataclass(frozen=True)
class SetUp:
    org: str  # its name
    waiting_for: str | None  # a reseller: the provider whose approval it waits for


def set_up_organization(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    form: SetupForm,
    cipher: TokenCipher | None = None,
    clock: Clock = utc_now,
) -> SetUp:
    """Write the organization of workspace `team_id` as `mcbot partners import` would, with
    `user_id` as its first admin (its webhook URL token sealed with `cipher`). An indirect
    reseller names its provider with a join code (bot/core/joining.py): validated as an import
    naming that provider, the link itself waits for the provider's approval (a pending join
    request, its Approve/Decline message queued). Raises SetupRefused (nothing written, the
    code not used)."""
    if org_for_team(session, team_id) is not None:
        raise SetupRefused(code="already_set_up")
    now = clock()
    key = key_for(session, form.name)
    entry: dict[str, Any] = {
        "key": key,
        "name": form.name,
        "role": form.role.value,
        "tenant_id": form.tenant_id,
        "slack_teams": [team_id],
        "admins": [user_id],
    }
    if form.partner_id is not None:
        entry["partner_id"] = form.partner_id
    if form.notification_channel is not None:
        entry["notification_channel"] = form.notification_channel
    code = provider = None
    if form.role is Role.indirect_reseller:
        try:
            code, provider = provider_for_code(session, form.join_code or "", now=now)
        except JoinRefused as refused:
            raise SetupRefused(errors={"org_join_code": refused.code}) from None
        entry["providers"] = [provider.key]
    try:
        import_directory(
            session,
            {"organizations": [entry]},
            cipher=cipher,
            clock=clock,
            actor=slack_actor(user_id, team_id),
        )
    except DirectoryError as exc:
        raise _refusal(exc) from None
    org = org_for_team(session, team_id)
    assert org is not None
    if code is not None and provider is not None:
        # validated as a reseller of `provider`; the link waits for the provider's approval
        session.execute(
            delete(ResellerProvider).where(
                ResellerProvider.reseller_org_id == org.id,
                ResellerProvider.provider_org_id == provider.id,
            )
        )
        try:
            request = redeem(
                session,
                code,
                reseller=org,
                provider=provider,
                user_id=user_id,
                team_id=team_id,
                now=now,
            )
        except JoinRefused as refused:
            raise SetupRefused(errors={"org_join_code": refused.code}) from None
        enqueue(session, request_effects(session, request), now=now)
    log.info(
        "organization %s (%s) set up in Slack by %s of %s", key, form.role.value, user_id, team_id
    )
    return SetUp(form.name, provider.name if provider is not None else None)


def _refusal(exc: DirectoryError) -> SetupRefused:
    errors: dict[str, str] = {}
    for issue in exc.issues:
        if issue.code in ("team_taken", "team_in_two_orgs"):
            return SetupRefused(code="already_set_up")
        if issue.code in ("reseller_needs_provider", "unknown_provider", "not_a_provider"):
            errors.setdefault("org_join_code", "join_code_unknown")
            continue
        block = _BLOCK_OF.get(issue.field.split(".")[0].split("[")[0], "org_name")
        errors.setdefault(block, issue.code)
    return SetupRefused(errors=errors)
