"""The Slack side effects of an invitation's change, as outbox rows with their messages
rendered (validated Block Kit, in each audience's language). Building them only reads, so the
worker renders before its writing transaction (SQLite's single writer is never held while a
template renders); the caller queues them with the change, in one transaction.

For a change of state:
- every message showing the invitation is updated in place (`surfaces.invitation_message`,
  as `invitations.refresh_messages` does);
- a reply in the thread of the provider's invitation message (or a post in the provider's
  notification channel when there is no message);
- a DM to the person who created the invitation;
- for a reseller's invitation, a post in the reseller's notification channel.

The reseller's own GDAP relationship (edition 2026-11: `reseller_gdap_requested`/`_granted`)
leaves the state and version alone: its messages are keyed by the change (each happens once),
and the provider's person gets no DM about it.

Dedupe keys come from the invitation's version after the change (one change, one set of
notifications, however often it is derived) or, for a notice without a change of state
(access ended), from the event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from bot.core import gdap
from bot.core.gdap import editions_of
from bot.core.language import TEAM, USER, preferences, team_language
from bot.core.outbox.queue import Effect
from bot.core.snapshots import channel_team
from bot.core.store.invitations import GDAP_STATES
from bot.core.store.lifecycle import InvitationState
from bot.core.store.models import (
    InboxEvent,
    Invitation,
    JobStatus,
    MessagePurpose,
    Organization,
    OrganizationTeam,
    OutboxEffect,
    OutboxMessage,
)
from bot.core.ui import surfaces
from bot.core.ui.i18n import DEFAULT_LANGUAGE
from bot.core.ui.metadata import LinkChoice
from bot.core.ui.surfaces import NotificationAudience, NotificationChange
from policy import CURRENT

PENDING_STATES = (
    InvitationState.created,
    InvitationState.sent,
    InvitationState.sent_to_reseller,
    InvitationState.sent_to_customer,
)
MAX_LINK_OPTIONS = 100
#: changes of the reseller's own GDAP relationship (edition 2026-11): the invitation's state and
#: version stay; each happens once per invitation
RESELLER_GDAP_CHANGES = frozenset({"reseller_gdap_requested", "reseller_gdap_granted"})


def _payload(message: dict[str, Any]) -> dict[str, Any]:
    return {"message": {"text": message["text"], "blocks": message["blocks"]}}


def change_effects(
    session: Session,
    view: Any,
    change: NotificationChange,
    *,
    event_id: int | None = None,
    event_name: str | None = None,
    linked_by: str | None = None,
    approval_url: str | None = None,
    default_edition: str = CURRENT,
    editions: Mapping[int, str] | None = None,
) -> list[Effect]:
    """The notifications of `change`; `view` is the InvitationView as it is after it.
    `default_edition`: the POLICY_EDITION setting, for workspaces that chose none (the GDAP
    buttons follow each side's edition in force, bot/core/gdap.py). `editions`: the
    organizations' editions already read in this transaction (`editions_of`; the inbox's
    batch reads them once), read here for an organization it lacks."""
    own_gdap = change in RESELLER_GDAP_CHANGES  # the reseller's own: the version stays
    if change == "access_ended":
        base = f"evt{event_id}.inv{view.id}"
    elif own_gdap:
        base = f"inv{view.id}.{change}"
    else:
        base = f"inv{view.id}.v{view.version}"
    effects: list[Effect] = []
    provider, reseller = view.provider, view.reseller
    offers: dict[str, gdap.GdapKind | None] = {}
    if view.state in GDAP_STATES:  # GDAP buttons exist only once the customer accepted
        ids = [provider.id] + ([reseller.id] if reseller else [])
        known = editions if editions is not None else {}
        if any(org_id not in known for org_id in ids):
            known = editions_of(session, ids, default_edition)
        offers["provider"] = gdap.offer(view, "provider", known[provider.id])
        if reseller is not None:
            offers["reseller"] = gdap.offer(view, "reseller", known[reseller.id])

    def add(
        suffix: str, effect: OutboxEffect, channel: str, message: dict[str, Any], **kw: Any
    ) -> None:
        ids = {"invitation_id": view.id, "event_id": event_id}
        effects.append(Effect(f"{base}.{suffix}", effect, channel, _payload(message), **ids, **kw))

    def note(audience: NotificationAudience, lang: str) -> dict[str, Any]:
        side = "reseller" if audience == "reseller" else "provider"
        return surfaces.notification_message(
            view,
            change=change,
            audience=audience,
            event_name=event_name,
            linked_by=linked_by,
            approval_url=approval_url,
            gdap=_value(offers.get(side)) if change == "accepted" else None,
            lang=lang,
        )

    if change != "access_ended":
        for loc in view.locations:
            side = loc.purpose.value
            org = reseller if loc.purpose is MessagePurpose.reseller and reseller else provider
            message = surfaces.invitation_message(
                view, side=side, lang=org.lang, gdap=_value(offers.get(side))
            )
            add(
                f"update.{side}",
                OutboxEffect.update,
                loc.channel,
                message,
                ts=loc.ts,
                team_id=org.team_for(loc.channel),
            )
    thread = next((loc for loc in view.locations if loc.purpose is MessagePurpose.provider), None)
    if thread is not None:
        message = note("provider", provider.lang)
        add(
            "reply",
            OutboxEffect.reply,
            thread.channel,
            message,
            thread_ts=thread.ts,
            team_id=provider.team_for(thread.channel),
        )
    elif provider.notification_channel:
        message = note("provider", provider.lang)
        add(
            "provider",
            OutboxEffect.post,
            provider.notification_channel,
            message,
            team_id=provider.team_for(provider.notification_channel),
        )
    if view.created_by_user and not own_gdap:  # the provider's person: not the reseller's news
        lang = user_language(session, view.created_by_user, provider.key)
        # the creator is one of the provider's people, in the provider's workspace
        add("dm", OutboxEffect.dm, view.created_by_user, note("dm", lang), team_id=provider.team_id)
    if reseller is not None and reseller.notification_channel:
        message = note("reseller", reseller.lang)
        add(
            "reseller",
            OutboxEffect.post,
            reseller.notification_channel,
            message,
            team_id=reseller.team_for(reseller.notification_channel),
        )
    return effects


def _value(kind: gdap.GdapKind | None) -> str | None:
    return kind.value if kind is not None else None


_LANGUAGES: dict[tuple[int, str, str], tuple[float, str]] = {}
LANGUAGE_TTL = 60.0  # seconds; `/multichannel language` takes effect in DMs within a minute


def user_language(session: Session, user_id: str, org_key: str) -> str:
    """A DM's language: the user's own choice, else their workspace's default (their Slack
    locale would need a Web API call). Remembered for LANGUAGE_TTL seconds."""
    key = (id(session.get_bind()), user_id, org_key)
    hit = _LANGUAGES.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    teams = list(
        session.scalars(
            select(OrganizationTeam.team_id).join(Organization).where(Organization.key == org_key)
        )
    )
    found = preferences(session, user_id=user_id, team_ids=teams)
    lang = found.get(USER) or found.get(TEAM) or DEFAULT_LANGUAGE
    if len(_LANGUAGES) > 10_000:
        _LANGUAGES.clear()
    _LANGUAGES[key] = (time.monotonic() + LANGUAGE_TTL, lang)
    return lang


def _superseded_flag() -> Any:
    """True for a claimed update of a message when a newer update of the same message is
    queued (it shows the same, or a newer, state: this one need not go out). A column of the
    statement that loads the claimed rows (`claims.claim_flagged`), not a read per update: an
    index probe of (status, pace_key, id), the newer update being in the same pace key."""
    newer = aliased(OutboxMessage)
    return and_(
        OutboxMessage.effect == OutboxEffect.update,
        exists().where(
            newer.status == JobStatus.pending,
            newer.pace_key == OutboxMessage.pace_key,
            newer.id > OutboxMessage.id,
            newer.effect == OutboxEffect.update,
            newer.channel == OutboxMessage.channel,
            newer.ts == OutboxMessage.ts,
        ),
    ).label("superseded")


#: built once: the worker claims many times a second
SUPERSEDED = _superseded_flag()


# ------------------------------------------------------------------------------ unmatched
def event_snapshot(event: InboxEvent, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the unmatched-acceptance message shows about the event."""
    detail = {**(event.detail or {}), **(detail or {})}
    return {
        "id": event.id,
        "name": event.event_name,
        "customer_id": event.customer_id,
        "company": detail.get("company"),
        "domain": detail.get("domain"),
        "changed_at": event.changed_at,
    }


def link_options(
    session: Session, org: Organization, event_id: int
) -> tuple[list[dict[str, str]], int]:
    """The organization's pending invitations (newest first) as select options linking them
    to the event, and how many more there are than a select can list."""

    where = [Invitation.provider_org_id == org.id, Invitation.state.in_(PENDING_STATES)]
    total = session.scalar(select(func.count()).select_from(Invitation).where(*where)) or 0
    found = session.scalars(
        select(Invitation).where(*where).order_by(Invitation.id.desc()).limit(MAX_LINK_OPTIONS)
    )
    options = []
    for inv in found:
        domain = f" ({inv.customer_domain})" if inv.customer_domain else ""
        text = f"{inv.ref} · {inv.customer_name}{domain}"
        options.append({"text": text, "value": LinkChoice(e=event_id, i=inv.id).dump()})
    return options, max(0, total - len(options))


def unmatched_effects(
    session: Session, snapshot: dict[str, Any], org: Organization
) -> list[Effect]:
    """The acceptance, in the organization's notification channel, with a select of its
    pending invitations (none when the organization has no channel)."""
    if not org.notification_channel:
        return []
    options, more = link_options(session, org, snapshot["id"])
    lang = team_language(session, [team.team_id for team in org.teams])
    message = surfaces.unmatched_message(event=snapshot, options=options, more=more, lang=lang)
    key = f"evt{snapshot['id']}.unmatched"
    channel = org.notification_channel
    team = channel_team(org, channel)
    return [
        Effect(
            key,
            OutboxEffect.post,
            channel,
            _payload(message),
            event_id=snapshot["id"],
            team_id=team,
        )
    ]
