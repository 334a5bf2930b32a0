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
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

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


PAGE = 500  # invitations read per statement (and their events in one more): bounded memory


def _invitation_row(invitation: Any) -> dict[str, Any]:
    row = {column: _plain(getattr(invitation, column, None)) for column in INVITATION_COLUMNS}
    row["provider"] = invitation.provider_key
    row["reseller"] = invitation.reseller_key
    return row


def _event_row(event: Any) -> dict[str, Any]:
    return {column: _plain(getattr(event, column)) for column in EVENT_COLUMNS}


def _records(session: Session, org: Organization | None) -> Iterator[dict[str, Any]]:
    """Each invitation with its audit trail, in id order, PAGE at a time (keyset pagination;
    plain rows, not ORM objects, so nothing accumulates in the session)."""
    provider, reseller = aliased(Organization), aliased(Organization)
    columns = [c for c in Invitation.__table__.c if c.name in INVITATION_COLUMNS or c.name == "id"]
    query = (
        select(*columns, provider.key.label("provider_key"), reseller.key.label("reseller_key"))
        .join(provider, provider.id == Invitation.provider_org_id)
        .outerjoin(reseller, reseller.id == Invitation.reseller_org_id)
        .order_by(Invitation.id)
        .limit(PAGE)
    )
    if org is not None:
        query = query.where(visibility_clause(org))
    after = 0
    while True:
        page = session.execute(query.where(Invitation.id > after)).all()
        if not page:
            return
        events: dict[int, list[Any]] = defaultdict(list)
        for event in session.execute(
            select(AuditEvent.__table__)
            .where(AuditEvent.invitation_id.in_([row.id for row in page]))
            .order_by(AuditEvent.at, AuditEvent.id)
        ):
            events[event.invitation_id].append(event)
        for row in page:
            yield {**_invitation_row(row), "audit": [_event_row(e) for e in events[row.id]]}
        after = page[-1].id


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def stream_export(
    session: Session, fmt: ExportFormat, org: Organization | None = None
) -> Iterator[str]:
    """All invitations (or only those `org` may see) with their audit trails, as pieces of
    text to write one after the other: memory stays flat however many there are."""
    if fmt not in FORMATS:
        raise StoreError(f"unknown export format {fmt!r}; use csv or json", code="unknown_format")
    return _json(session, org) if fmt == "json" else _csv(session, org)


def _json(session: Session, org: Organization | None) -> Iterator[str]:
    # What json.dumps({"invitations": [...]}, indent=2) writes, one record at a time.
    first = True
    for record in _records(session, org):
        text = json.dumps(record, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield ('{\n  "invitations": [\n    ' if first else ",\n    ") + text
        first = False
    yield '{\n  "invitations": []\n}\n' if first else "\n  ]\n}\n"


def _csv(session: Session, org: Organization | None) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in _records(session, org):
        base = {column: _cell(record[column]) for column in INVITATION_COLUMNS}
        for event in record["audit"] or [{}]:
            writer.writerow({**base, **{f"event_{c}": _cell(event.get(c)) for c in EVENT_COLUMNS}})
        if out.tell() > 65536:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def export_invitations(session: Session, fmt: ExportFormat, org: Organization | None = None) -> str:
    """The whole export as one string (small exports, tests); `stream_export` for files."""
    return "".join(stream_export(session, fmt, org))
