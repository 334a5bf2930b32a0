"""Test support for notifications (tests/notify, bench/notify.py): Partner Center event
payloads, a partner directory with invitations whose messages exist in a SlackStandIn, and the
history methods the sender uses to settle rows claimed again after a crash.

Nothing here runs in production.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.store.directory import import_directory, org_by_key
from bot.store.invitations import create_invitation
from bot.store.messages import record_message
from bot.store.models import LinkSource, MessagePurpose
from bot.testkit.slack_api import SlackStandIn

PC = "https://api.partnercenter.microsoft.com"
ACCEPTED = "reseller-relationship-accepted-by-customer"
INDIRECT_ACCEPTED = "indirect-reseller-relationship-accepted-by-customer"
GDAP_APPROVED = "granular-admin-relationship-approved"
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"


def acceptance(
    customer_id: str, *, name: str = ACCEPTED, changed_at: datetime | None = None
) -> dict[str, Any]:
    """A reseller-relationship acceptance as Partner Center sends it."""
    moment = changed_at or datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    return {
        "EventName": name,
        "ResourceUri": f"{PC}/v1/customers/{customer_id}",
        "ResourceName": "Customer",
        "AuditUri": None,
        "ResourceChangeUtcDate": moment.isoformat(),
    }


def gdap_event(relationship_id: str, *, name: str = GDAP_APPROVED) -> dict[str, Any]:
    return {
        "EventName": name,
        "ResourceUri": f"{PC}/v1/granularAdminRelationships/{relationship_id}",
        "ResourceName": "GranularAdminRelationship",
        "ResourceChangeUtcDate": "2026-11-24T11:00:00.1234567+00:00",
    }


def install_history(slack: SlackStandIn) -> None:
    """`conversations.history` and `conversations.replies` answered from the stand-in's
    messages (with their metadata), as Slack does with `include_all_metadata`."""

    def history(params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        oldest = float(params.get("oldest") or 0)
        found = [m for m in slack.messages(channel) if float(m["ts"]) >= oldest]
        return {"ok": True, "messages": list(reversed(found)), "has_more": False}

    def replies(params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        found = [m for m in slack.messages(channel) if ts in (m["ts"], m.get("thread_ts"))]
        return {"ok": True, "messages": found, "has_more": False}

    slack.register("conversations.history", history)
    slack.register("conversations.replies", replies)


@dataclass(frozen=True)
class Seeded:
    """An invitation created for a test, with its provider message in the stand-in."""

    id: int
    ref: str
    tenant: str
    channel: str
    ts: str
    creator: str
    org_key: str


def directory(orgs: int, *, prefix: str = "bench") -> dict[str, Any]:
    """`orgs` direct-bill partners, each with its own Slack team and notification channel."""
    return {
        "organizations": [
            {
                "key": f"{prefix}-{n:02d}",
                "name": f"Partner {n:02d}",
                "role": "direct",
                "tenant_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{prefix}-{n}")),
                "slack_teams": [f"T0{prefix.upper()[:4]}{n:03d}"],
                "notification_channel": f"C0{prefix.upper()[:4]}{n:03d}",
                "admins": [f"U0{prefix.upper()[:4]}{n:03d}"],
            }
            for n in range(orgs)
        ]
    }


def seed(
    factory: sessionmaker[Session],
    slack: SlackStandIn,
    *,
    orgs: int,
    per_org: int,
    prefix: str = "bench",
    data: dict[str, Any] | None = None,
) -> list[Seeded]:
    """Import the directory (`data`, default `directory(orgs)`), then create `per_org`
    invitations per organization, interleaved, each with its message posted in the stand-in's
    workspace (no Web API call, so no rate limit is spent) and recorded."""
    from bot import surfaces
    from bot.invitations import InvitationView

    data = data or directory(orgs, prefix=prefix)
    keys = [entry["key"] for entry in data["organizations"]][:orgs]
    seeded: list[Seeded] = []
    with factory.begin() as session:
        import_directory(session, data)
    for n in range(per_org):
        with factory.begin() as session:
            for index, key in enumerate(keys):
                org = org_by_key(session, key)
                assert org is not None and org.notification_channel is not None
                creator = f"U0{prefix.upper()[:4]}C{index:03d}"  # one per organization
                tenant = str(uuid.uuid4())
                inv = create_invitation(
                    session,
                    provider=org,
                    customer_name=f"Customer {key} {n:03d}",
                    link=LINK,
                    link_source=LinkSource.documented_format,
                    created_by_user=creator,
                    created_by_team=org.teams[0].team_id if org.teams else "T0NONE",
                    customer_tenant_id=tenant,
                )
                message = surfaces.invitation_message(InvitationView.of(inv), side="provider")
                channel = org.notification_channel
                posted = slack.workspace.post(
                    channel,
                    {"type": "message", "text": message["text"], "blocks": message["blocks"]},
                )
                record_message(session, inv.id, channel, posted["ts"], MessagePurpose.provider)
                seeded.append(Seeded(inv.id, inv.ref, tenant, channel, posted["ts"], creator, key))
    return seeded
