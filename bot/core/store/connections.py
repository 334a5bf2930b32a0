"""Each organization's Partner Center connection and the states of its connect flow
(docs/partner-center-connection.md). Functions take a `Session` and never commit.

Secrets (the refresh token, an organization's own client secret, the PKCE verifier) are
stored encrypted with `TokenCipher` (bot/core/store/secrets.py) and returned decrypted only to
the code that sends them to Microsoft Entra ID; they are never logged.

The refresh token is written with a version check: `rotate` is `UPDATE ... WHERE version =
:seen`, so of two replicas that rotated the same token only the first write wins, and the
loser reads the winner's token (bot/core/partner_center/tokens.py).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.core.store.models import (
    ConnectionStatus,
    Organization,
    PartnerCenterConnection,
    PartnerCenterConnectState,
)
from bot.core.store.secrets import TokenCipher, token_hash

STATE_TTL = timedelta(minutes=10)
MAX_REASON = 300


@dataclass(frozen=True)
class StoredConnection:
    """A connection as its users need it: the refresh token decrypted, and its version."""

    org_id: int
    tenant_id: str | None
    client_id: str | None  # None: the deployment's app registration
    client_secret: str | None
    refresh_token: str | None
    version: int
    status: ConnectionStatus | None
    status_reason: str | None
    status_at: datetime | None
    connected_by_user: str | None
    connected_at: datetime | None

    @property
    def usable(self) -> bool:
        return self.refresh_token is not None and self.status is ConnectionStatus.connected


def load_connection(
    session: Session, org_id: int, cipher: TokenCipher | None
) -> StoredConnection | None:
    """The organization's connection (one primary-key-like read), secrets decrypted when a
    cipher is given (else left out)."""
    row = session.scalar(
        select(PartnerCenterConnection).where(PartnerCenterConnection.org_id == org_id)
    )
    if row is None:
        return None
    decrypt = cipher.decrypt if cipher is not None else (lambda _value: None)
    return StoredConnection(
        org_id=row.org_id,
        tenant_id=row.tenant_id,
        client_id=row.client_id,
        client_secret=decrypt(row.client_secret),
        refresh_token=decrypt(row.refresh_token),
        version=row.version,
        status=row.status,
        status_reason=row.status_reason,
        status_at=row.status_at,
        connected_by_user=row.connected_by_user,
        connected_at=row.connected_at,
    )


def statuses(
    session: Session, org_ids: list[int] | None = None
) -> dict[int, tuple[ConnectionStatus | None, str | None]]:
    """(status, reason) of the connections of `org_ids` (default: all), by organization id:
    one read."""
    query = select(
        PartnerCenterConnection.org_id,
        PartnerCenterConnection.status,
        PartnerCenterConnection.status_reason,
    )
    if org_ids is not None:
        query = query.where(PartnerCenterConnection.org_id.in_(org_ids))
    return {org_id: (status, reason) for org_id, status, reason in session.execute(query)}


def connection_label(status: ConnectionStatus | None, *, legacy: bool) -> str:
    """What `mcbot partners list` and the Home tab say: connected, expired, environment (the
    legacy settings, not stored) or not connected."""
    if status is not None:
        return status.value
    return "environment" if legacy else "not connected"


def _row(session: Session, org_id: int) -> PartnerCenterConnection:
    row = session.scalar(
        select(PartnerCenterConnection)
        .where(PartnerCenterConnection.org_id == org_id)
        .with_for_update()
    )
    if row is None:
        row = PartnerCenterConnection(org_id=org_id, version=0)
        session.add(row)
    return row


def save_connected(
    session: Session,
    *,
    org_id: int,
    tenant_id: str,
    refresh_token: str,
    cipher: TokenCipher,
    user_id: str | None,
    team_id: str | None,
    now: datetime,
    seeded_from: str | None = None,
) -> int:
    """Store a new refresh token (a completed connect flow, or the legacy setting seeded):
    connected, version + 1. Returns the new version."""
    row = _row(session, org_id)
    row.tenant_id = tenant_id
    row.refresh_token = cipher.encrypt(refresh_token)
    row.seeded_from = seeded_from
    row.version = row.version + 1
    row.status = ConnectionStatus.connected
    row.status_reason = None
    row.status_at = now
    row.connected_by_user = user_id
    row.connected_by_team = team_id
    row.connected_at = now
    session.flush()
    return row.version


def seed_legacy(
    session: Session,
    *,
    org_id: int,
    tenant_id: str,
    refresh_token: str,
    cipher: TokenCipher,
    now: datetime,
) -> bool:
    """The legacy PARTNER_CENTER_REFRESH_TOKEN as the organization's connection: stored the
    first time, and again whenever the environment holds a different one (compared by
    fingerprint); a token rotated since the seed is kept otherwise. True when written."""
    mark = token_hash(refresh_token)  # compared instead of the token itself
    current = session.execute(
        select(PartnerCenterConnection.seeded_from).where(PartnerCenterConnection.org_id == org_id)
    ).first()
    if current is not None and current.seeded_from == mark:
        return False
    save_connected(
        session,
        org_id=org_id,
        tenant_id=tenant_id,
        refresh_token=refresh_token,
        cipher=cipher,
        user_id=None,
        team_id=None,
        now=now,
        seeded_from=mark,
    )
    return True


def rotate(
    session: Session,
    *,
    org_id: int,
    seen_version: int,
    refresh_token: str,
    cipher: TokenCipher,
    now: datetime,
) -> bool:
    """Write a rotated refresh token if nobody wrote one since `seen_version`; False when
    another replica did (its token is then the one to use)."""
    result = session.execute(
        update(PartnerCenterConnection)
        .where(
            PartnerCenterConnection.org_id == org_id,
            PartnerCenterConnection.version == seen_version,
        )
        .values(
            refresh_token=cipher.encrypt(refresh_token),
            version=seen_version + 1,
            status=ConnectionStatus.connected,
            status_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_expired(
    session: Session, *, org_id: int, seen_version: int, reason: str, now: datetime
) -> bool:
    """Entra refused the token of `seen_version`: the connection is expired (or revoked) with
    the reason. True only for the one call that flipped it (the one-time notice)."""
    result = session.execute(
        update(PartnerCenterConnection)
        .where(
            PartnerCenterConnection.org_id == org_id,
            PartnerCenterConnection.version == seen_version,
            PartnerCenterConnection.status == ConnectionStatus.connected,
        )
        .values(status=ConnectionStatus.expired, status_reason=reason[:MAX_REASON], status_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_app(
    session: Session,
    *,
    org_id: int,
    client_id: str | None,
    client_secret: str | None,
    cipher: TokenCipher | None,
) -> None:
    """The app registration the organization connects with: its own (`client_id` and secret,
    encrypted) or, with None, the deployment's. A change of app needs a new consent: a stored
    refresh token is dropped (it was issued to the other app)."""
    row = _row(session, org_id)
    if client_id is not None:
        if cipher is None or not client_secret:
            raise ValueError("an own app registration needs its secret and ENCRYPTION_KEYS")
        secret = cipher.encrypt(client_secret)
    else:
        secret = None
    if row.client_id != client_id and row.refresh_token is not None:
        row.refresh_token = None
        row.status = None
        row.status_reason = None
        row.version = row.version + 1
    row.client_id = client_id
    row.client_secret = secret
    session.flush()


# ------------------------------------------------------------------ the connect flow's states
class StateProblem(StrEnum):
    unknown = "unknown"  # forged, or from another deployment
    used = "used"  # replayed
    expired = "expired"


@dataclass(frozen=True)
class NewState:
    state: str  # goes to Entra in the authorize URL, never stored
    code_challenge: str  # S256 of the verifier


@dataclass(frozen=True)
class ConsumedState:
    org_id: int
    team_id: str
    user_id: str
    code_verifier: str


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 §4.2): BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state(
    session: Session,
    *,
    org_id: int,
    team_id: str,
    user_id: str,
    cipher: TokenCipher,
    now: datetime,
) -> NewState:
    """A single-use state for one connect click, valid STATE_TTL, and its PKCE challenge."""
    session.execute(  # states a day past their expiry: nothing reads them any more
        delete(PartnerCenterConnectState).where(
            PartnerCenterConnectState.expires_at < now - timedelta(days=1)
        )
    )
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]: RFC 7636 allows
    encrypted = cipher.encrypt(verifier)
    assert encrypted is not None
    session.add(
        PartnerCenterConnectState(
            state_hash=token_hash(state),
            org_id=org_id,
            team_id=team_id,
            user_id=user_id,
            verifier=encrypted,
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    )
    session.flush()
    return NewState(state, code_challenge(verifier))


def consume_state(
    session: Session, state: str, *, cipher: TokenCipher, now: datetime
) -> ConsumedState | StateProblem:
    """The state's binding, used up; or why not. An unknown, used or expired state writes
    nothing (one indexed read)."""
    row = session.execute(
        select(
            PartnerCenterConnectState.id,
            PartnerCenterConnectState.org_id,
            PartnerCenterConnectState.team_id,
            PartnerCenterConnectState.user_id,
            PartnerCenterConnectState.verifier,
            PartnerCenterConnectState.expires_at,
            PartnerCenterConnectState.used_at,
        ).where(PartnerCenterConnectState.state_hash == token_hash(state))
    ).first()
    if row is None:
        return StateProblem.unknown
    if row.used_at is not None:
        return StateProblem.used
    if row.expires_at <= now:
        return StateProblem.expired
    taken = session.execute(
        update(PartnerCenterConnectState)
        .where(PartnerCenterConnectState.id == row.id, PartnerCenterConnectState.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        return StateProblem.used  # the same state, at the same moment, in another request
    verifier = cipher.decrypt(row.verifier)
    assert verifier is not None
    return ConsumedState(row.org_id, row.team_id, row.user_id, verifier)


def org_tenant(session: Session, org_id: int) -> tuple[str, str, str | None] | None:
    """(name, tenant id, notification channel) of an organization."""
    row = session.execute(
        select(Organization.name, Organization.tenant_id, Organization.notification_channel).where(
            Organization.id == org_id
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None
