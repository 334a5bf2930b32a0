"""Register an organization's own callback URL with Partner Center through its own Partner
Center connection (bot/core/connections.py): `mcbot webhook register --org KEY` and the Home
tab's "Register webhook" button (docs/webhooks.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core.connections import clients_of
from bot.core.outbox.routing import org_webhook_url
from bot.core.partner_center.events import SUBSCRIBED_EVENTS
from bot.core.services import Services
from bot.core.store.models import Organization


@dataclass(frozen=True)
class Registration:
    """What happened: `registered` (through the connection), else `no_connection` (register
    by hand at `url`) or `no_org`."""

    outcome: str
    key: str = ""
    name: str = ""
    url: str = ""


async def register_org_webhook(services: Services, org_id: int, base_url: str) -> Registration:
    """Register the organization's URL ({base_url}/partner-center/webhooks/{its token}) with
    its own Partner Center, and record it. Raises PartnerCenterError / InvalidRequest when
    Partner Center refuses (nothing recorded)."""

    def read(session: Session) -> tuple[str, str, str | None] | None:
        row = session.execute(
            select(Organization.key, Organization.name, Organization.webhook_token).where(
                Organization.id == org_id
            )
        ).first()
        return (row[0], row[1], row[2]) if row is not None else None

    found = await services.run(read)
    if found is None or not found[2]:
        return Registration("no_org")
    key, name, token = found[0], found[1], found[2]
    url = org_webhook_url(base_url, token)
    clients = await clients_of(services, org_id)
    client = clients.partner_center if clients is not None else None
    if client is None:
        return Registration("no_connection", key, name, url)
    await client.register_webhook(url, list(SUBSCRIBED_EVENTS))
    now = services.clock()

    def record(session: Session) -> None:
        session.execute(
            update(Organization)
            .where(Organization.id == org_id)
            .values(webhook_registered_url=url, webhook_registered_at=now)
        )

    await services.run(record)
    return Registration("registered", key, name, url)
