"""Invitations with their audit trail, as JSON or CSV (for auditors and spreadsheets).

JSON: `{"invitations": [{...invitation..., "audit": [{...event...}, ...]}, ...]}`.
CSV: one row per audit event, the invitation's columns repeated, then `event_*` columns.
Times are ISO 8601 UTC. In CSV, a text cell that a spreadsheet would run as a formula
(starting with = + - @ or a tab/carriage return) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.store.access import visibility_clause
from bot.core.store.errors import StoreError
from bot.core.store.models import AuditEvent, Invitation, Organization

ExportFormat = Literal["csv", "json"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "json")

INVITATION_COLUMNS = (
    "ref", "provider", "reseller", "customer_name", "customer_domain", "customer_tenant_id",
    "delegated_admin", "link", "link_source", "state", "created_at", "updated_at",
    "expires_at", "created_by_user", "created_by_team", "requested_by_user",
    "requested_by_team", "decision_id", "gdap_relationship_id", "version",
)  # fmt: skip
EVENT_COLUMNS = (
    "at", "user_id", "team_id", "action", "old_state", "new_state", "decision_id", "detail",
)  # fmt: skip
CSV_COLUMNS = INVITATION_COLUMNS + tuple(f"event_{column}" for column in EVENT_COLUMNS)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # enumerations
        return value.value
    return value


def _invitation_row(invitation: Invitation) -> dict[str, Any]:
    row = {column: _plain(getattr(invitation, column, None)) for column in INVITATION_COLUMNS}
    row["provider"] = invitation.provider.key
    row["reseller"] = invitation.reseller.key if invitation.reseller is not None else None
    return row


def _event_row(event: AuditEvent) -> dict[str, Any]:
    return {column: _plain(getattr(event, column)) for column in EVENT_COLUMNS}


def _load(session: Session, org: Organization | None) -> list[dict[str, Any]]:
    query = select(Invitation).order_by(Invitation.id)
    if org is not None:
        query = query.where(visibility_clause(org))
    invitations = list(session.scalars(query))
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    ids = [invitation.id for invitation in invitations]
    for start in range(0, len(ids), 500):  # stay under bound-parameter limits
        chunk = ids[start : start + 500]
        for event in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.invitation_id.in_(chunk))
            .order_by(AuditEvent.at, AuditEvent.id)
        ):
            events[event.invitation_id].append(event)
    return [
        {**_invitation_row(invitation), "audit": [_event_row(e) for e in events[invitation.id]]}
        for invitation in invitations
    ]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_invitations(session: Session, fmt: ExportFormat, org: Organization | None = None) -> str:
    """All invitations (or only those `org` may see) with their audit trails."""
    if fmt not in FORMATS:
        raise StoreError(f"unknown export format {fmt!r}; use csv or json", code="unknown_format")
    records = _load(session, org)
    if fmt == "json":
        return json.dumps({"invitations": records}, indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        base = {column: _cell(record[column]) for column in INVITATION_COLUMNS}
        for event in record["audit"] or [{}]:
            writer.writerow({**base, **{f"event_{c}": _cell(event.get(c)) for c in EVENT_COLUMNS}})
    return out.getvalue()
