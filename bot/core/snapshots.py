"""Snapshots of organizations and invitations, detached from the database, for rendering and
for the services that post them (bot/core/invitations.py, bot/core/home.py, bot/core/outbox/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import object_session

from bot.core.language import team_language
from bot.core.store.lifecycle import InvitationState
from bot.core.store.messages import MessageLocation, message_locations
from bot.core.store.models import Invitation, Organization
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
    def of(cls, org: Organization) -> OrgView:
        session = object_session(org)
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
    # GDAP: `gdap_relationship_id` moves the invitation's state; `gdap_for` says whose it is
    # ("provider": its own; "reseller": asked by the provider for its reseller, edition
    # 2017-03). The reseller's own relationship (edition 2026-11) does not move the state.
    gdap_relationship_id: str | None = None
    gdap_for: str | None = None
    reseller_gdap_relationship_id: str | None = None
    reseller_gdap_granted: bool = False

    @classmethod
    def of(cls, inv: Invitation) -> InvitationView:
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
            provider=OrgView.of(inv.provider),
            reseller=OrgView.of(inv.reseller) if inv.reseller is not None else None,
            locations=tuple(message_locations(inv)),
            gdap_relationship_id=inv.gdap_relationship_id,
            gdap_for=inv.gdap_for.value if inv.gdap_for else None,
            reseller_gdap_relationship_id=inv.reseller_gdap_relationship_id,
            reseller_gdap_granted=inv.reseller_gdap_granted_at is not None,
        )
