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

    @classmethod
    def of(cls, org: Organization, lang: str | None = None) -> OrgView:
        """`lang`: the workspace default when the caller read it (`org_languages`, one
        statement for many organizations); else it is read here."""
        session = object_session(org)
        if lang is None:
            lang = DEFAULT_LANGUAGE
            if session is not None:
                lang = team_language(session, [t.team_id for t in org.teams])
        return cls(
            org.id,
            org.key,
            org.name,
            Role(org.role),
            org.tenant_id,
            org.partner_id,
            org.notification_channel,
            lang,
        )


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
        )


def org_languages(session: Session, org_ids: Collection[int]) -> dict[int, str]:
    """The workspace default language of each organization, in one statement."""
    if not org_ids:
        return {}
    rows = session.execute(
        select(OrganizationTeam.org_id, LanguagePreference.lang)
        .join(LanguagePreference, LanguagePreference.subject_id == OrganizationTeam.team_id)
        .where(LanguagePreference.scope == TEAM, OrganizationTeam.org_id.in_(sorted(org_ids)))
        .order_by(OrganizationTeam.org_id, OrganizationTeam.team_id)
    )
    found: dict[int, str] = {}
    for org_id, lang in rows:
        found.setdefault(org_id, lang)
    return found


def org_views(session: Session, orgs: Iterable[Organization]) -> dict[int, OrgView]:
    """Snapshots of `orgs` by id, their languages read in one statement."""
    unique = {org.id: org for org in orgs}
    langs = org_languages(session, unique)
    return {i: OrgView.of(org, langs.get(i, DEFAULT_LANGUAGE)) for i, org in unique.items()}


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
