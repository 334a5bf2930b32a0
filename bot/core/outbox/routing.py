"""Which organization a verified Partner Center delivery belongs to (docs/webhooks.md,
"Webhooks per organization"). Run on the request path AFTER the signature is verified: nothing
here reads, writes or calls out for a request that has not proved it comes from Partner Center.

Each organization has its own callback URL, `POST /partner-center/webhooks/{token}` (the
token is a secret: found by its SHA-256, `organizations.webhook_token_hash`; docs/secrets.md);
the legacy `POST /partner-center/webhooks` is the URL of the organization PARTNER_ORG_KEY names
(else of the only organization that is not an indirect reseller, as before).

A delivery belongs to the organization whose URL it reached when (our rule, in this order):
1. the resource it names is one the organization knows: the customer tenant id of one of its
   invitations (as provider or reseller), or a GDAP relationship id one of them records;
2. else, when the organization has a usable Partner Center connection (its own, or for the
   organization PARTNER_ORG_KEY names the legacy settings: bot/core/connections.py), GET the
   customer through it: found → it belongs; Partner Center says it is not this partner's
   customer (404/403) → refused; Partner Center unreachable → "try later" (503, Partner Center
   retries); the connection turns out expired → as if it had none;
3. else, when another organization's invitations know the resource → refused: it is theirs;
4. else (a customer nobody here knows yet, e.g. the acceptance of an invitation created
   without a tenant id): it belongs, and, unmatched, is offered only to this organization.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from bot.core.partner_center.client import PartnerCenterClient
from bot.core.partner_center.errors import ConnectionExpired, PartnerCenterError
from bot.core.partner_center.events import WebhookEvent
from bot.core.store.directory import self_org, self_org_id
from bot.core.store.models import Invitation, Organization
from bot.core.store.secrets import token_hash

# What new_webhook_token() makes (token_urlsafe(24): 32 characters); checked before any
# database read, so a malformed path costs nothing.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Addressee:
    """The organization whose URL a delivery reached."""

    org_id: int
    key: str
    legacy: bool  # reached the legacy URL (PARTNER_ORG_KEY's organization)
    # it is PARTNER_ORG_KEY's organization (the legacy URL's, whatever URL was used): the
    # deployment's Partner Center credentials are its connection
    deployment_org: bool


class Verdict(enum.StrEnum):
    """The outcome of rules 2 to 4 (rule 1, a resource the organization knows, is settled
    where the delivery is stored in the transaction that read it: bot/http/webhooks.py)."""

    CONFIRMED = "confirmed"  # rule 2, Partner Center found the customer
    NEW = "new"  # rule 4
    NOT_ITS_CUSTOMER = "not_its_customer"  # rule 2, Partner Center did not
    OTHERS = "others"  # rule 3
    TRY_LATER = "try_later"  # rule 2, Partner Center unreachable

    @property
    def belongs(self) -> bool:
        return self in (Verdict.CONFIRMED, Verdict.NEW)


def addressee_by_token(
    session: Session, token: str, partner_org_key: str | None
) -> Addressee | None:
    """The organization with this callback token (a unique index read by its hash), or None."""
    if not TOKEN_SHAPE.match(token):
        return None
    row = session.execute(
        select(Organization.id, Organization.key).where(
            Organization.webhook_token_hash == token_hash(token)
        )
    ).first()
    if row is None:
        return None
    deployment = row.id == self_org_id(session, partner_org_key)
    return Addressee(row.id, row.key, legacy=False, deployment_org=deployment)


def legacy_addressee(session: Session, partner_org_key: str | None) -> Addressee | None:
    """The organization the legacy URL belongs to, or None (no PARTNER_ORG_KEY and not one
    organization to default to: then deliveries are handled as before this revision)."""
    found = self_org(session, partner_org_key)
    if found is None:
        return None
    org_id, key = found
    return Addressee(org_id, key, legacy=True, deployment_org=True)


def _knowing(event: WebhookEvent) -> ColumnElement[bool] | None:
    """The condition an invitation meets when it knows the event's resource."""
    if event.relationship_id:
        return or_(
            Invitation.gdap_relationship_id == event.relationship_id,
            Invitation.reseller_gdap_relationship_id == event.relationship_id,
        )
    if event.customer_id:
        return Invitation.customer_tenant_id == event.customer_id
    return None


def known_by(session: Session, org_id: int, event: WebhookEvent) -> tuple[bool, bool]:
    """(the organization knows the resource, another organization does): two bounded reads
    driven by the tenant id / relationship id indexes."""
    condition = _knowing(event)
    if condition is None:
        return False, False
    party = or_(Invitation.provider_org_id == org_id, Invitation.reseller_org_id == org_id)
    mine = session.scalar(select(Invitation.id).where(condition, party).limit(1))
    if mine is not None:
        return True, False
    # none of this organization's: any invitation that knows it is another's
    theirs = session.scalar(select(Invitation.id).where(condition).limit(1))
    return False, theirs is not None


async def customer_confirmed(client: PartnerCenterClient, customer_id: str) -> Verdict | None:
    """Rule 2: ask the organization's own Partner Center whether the customer is its own; None
    when its connection turned out expired (rules 3 and 4 decide)."""
    try:
        await client.get_customer(customer_id)
    except ConnectionExpired:
        return None
    except PartnerCenterError as exc:
        if exc.status in (400, 403, 404):
            return Verdict.NOT_ITS_CUSTOMER
        return Verdict.TRY_LATER
    return Verdict.CONFIRMED


# ------------------------------------------------------------------ URLs and their state
WEBHOOK_PATH = "/partner-center/webhooks"


class WebhookState(enum.StrEnum):
    REGISTERED = "registered"  # its own URL, registered through mcbot (or recorded by hand)
    LEGACY = "legacy"  # PARTNER_ORG_KEY's organization: the legacy URL reaches it
    NOT_REGISTERED = "not registered"


def org_webhook_path(token: str) -> str:
    return f"{WEBHOOK_PATH}/{token}"


def org_webhook_url(base_url: str, token: str) -> str:
    """The organization's callback URL under the deployment's public origin."""
    return base_url.rstrip("/") + org_webhook_path(token)


def webhook_state(org: Organization, legacy_org_id: int | None) -> WebhookState:
    """registered: the URL recorded for it is its own URL (whatever the origin: its last path
    segment is the token whose hash the organization has; nothing is decrypted); legacy: it is
    the organization the legacy URL reaches and its own URL is not registered; else not."""
    registered = org.webhook_registered_url
    if registered and org.webhook_token_hash:
        prefix, _, token = registered.rpartition("/")
        if prefix.endswith(WEBHOOK_PATH) and token_hash(token) == org.webhook_token_hash:
            return WebhookState.REGISTERED
    if legacy_org_id is not None and org.id == legacy_org_id:
        return WebhookState.LEGACY
    return WebhookState.NOT_REGISTERED
