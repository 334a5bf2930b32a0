"""A reseller names its indirect provider with a one-time join code (onboarding in Slack).

1. A directory admin of an indirect provider creates a code in its Home tab (`create_code`):
   shown once, only its SHA-256 is stored, it expires after JOIN_CODE_TTL and works once.
2. A reseller's admin enters it when setting up its organization (bot/core/onboarding.py),
   or later from its Home tab ("Join a provider", `join_provider`: another provider, or its
   first when none approved it yet): `redeem` marks the code used and records a pending
   `JoinRequest`. Until a provider admin
   approves it the reseller has no provider in the directory: it may assess, but sees no
   invitations and cannot ask that provider for one.
3. The provider's admins get an Approve / Decline message in the provider's notification
   channel (else each admin by DM), sent through the outbox with the provider's workspace token.
   `decide` checks, server-side, that the clicking user is an admin of that provider and that the
   click is for the request's current version; approving writes the `reseller_providers` row
   `mcbot partners import` writes. The reseller's requester is told by DM (its own token).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.core.outbox.notify import user_language
from bot.core.outbox.queue import Effect, enqueue
from bot.core.snapshots import org_views
from bot.core.store.directory import (
    is_admin,
    is_provider_of,
    org_by_key,
    org_for_team,
    providers_of,
    record,
    slack_actor,
)
from bot.core.store.lifecycle import TERMINAL
from bot.core.store.models import (
    JOIN_PENDING,
    DirectoryAction,
    Invitation,
    JoinCode,
    JoinRequest,
    Organization,
    OrganizationAdmin,
    OrganizationTeam,
    OutboxEffect,
    ResellerProvider,
)
from bot.core.ui import surfaces
from policy.facts import Role

JOIN_CODE_TTL = timedelta(days=7)
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or retyped
_LENGTH = 16  # ~79 bits
PENDING, APPROVED, DECLINED = JOIN_PENDING, "approved", "declined"
PROVIDER_CODE, WORKSPACE_CODE = "provider", "workspace"  # JoinCode.purpose


class JoinRefused(Exception):
    """`code`: why (a notice or modal error code)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class NewCode:
    code: str  # shown once, never stored
    provider: str  # its name
    expires_at: datetime


def normalize(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def provider_admin_org(session: Session, team_id: str, user_id: str) -> Organization:
    """The indirect provider `user_id` of `team_id` administers; JoinRefused otherwise."""
    org = org_for_team(session, team_id)
    if org is None or org.role is not Role.indirect_provider or not is_admin(session, org, user_id):
        raise JoinRefused("join_admins_only")
    return org


def create_code(session: Session, *, team_id: str, user_id: str, now: datetime) -> NewCode:
    """A provider's join code (its directory admins only)."""
    provider = provider_admin_org(session, team_id, user_id)
    return new_code(session, provider, purpose=PROVIDER_CODE, user_id=user_id, now=now)


def new_code(
    session: Session, org: Organization, *, purpose: str, user_id: str, now: datetime
) -> NewCode:
    """A one-time code of `org` for `purpose`; the caller checked who asks."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    code = "-".join(raw[i : i + 4] for i in range(0, _LENGTH, 4))
    expires = now + JOIN_CODE_TTL
    session.add(
        JoinCode(
            code_hash=hash_code(code),
            purpose=purpose,
            provider_org_id=org.id,
            created_by_user=user_id,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return NewCode(code, org.name, expires)


def code_owner(
    session: Session, code: str, *, purpose: str, now: datetime
) -> tuple[JoinCode, Organization]:
    """The unused, unexpired code of `purpose` and the organization that created it;
    JoinRefused (`join_code_unknown`, `join_code_used`, `join_code_expired`) otherwise.
    Reads only."""
    if not normalize(code):
        raise JoinRefused("join_code_unknown")
    row = session.scalar(
        select(JoinCode).where(JoinCode.code_hash == hash_code(code), JoinCode.purpose == purpose)
    )
    if row is None:
        raise JoinRefused("join_code_unknown")
    if row.used_at is not None:
        raise JoinRefused("join_code_used")
    if row.expires_at <= now:
        raise JoinRefused("join_code_expired")
    org = session.get(Organization, row.provider_org_id)
    if org is None:
        raise JoinRefused("join_code_unknown")
    return row, org


def provider_for_code(
    session: Session, code: str, *, now: datetime
) -> tuple[JoinCode, Organization]:
    """The unused, unexpired join code and its provider; JoinRefused otherwise. Reads only."""
    row, provider = code_owner(session, code, purpose=PROVIDER_CODE, now=now)
    if provider.role is not Role.indirect_provider:
        raise JoinRefused("join_code_unknown")
    return row, provider


def use_code(session: Session, code: JoinCode, *, org_id: int, now: datetime) -> None:
    """Mark the code used by `org_id`, once: a concurrent use of the same code loses
    (JoinRefused `join_code_used`)."""
    used = session.execute(
        update(JoinCode)
        .where(JoinCode.id == code.id, JoinCode.used_at.is_(None))
        .values(used_at=now, used_by_org_id=org_id)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise JoinRefused("join_code_used")


def redeem(
    session: Session,
    code: JoinCode,
    *,
    reseller: Organization,
    provider: Organization,
    user_id: str,
    team_id: str,
    now: datetime,
) -> JoinRequest:
    """Use the code (once: a concurrent use of the same code loses) and record the pending
    request. The caller's transaction holds both, or neither."""
    if reseller.id == provider.id:
        raise JoinRefused("join_code_unknown")
    if is_provider_of(session, provider, reseller):
        raise JoinRefused("join_already_linked")
    waiting = select(JoinRequest.id).where(
        JoinRequest.reseller_org_id == reseller.id,
        JoinRequest.provider_org_id == provider.id,
        JoinRequest.status == PENDING,
    )
    if session.scalar(waiting.limit(1)) is not None:
        raise JoinRefused("join_already_pending")
    use_code(session, code, org_id=reseller.id, now=now)
    request = JoinRequest(
        reseller_org_id=reseller.id,
        provider_org_id=provider.id,
        requested_by_user=user_id,
        requested_by_team=team_id,
        requested_at=now,
        status=PENDING,
        version=1,
    )
    session.add(request)
    session.flush()
    return request


def _first_team(session: Session, org_id: int) -> str | None:
    return session.scalar(
        select(func.min(OrganizationTeam.team_id)).where(OrganizationTeam.org_id == org_id)
    )


def request_effects(session: Session, request: JoinRequest) -> list[Effect]:
    """The Approve / Decline message for the provider's admins."""
    reseller = session.get(Organization, request.reseller_org_id)
    provider = session.get(Organization, request.provider_org_id)
    assert reseller is not None and provider is not None
    views = org_views(session, [reseller, provider])
    message = surfaces.join_request_message(
        request=request_view(request),
        reseller=views[reseller.id],
        provider=views[provider.id],
        lang=views[provider.id].lang,
    )
    return to_admins(
        session,
        provider,
        views[provider.id].team_id,
        message,
        f"join{request.id}.v{request.version}",
    )


def to_admins(
    session: Session, provider: Organization, team: str | None, message: dict[str, Any], base: str
) -> list[Effect]:
    """`message` for an organization's admins: in its notification channel, else a DM to
    each of its admins; with the token of its workspace `team` (of the channel's host when
    another workspace hosts it)."""
    payload = {"message": {"text": message["text"], "blocks": message["blocks"]}}
    if provider.notification_channel:
        return [
            Effect(
                f"{base}.post",
                OutboxEffect.post,
                provider.notification_channel,
                payload,
                # the workspace hosting the channel (a Slack Connect channel), else its own
                team_id=provider.notification_channel_team or team,
            )
        ]
    admins = session.scalars(
        select(OrganizationAdmin.user_id)
        .where(OrganizationAdmin.org_id == provider.id)
        .order_by(OrganizationAdmin.user_id)
        .limit(20)
    )
    return [
        Effect(f"{base}.dm.{admin}", OutboxEffect.dm, admin, payload, team_id=team)
        for admin in admins
    ]


@dataclass(frozen=True)
class RequestView:
    id: int
    version: int
    status: str
    requested_by_user: str
    decided_by_user: str | None


def request_view(request: JoinRequest) -> RequestView:
    return RequestView(
        request.id,
        request.version,
        request.status,
        request.requested_by_user,
        request.decided_by_user,
    )


@dataclass(frozen=True)
class Decided:
    message: dict[str, Any]  # the provider's message, as it now reads (no buttons)


def decide(
    session: Session,
    *,
    request_id: int,
    version: int,
    approve: bool,
    team_id: str,
    user_id: str,
    now: datetime,
) -> Decided:
    """Approve or decline, and queue the requester's DM. JoinRefused `join_stale` (no such
    request, decided already, or an older version of the message) or `join_admins_only` (not
    an admin of that provider)."""
    request = session.get(JoinRequest, request_id)
    if request is None or request.status != PENDING or request.version != version:
        raise JoinRefused("join_stale")
    acting = org_for_team(session, team_id)
    if (
        acting is None
        or acting.id != request.provider_org_id
        or not is_admin(session, acting, user_id)
    ):
        raise JoinRefused("join_admins_only")
    claimed = session.execute(
        update(JoinRequest)
        .where(JoinRequest.id == request.id, JoinRequest.version == version)
        .values(
            status=APPROVED if approve else DECLINED,
            version=version + 1,
            decided_by_user=user_id,
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise JoinRefused("join_stale")
    session.expire(request)
    reseller = session.get(Organization, request.reseller_org_id)
    assert reseller is not None
    if approve and not is_provider_of(session, acting, reseller):
        session.add(ResellerProvider(reseller_org_id=reseller.id, provider_org_id=acting.id))
        record(
            session,
            reseller.key,
            DirectoryAction.provider_linked,
            slack_actor(user_id, team_id),
            {"provider": acting.key, "join_request": request.id},
            clock=lambda: now,
        )
        session.flush()
    views = org_views(session, [reseller, acting])
    shown = request_view(request)
    message = surfaces.join_request_message(
        request=shown,
        reseller=views[reseller.id],
        provider=views[acting.id],
        lang=views[acting.id].lang,
    )
    dm = surfaces.notice_message(
        "join_approved" if approve else "join_declined",
        lang=user_language(session, request.requested_by_user, reseller.key),
        provider=acting.name,
    )
    effects = [
        Effect(
            f"join{request.id}.decided.dm",
            OutboxEffect.dm,
            request.requested_by_user,
            {"message": {"text": dm["text"], "blocks": [_section(dm["text"])]}},
            team_id=request.requested_by_team,
        )
    ]
    enqueue(session, effects, now=now)
    return Decided(message)


def notice_blocks(notice: dict[str, Any]) -> dict[str, Any]:
    """A notice as a message that stays (text and one section)."""
    return {"text": notice["text"], "blocks": [_section(notice["text"])]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": "notice", "text": {"type": "mrkdwn", "text": text}}


def pending_providers(session: Session, reseller: Organization) -> list[str]:
    """Names of the providers whose approval this reseller waits for."""
    return list(
        session.scalars(
            select(Organization.name)
            .join(JoinRequest, JoinRequest.provider_org_id == Organization.id)
            .where(JoinRequest.reseller_org_id == reseller.id, JoinRequest.status == PENDING)
            .order_by(Organization.name)
            .limit(10)
        )
    )


def reseller_admin_org(session: Session, team_id: str, user_id: str) -> Organization:
    """The indirect reseller `user_id` of `team_id` administers; JoinRefused otherwise."""
    org = org_for_team(session, team_id)
    if org is None or org.role is not Role.indirect_reseller or not is_admin(session, org, user_id):
        raise JoinRefused("join_reseller_admins_only")
    return org


def join_provider(session: Session, *, team_id: str, user_id: str, code: str, now: datetime) -> str:
    """An existing reseller names another provider (or its first) with that provider's join
    code: the same pending request, message and approval as at set-up. Returns the provider's
    name. JoinRefused (nothing written) otherwise."""
    reseller = reseller_admin_org(session, team_id, user_id)
    row, provider = provider_for_code(session, code, now=now)
    request = redeem(
        session,
        row,
        reseller=reseller,
        provider=provider,
        user_id=user_id,
        team_id=team_id,
        now=now,
    )
    enqueue(session, request_effects(session, request), now=now)
    return provider.name


def open_invitations_between(
    session: Session, provider: Organization, reseller: Organization
) -> bool:
    found = session.scalar(
        select(Invitation.id)
        .where(
            Invitation.provider_org_id == provider.id,
            Invitation.reseller_org_id == reseller.id,
            Invitation.state.not_in(TERMINAL),
        )
        .limit(1)
    )
    return found is not None


def leave_provider(
    session: Session, *, team_id: str, user_id: str, provider_key: str, now: datetime
) -> str:
    """The reseller of `team_id` stops buying through `provider_key` (its admins only).
    Refused (JoinRefused, nothing written) when it is not one of its providers
    (`leave_not_linked`), while invitations between them are open (`leave_open_invitations`)
    or when it is its only provider (`leave_last_provider`). Returns the provider's name."""
    reseller = reseller_admin_org(session, team_id, user_id)
    provider = org_by_key(session, provider_key)
    current = providers_of(session, reseller)
    if provider is None or provider.id not in {p.id for p in current}:
        raise JoinRefused("leave_not_linked")
    if len(current) == 1:
        raise JoinRefused("leave_last_provider")
    if open_invitations_between(session, provider, reseller):
        raise JoinRefused("leave_open_invitations")
    session.execute(
        delete(ResellerProvider).where(
            ResellerProvider.reseller_org_id == reseller.id,
            ResellerProvider.provider_org_id == provider.id,
        )
    )
    record(
        session,
        reseller.key,
        DirectoryAction.provider_left,
        slack_actor(user_id, team_id),
        {"provider": provider.key},
        clock=lambda: now,
    )
    views = org_views(session, [reseller, provider])
    notice = surfaces.notice_message(
        "reseller_left",
        lang=views[provider.id].lang,
        reseller=reseller.name,
        user=user_id,
    )
    message = notice_blocks(notice)
    stamp = int(now.timestamp())
    enqueue(
        session,
        to_admins(
            session,
            provider,
            views[provider.id].team_id,
            message,
            f"left{reseller.id}.{provider.id}.{stamp}",
        ),
        now=now,
    )
    return provider.name
