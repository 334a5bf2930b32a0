"""Where an invitation is shown in Slack, so every copy is updated in place.

The provider's message lives on the invitation (`slack_channel`, `slack_ts`); other copies
(the reseller's channel) are `InvitationMessage` rows, one per purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.core.store.errors import NotFoundError
from bot.core.store.models import Invitation, InvitationMessage, MessagePurpose


@dataclass(frozen=True)
class MessageLocation:
    channel: str
    ts: str
    purpose: MessagePurpose


def record_message(
    session: Session, invitation_id: int, channel: str, ts: str, purpose: MessagePurpose
) -> None:
    """Remember a message showing the invitation. Recording the same purpose again replaces
    the old location (e.g. the message was posted anew). Flushes, never commits."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFoundError(f"no invitation {invitation_id}", code="invitation_not_found")
    if purpose is MessagePurpose.provider:
        invitation.slack_channel, invitation.slack_ts = channel, ts
    else:
        existing = next((m for m in invitation.messages if m.purpose is purpose), None)
        if existing is None:
            invitation.messages.append(InvitationMessage(channel=channel, ts=ts, purpose=purpose))
        else:
            existing.channel, existing.ts = channel, ts
    session.flush()


def message_locations(invitation: Invitation) -> list[MessageLocation]:
    """Every Slack message showing `invitation`, the provider's first."""
    locations = []
    if invitation.slack_channel and invitation.slack_ts:
        provider = MessageLocation(
            invitation.slack_channel, invitation.slack_ts, MessagePurpose.provider
        )
        locations.append(provider)
    locations.extend(MessageLocation(m.channel, m.ts, m.purpose) for m in invitation.messages)
    return locations
