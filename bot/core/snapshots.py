"""Snapshots of organizations and invitations, detached from the database, for rendering and
for the services that post them (bot/core/invitations.py, bot/core/home.py, bot/core/outbox/)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from bot.core.language import TEAM, team_language
from bot.core.store.lifecycle import InvitationState
from bot.core.store.messages import MessageLocation, message_locations
from bot.core.store.models import (
    Invitation,
    LanguagePreference,
    Organization,
    OrganizationTeam,
)
from bot.core.ui.i18n import DEFAULT_LANGUAGE
from policy import Role


@dataclass(frozen=True)
class OrgView:
    id: int
    key: str
    name: str
    role: Role
    tenant_id: str
    partner_id: str | None
    notification_channel: str | None
    lang: str = DEFAULT_LANGUAGE  # its workspace default: the language of its channel messages
    # Its Slack workspace (the first of its teams): whose token reaches its people and, unless
    # another workspace hosts it, its notification channel. None: no team in the directory.
    team_id: str | None = None
    # The workspace hosting its notification channel when it is not its own (Slack Connect).
    channel_team_id: str | None = None

    def team_for(self, channel: str | None) -> str | None:
        """The workspace whose token reaches `channel` for this organization: the host of its
        notification channel when another workspace hosts it, else its own."""
        if channel and channel == self.notification_channel and self.channel_team_id:
            return self.channel_team_id
        return self.team_id

    @classmethod
    def of(cls, org: Organization, known: tuple[str | None, str] | None = None) -> OrgView:
        """`known`: (its first team id, its workspace default language) when the caller read
        them (`org_workspaces`, one statement for many organizations); else read here."""
        if known is None:
            teams = sorted(t.team_id for t in org.teams)
            lang = DEFAULT_LANGUAGE
            session = object_session(org)
            if session is not None:
                lang = team_language(session, teams)
            known = (teams[0] if teams else None, lang)
        team_id, lang = known
        return cls(
            org.id,
            org.key,
            org.name,
            Role(org.role),
            org.tenant_id,
            org.partner_id,
            org.notification_channel,
            lang,
            team_id,
            org.notification_channel_team if org.notification_channel else None,
        )


def channel_team(org: Organization, channel: str | None) -> str | None:
    """`OrgView.team_for` for an organization read from the database: the workspace whose
    token reaches `channel` (the host of its notification channel, else its first team)."""
    if channel and channel == org.notification_channel and org.notification_channel_team:
        return org.notification_channel_team
    return min((team.team_id for team in org.teams), default=None)


@dataclass(frozen=True)
class InvitationView:
    """A snapshot of an invitation, detached from the database, for rendering."""

    id: int
    ref: str
    state: InvitationState
    version: int
    customer_name: str
    customer_domain: str | None
    customer_tenant_id: str | None
    delegated_admin: bool
    link: str | None
    link_source: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    created_by_user: str | None
    requested_by_user: str | None
    decision_id: str | None
    provider: OrgView
    reseller: OrgView | None
    locations: tuple[MessageLocation, ...]
    # GDAP: `gdap_relationship_id` moves the invitation's state; `gdap_for` says whose it is
    # ("provider": its own; "reseller": asked by the provider for its reseller, edition
    # 2017-03). The reseller's own relationship (edition 2026-11) does not move the state.
    gdap_relationship_id: str | None = None
    gdap_for: str | None = None
    reseller_gdap_relationship_id: str | None = None
    reseller_gdap_granted: bool = False

    @classmethod
    def of(cls, inv: Invitation, orgs: dict[int, OrgView] | None = None) -> InvitationView:
        """`orgs`: snapshots of the organizations already taken (`views_of`), by id."""

        def org(o: Organization) -> OrgView:
            return orgs[o.id] if orgs is not None and o.id in orgs else OrgView.of(o)

        return cls(
            id=inv.id,
            ref=inv.ref,
            state=inv.state,
            version=inv.version,
            customer_name=inv.customer_name,
            customer_domain=inv.customer_domain,
            customer_tenant_id=inv.customer_tenant_id,
            delegated_admin=inv.delegated_admin,
            link=inv.link,
            link_source=inv.link_source.value if inv.link_source else None,
            created_at=inv.created_at,
            updated_at=inv.updated_at,
            expires_at=inv.expires_at,
            created_by_user=inv.created_by_user,
            requested_by_user=inv.requested_by_user,
            decision_id=inv.decision_id,
            provider=org(inv.provider),
            reseller=org(inv.reseller) if inv.reseller is not None else None,
            locations=tuple(message_locations(inv)),
            gdap_relationship_id=inv.gdap_relationship_id,
            gdap_for=inv.gdap_for.value if inv.gdap_for else None,
            reseller_gdap_relationship_id=inv.reseller_gdap_relationship_id,
            reseller_gdap_granted=inv.reseller_gdap_granted_at is not None,
        )


def org_workspaces(session: Session, org_ids: Collection[int]) -> dict[int, tuple[str | None, str]]:
    """Each organization's first Slack team and its workspace default language, in one
    statement."""
    if not org_ids:
        return {}
    rows = session.execute(
        select(OrganizationTeam.org_id, OrganizationTeam.team_id, LanguagePreference.lang)
        .outerjoin(
            LanguagePreference,
            (LanguagePreference.subject_id == OrganizationTeam.team_id)
            & (LanguagePreference.scope == TEAM),
        )
        .where(OrganizationTeam.org_id.in_(sorted(org_ids)))
        .order_by(OrganizationTeam.org_id, OrganizationTeam.team_id)
    )
    teams: dict[int, str] = {}
    langs: dict[int, str] = {}
    for org_id, team_id, lang in rows:
        teams.setdefault(org_id, team_id)
        if lang is not None:
            langs.setdefault(org_id, lang)
    return {i: (teams.get(i), langs.get(i, DEFAULT_LANGUAGE)) for i in org_ids}


def org_views(session: Session, orgs: Iterable[Organization]) -> dict[int, OrgView]:
    """Snapshots of `orgs` by id, their teams and languages read in one statement."""
    unique = {org.id: org for org in orgs}
    known = org_workspaces(session, unique)
    return {i: OrgView.of(org, known[i]) for i, org in unique.items()}


def views_of(
    session: Session, invitations: Iterable[Invitation], *, orgs: Iterable[Organization] = ()
) -> list[InvitationView]:
    """Snapshots of `invitations` with one statement for all their organizations' languages
    (`InvitationView.of` one by one reads them per organization). `orgs`: more organizations
    to include (their snapshots are then in the same statement)."""
    found = list(invitations)
    involved = [o for i in found for o in (i.provider, i.reseller) if o is not None]
    views = org_views(session, [*orgs, *involved])
    return [InvitationView.of(i, views) for i in found]
