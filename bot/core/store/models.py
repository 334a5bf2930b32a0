"""The tables (SQLAlchemy 2 typed declarative). Portable across SQLite and PostgreSQL.

Times are timezone-aware UTC datetimes in Python. PostgreSQL stores them as `timestamptz`;
SQLite as ISO text in UTC (`UTCDateTime` converts both ways and refuses naive datetimes).
Enumerations are stored as their string values with a CHECK constraint.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.core.store.clock import as_utc
from bot.core.store.lifecycle import InvitationState
from policy.facts import Role

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class LinkSource(StrEnum):
    api = "api"  # returned by Partner Center's relationshiprequests call
    documented_format = "format"  # built from the documented URL format (docs §3)


class GdapParty(StrEnum):
    """Whose GDAP relationship `Invitation.gdap_relationship_id` is."""

    provider = "provider"  # the provider's (or direct partner's) own: edition 2026-11
    reseller = "reseller"  # asked by the provider for its reseller: edition 2017-03


class MessagePurpose(StrEnum):
    provider = "provider"  # the invitation's own message: Invitation.slack_channel/slack_ts
    reseller = "reseller"  # the copy in the reseller's channel (InvitationMessage)


class AuditAction(StrEnum):
    request = "request"  # a reseller asked for an invitation
    create = "create"  # a provider created one from scratch
    fulfil = "fulfil"  # a provider created one for a reseller's request
    transition = "transition"  # any other state change by a person or a webhook
    expire = "expire"  # the link ran out (no person involved)


class DirectoryAction(StrEnum):
    """What changed in the partner directory (`directory_events`)."""

    create = "create"  # an organization was added (import, or set up in Slack)
    update = "update"  # its fields, workspaces, admins or providers changed (import or Slack)
    provider_linked = "provider_linked"  # a provider approved a reseller's join request
    provider_left = "provider_left"  # a reseller stopped buying through a provider


class JobStatus(StrEnum):
    """Where a webhook event (inbox) or a Slack side effect (outbox) stands."""

    pending = "pending"  # to do, or being done under a lease (`locked_until`)
    done = "done"
    parked = "parked"  # failed too often, or for good: kept for `mcbot outbox`, never dropped


class OutboxEffect(StrEnum):
    update = "update"  # chat.update of a message showing an invitation
    reply = "reply"  # chat.postMessage in the thread of the provider's invitation message
    dm = "dm"  # chat.postMessage to a user (their DM with the bot)
    post = "post"  # chat.postMessage in a channel


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as UTC without an offset
            return value.replace(tzinfo=UTC)
        return as_utc(value)


def _enum(enum_class: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012


def new_webhook_token() -> str:
    """An organization's callback path token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


class Organization(Base):
    """A partner organization: a direct-bill partner, an indirect provider or a reseller."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    tenant_id: Mapped[str] = mapped_column(String(36), unique=True)  # lowercase GUID
    partner_id: Mapped[str | None] = mapped_column(String(12))  # MPN id, digits
    notification_channel: Mapped[str | None] = mapped_column(String(32))
    # The workspace that hosts the notification channel when it is not the organization's own
    # (a Slack Connect channel another organization shares with it, e.g. a reseller that never
    # installed the app): its token reaches the channel. None: the organization's own.
    notification_channel_team: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    # The unguessable part of its callback URL, POST /partner-center/webhooks/{token}
    # (docs/webhooks.md), a secret (docs/secrets.md): its SHA-256 (hex) finds the organization
    # a delivery reached; the token itself, encrypted (bot/core/store/secrets.py: `enc:` +
    # Fernet; plaintext without ENCRYPTION_KEYS), is what `mcbot webhook show` prints.
    # Both are set together when the organization is created (bot/core/store/directory.py).
    webhook_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    webhook_token: Mapped[str | None] = mapped_column(String(200))
    # the URL mcbot last registered with Partner Center for it, and when
    webhook_registered_url: Mapped[str | None] = mapped_column(String(500))
    webhook_registered_at: Mapped[datetime | None]

    teams: Mapped[list[OrganizationTeam]] = relationship(
        back_populates="org", cascade="all, delete-orphan"
    )
    admins: Mapped[list[OrganizationAdmin]] = relationship(
        back_populates="org", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"Organization(key={self.key!r}, role={self.role.value!r})"


class OrganizationTeam(Base):
    """A Slack workspace (team) belongs to exactly one organization."""

    __tablename__ = "organization_teams"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )

    org: Mapped[Organization] = relationship(back_populates="teams")


class OrganizationAdmin(Base):
    """A Slack user allowed to use `/multichannel admin` for the organization."""

    __tablename__ = "organization_admins"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)

    org: Mapped[Organization] = relationship(back_populates="admins")


class ConnectionStatus(StrEnum):
    """Where an organization's Partner Center connection stands."""

    connected = "connected"  # a refresh token that worked last time it was used
    expired = "expired"  # Entra refused it (expired or revoked): an admin reconnects


class PartnerCenterConnection(Base):
    """An organization's Partner Center connection (docs/partner-center-connection.md): the
    Entra tenant its admin consented in, the app registration (the deployment's, or the
    organization's own: `client_id` + encrypted `client_secret`), and the refresh token,
    encrypted (bot/core/store/secrets.py). `version` rises with every write of the token:
    a rotation is written `WHERE version = seen` (several replicas lose none)."""

    __tablename__ = "partner_center_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    tenant_id: Mapped[str | None] = mapped_column(String(36))  # the consented tenant
    client_id: Mapped[str | None] = mapped_column(String(100))  # None: the deployment's app
    client_secret: Mapped[str | None] = mapped_column(Text)  # encrypted
    refresh_token: Mapped[str | None] = mapped_column(Text)  # encrypted; None: not connected
    # SHA-256 of PARTNER_CENTER_REFRESH_TOKEN this row was seeded from (the legacy settings):
    # a different one in the environment seeds the row again.
    seeded_from: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[ConnectionStatus | None] = mapped_column(_enum(ConnectionStatus, "status"))
    status_reason: Mapped[str | None] = mapped_column(String(300))
    status_at: Mapped[datetime | None]
    connected_by_user: Mapped[str | None] = mapped_column(String(32))
    connected_by_team: Mapped[str | None] = mapped_column(String(32))
    connected_at: Mapped[datetime | None]


class PartnerCenterConnectState(Base):
    """One "Connect Partner Center" click: the OAuth `state` (only its SHA-256 is stored),
    the PKCE verifier (encrypted), who clicked for which organization; single use, short-lived."""

    __tablename__ = "partner_center_connect_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    verifier: Mapped[str] = mapped_column(Text)  # encrypted PKCE code_verifier
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ResellerProvider(Base):
    """An indirect reseller buys through this indirect provider (it may have several)."""

    __tablename__ = "reseller_providers"
    __table_args__ = (CheckConstraint("reseller_org_id <> provider_org_id", name="not_self"),)

    reseller_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    provider_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class JoinCode(Base):
    """A one-time code a directory admin created in Slack. `purpose` "provider": an indirect
    provider's, for a reseller to name it as its provider; "workspace": any organization's, for
    another Slack workspace to join it (redeemed from that workspace by one of its admins).
    `provider_org_id` is the organization that created it. Only its SHA-256 is stored; single
    use, expiring."""

    __tablename__ = "join_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16), default="provider", server_default="provider")
    provider_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_user: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )


JOIN_PENDING = "pending"  # JoinRequest.status until a provider admin decides


class JoinRequest(Base):
    """A reseller asked (with a join code) to buy through a provider; the provider's admins
    approve (a `reseller_providers` row is written) or decline in Slack. `version` rises with
    each decision: a click on an older message is refused as out of date."""

    __tablename__ = "join_requests"
    __table_args__ = (Index("ix_join_requests_pair", "reseller_org_id", "provider_org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reseller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    provider_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    requested_by_user: Mapped[str] = mapped_column(String(32))
    requested_by_team: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | declined
    version: Mapped[int] = mapped_column(Integer)
    decided_by_user: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]


class Invitation(Base):
    """A reseller-relationship invitation for one customer, from request to GDAP approval.

    `version` grows by one on every change: updates are conditional on it (optimistic
    concurrency). `link`/`link_source` are empty while the invitation is only `requested`.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        # An organization's newest invitations in a state (the Home tab's lists).
        Index(
            "ix_invitations_provider_state_created", "provider_org_id", "state", "created_at", "id"
        ),
        Index(
            "ix_invitations_reseller_state_created", "reseller_org_id", "state", "created_at", "id"
        ),
        Index("ix_invitations_state_expires", "state", "expires_at"),
        # Newest first per organization (status, the Home tab's lists): read in index order.
        Index("ix_invitations_provider_created", "provider_org_id", "created_at", "id"),
        Index("ix_invitations_reseller_created", "reseller_org_id", "created_at", "id"),
        # "Recently accepted" on the Home tab: by acceptance time, the state in the index
        # (the newest accepted ones are the first entries of one range, no table visit).
        Index(
            "ix_invitations_provider_accepted_state",
            "provider_org_id",
            "accepted_at",
            "id",
            "state",
        ),
        Index(
            "ix_invitations_reseller_accepted_state",
            "reseller_org_id",
            "accepted_at",
            "id",
            "state",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    reseller_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_domain: Mapped[str | None] = mapped_column(String(253))
    customer_tenant_id: Mapped[str | None] = mapped_column(String(36), index=True)
    delegated_admin: Mapped[bool] = mapped_column(Boolean)
    link: Mapped[str | None] = mapped_column(Text)
    link_source: Mapped[LinkSource | None] = mapped_column(_enum(LinkSource, "link_source"))
    state: Mapped[InvitationState] = mapped_column(_enum(InvitationState, "state"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]  # when it became `accepted` (kept after GDAP)
    created_by_user: Mapped[str | None] = mapped_column(String(32))
    created_by_team: Mapped[str | None] = mapped_column(String(32))
    requested_by_user: Mapped[str | None] = mapped_column(String(32))
    requested_by_team: Mapped[str | None] = mapped_column(String(32))
    decision_id: Mapped[str | None] = mapped_column(String(64))
    gdap_relationship_id: Mapped[str | None] = mapped_column(String(64), index=True)
    gdap_for: Mapped[GdapParty | None] = mapped_column(_enum(GdapParty, "gdap_for"))
    # The reseller's own GDAP relationship (edition 2026-11), and when the customer approved it.
    reseller_gdap_relationship_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reseller_gdap_granted_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)

    # Loaded with the invitation: messages render both names, often after the session ends.
    provider: Mapped[Organization] = relationship(
        foreign_keys=[provider_org_id], lazy="joined", innerjoin=True
    )
    reseller: Mapped[Organization | None] = relationship(
        foreign_keys=[reseller_org_id], lazy="joined"
    )
    messages: Mapped[list[InvitationMessage]] = relationship(
        back_populates="invitation",
        cascade="all, delete-orphan",
        order_by="InvitationMessage.id",
        lazy="selectin",
    )

    def __repr__(self) -> str:
        return f"Invitation(ref={self.ref!r}, state={self.state.value!r}, v={self.version})"


class InvitationMessage(Base):
    """Another Slack message showing the invitation (e.g. in the reseller's channel)."""

    __tablename__ = "invitation_messages"
    __table_args__ = (
        UniqueConstraint("invitation_id", "purpose"),
        UniqueConstraint("channel", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[MessagePurpose] = mapped_column(_enum(MessagePurpose, "purpose"))

    invitation: Mapped[Invitation] = relationship(back_populates="messages")


class InvitationSearchKey(Base):
    """What a customer search matches (bot/core/store/search.py): the invitation's customer name
    from each word on, normalized, and its domain. Byte-ordered on both backends (COLLATE "C" on
    PostgreSQL), so a prefix is one range of the primary key."""

    __tablename__ = "invitation_search_keys"

    key: Mapped[str] = mapped_column(
        String(253).with_variant(String(253, collation="C"), "postgresql"), primary_key=True
    )
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditEvent(Base):
    """One change of an invitation: who, when, from which state to which, and why.
    Append-only: the ORM refuses to update or delete a row (see the listeners below)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), index=True)
    at: Mapped[datetime]
    user_id: Mapped[str | None] = mapped_column(String(32))  # None: the bot itself (expiry)
    team_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[AuditAction] = mapped_column(_enum(AuditAction, "action"))
    old_state: Mapped[InvitationState | None] = mapped_column(_enum(InvitationState, "old_state"))
    new_state: Mapped[InvitationState] = mapped_column(_enum(InvitationState, "new_state"))
    decision_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class DirectoryEvent(Base):
    """One change of the partner directory, from `mcbot partners import` (source "import",
    no user) or from Slack (source "slack", the acting user and workspace): which organization,
    what changed (`detail`: field → [before, after]). Append-only, like `audit_events`."""

    __tablename__ = "directory_events"
    __table_args__ = (Index("ix_directory_events_org_key", "org_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    org_key: Mapped[str] = mapped_column(String(40))
    action: Mapped[DirectoryAction] = mapped_column(_enum(DirectoryAction, "directory_action"))
    source: Mapped[str] = mapped_column(String(16))  # import | slack
    user_id: Mapped[str | None] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class DecisionRecord(Base):
    """Every policy decision the bot makes (like OPA's decision log)."""

    __tablename__ = "decision_records"
    __table_args__ = (Index("ix_decision_records_user_at", "user_id", "at"),)

    decision_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    policy_edition: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    steps: Mapped[list[str]] = mapped_column(JSON)


class LanguagePreference(Base):
    """A language chosen for a Slack user (`/multichannel language es`) or, as the default of
    a workspace, for a Slack team (`/multichannel language workspace es`, admins)."""

    __tablename__ = "language_preferences"
    __table_args__ = (
        CheckConstraint("scope IN ('user', 'team')", name="scope"),
        CheckConstraint("lang IN ('en', 'es')", name="lang"),
    )

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lang: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(32))


class WorkspaceEdition(Base):
    """The policy edition a workspace answers with (`/multichannel edition 2026-11`, admins):
    a dated edition or an alias (`current`, which follows the newest). No row: the
    POLICY_EDITION setting."""

    __tablename__ = "workspace_editions"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    edition: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(32))


class HomeViewer(Base):
    """A Slack user who opened the bot's Home tab: republished when what they see changes."""

    __tablename__ = "home_viewers"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    opened_at: Mapped[datetime]


class ModalView(Base):
    """A modal the bot opened (bot/core/modals.py): its context is kept here, not trusted from
    the submission's private_metadata, and its first submission is the only one acted on."""

    __tablename__ = "modal_views"

    view_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    callback_id: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    submitted_at: Mapped[datetime | None]


class InboxEvent(Base):
    """A verified Partner Center webhook delivery, stored on the request path and processed
    by the outbox worker. `dedupe_key` is UNIQUE: Partner Center's retries of one delivery
    are no-ops. Claimed under a lease (`locked_until`, `locked_by`) like `OutboxMessage`;
    `pace_key` (the resource) keeps events about one resource in order."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        Index("ix_webhook_inbox_status_pace_key", "status", "pace_key", "id"),
        Index("ix_webhook_inbox_status_available_at", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))  # bot.core.partner_center.events.EventKind
    resource_uri: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(String(36))
    relationship_id: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    pace_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "status"))
    attempts: Mapped[int] = mapped_column(Integer)
    available_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    in_doubt: Mapped[bool] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The organization whose callback URL the delivery reached; None: the legacy URL (that of
    # the organization PARTNER_ORG_KEY names).
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))


class OutboxMessage(Base):
    """One Slack side effect to perform exactly once. `dedupe_key` is UNIQUE (derived from the
    invitation's version or the event), so deriving the effects twice adds nothing.
    `pace_key` ("method channel") serializes and paces the sends per channel."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_pace_key", "status", "pace_key", "id"),
        Index("ix_outbox_status_available_at", "status", "available_at"),
        Index("ix_outbox_team_id_status", "team_id", "status"),  # park / resume a workspace's
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_inbox.id"), index=True)
    effect: Mapped[OutboxEffect] = mapped_column(_enum(OutboxEffect, "effect"))
    channel: Mapped[str] = mapped_column(String(32))  # a user id for a DM
    # The Slack workspace the channel (or user) belongs to: its token sends the message
    # (distributed mode). None: rows queued before revision 0007, or single-workspace mode.
    team_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))  # the message to update
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    pace_key: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "status"))
    attempts: Mapped[int] = mapped_column(Integer)
    ratelimited: Mapped[int] = mapped_column(Integer)
    available_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    in_doubt: Mapped[bool] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    result_ts: Mapped[str | None] = mapped_column(String(32))


def _refuse_audit_change(
    mapper: Mapper[Any], connection: Any, target: AuditEvent | DirectoryEvent
) -> None:
    raise PermissionError(
        f"audit event {target.id} is append-only: it may not be updated or deleted"
    )


event.listen(AuditEvent, "before_update", _refuse_audit_change)
event.listen(AuditEvent, "before_delete", _refuse_audit_change)
event.listen(DirectoryEvent, "before_update", _refuse_audit_change)
event.listen(DirectoryEvent, "before_delete", _refuse_audit_change)


# -- Slack installations (distributed mode) ---------------------------------------------------
# slack_sdk's own tables, built by its own builders (SQLAlchemyInstallationStore,
# SQLAlchemyOAuthStateStore) so that its stores read and write them unchanged; declared here
# so that the migrations (0007) and the models agree. Token columns are wider than slack_sdk's
# String(200): they hold Fernet-encrypted tokens (bot/core/store/installations.py), and a
# rotating token (xoxe.xoxb-…) encrypted is longer than 200 characters.
SLACK_TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


def _slack_tables() -> tuple[Table, Table, Table]:
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    installations = SQLAlchemyInstallationStore.build_installations_table(
        Base.metadata, "slack_installations"
    )
    bots = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
    states = SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states")
    Index("ix_slack_oauth_states_state", states.c.state)  # consume() looks a state up
    for table in (installations, bots):
        for name in SLACK_TOKEN_COLUMNS:
            if name in table.c:
                table.c[name].type = String(1000)
    return installations, bots, states


SLACK_INSTALLATIONS, SLACK_BOTS, SLACK_OAUTH_STATES = _slack_tables()
