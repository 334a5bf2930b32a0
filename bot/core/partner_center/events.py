"""Partner Center webhook payloads, parsed defensively (call only after signature checks).

Property names arrive in any case (`EventName`, `eventName`), `ResourceUri` and `AuditUri` may
be null, the scheme may be http, and the change date carries 7 fractional digits
(`2023-10-18T00:26:24.0159088+00:00`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict


class EventKind(StrEnum):
    RELATIONSHIP_ACCEPTED = "relationship_accepted"
    INDIRECT_RELATIONSHIP_ACCEPTED = "indirect_relationship_accepted"
    DAP_APPROVED = "dap_approved"
    GDAP_APPROVED = "gdap_approved"
    GDAP_ACTIVATED = "gdap_activated"
    ACCESS_ENDED = "access_ended"
    TEST = "test"
    UNKNOWN = "unknown"


EVENT_KINDS: dict[str, EventKind] = {
    "reseller-relationship-accepted-by-customer": EventKind.RELATIONSHIP_ACCEPTED,
    "indirect-reseller-relationship-accepted-by-customer": (
        EventKind.INDIRECT_RELATIONSHIP_ACCEPTED
    ),
    "dap-admin-relationship-approved": EventKind.DAP_APPROVED,
    "granular-admin-relationship-approved": EventKind.GDAP_APPROVED,
    "granular-admin-relationship-activated": EventKind.GDAP_ACTIVATED,
    "dap-admin-relationship-terminated": EventKind.ACCESS_ENDED,
    "granular-admin-relationship-terminated": EventKind.ACCESS_ENDED,
    "granular-admin-relationship-expired": EventKind.ACCESS_ENDED,
    "test-created": EventKind.TEST,
}

# What to register the webhook for: every event that tells us a customer granted or lost access.
SUBSCRIBED_EVENTS: tuple[str, ...] = tuple(EVENT_KINDS)


class EventParseReason(StrEnum):
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_EVENT_NAME = "missing_event_name"
    BAD_FIELD_TYPE = "bad_field_type"
    CONFLICTING_FIELDS = "conflicting_fields"
    BAD_CHANGE_DATE = "bad_change_date"


class EventParseError(Exception):
    def __init__(self, reason: EventParseReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class WebhookEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: EventKind
    resource_uri: str | None
    resource_name: str | None
    audit_uri: str | None
    changed_at: datetime | None
    customer_id: str | None
    relationship_id: str | None
    dedupe_key: str


_FIELDS = {
    "eventname": "name",
    "resourceuri": "resource_uri",
    "resourcename": "resource_name",
    "audituri": "audit_uri",
    "resourcechangeutcdate": "change_date",
}

_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$"
)
_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CUSTOMER = re.compile(rf"/customers/({_GUID})(?:/|$)", re.IGNORECASE)
_RELATIONSHIP = re.compile(
    r"/(?:granularAdminRelationships|delegatedAdminRelationships|dapAdminRelationships"
    r"|adminRelationships)/([^/]+)",
    re.IGNORECASE,
)


def parse_event(body: bytes) -> WebhookEvent:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventParseError(EventParseReason.MALFORMED_JSON, str(exc)) from exc
    if not isinstance(document, dict):
        raise EventParseError(EventParseReason.NOT_AN_OBJECT, type(document).__name__)
    fields = _known_fields(document)
    name = (fields.get("name") or "").strip()
    if not name:
        raise EventParseError(EventParseReason.MISSING_EVENT_NAME)
    resource_uri = _blank_to_none(fields.get("resource_uri"))
    raw_date = _blank_to_none(fields.get("change_date"))
    changed_at, canonical_date = _parse_date(raw_date) if raw_date else (None, "")
    path = urlsplit(resource_uri).path if resource_uri else ""
    return WebhookEvent(
        name=name,
        kind=EVENT_KINDS.get(name.lower(), EventKind.UNKNOWN),
        resource_uri=resource_uri,
        resource_name=_blank_to_none(fields.get("resource_name")),
        audit_uri=_blank_to_none(fields.get("audit_uri")),
        changed_at=changed_at,
        customer_id=_first_group(_CUSTOMER, path, lower=True),
        relationship_id=_first_group(_RELATIONSHIP, path, lower=False),
        dedupe_key=dedupe_key(name, resource_uri, canonical_date),
    )


def dedupe_key(name: str, resource_uri: str | None, canonical_date: str) -> str:
    """Same for every retry of one delivery; different for another change of the resource."""
    material = "\n".join((name.strip().lower(), (resource_uri or "").strip(), canonical_date))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _known_fields(document: dict[str, Any]) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    for key, value in document.items():
        field = _FIELDS.get(str(key).lower())
        if field is None:
            continue
        if value is not None and not isinstance(value, str):
            raise EventParseError(EventParseReason.BAD_FIELD_TYPE, str(key))
        if field in fields and fields[field] is not None and value is not None:
            if fields[field] != value:
                raise EventParseError(EventParseReason.CONFLICTING_FIELDS, str(key))
            continue
        if field not in fields or value is not None:
            fields[field] = value
    return fields


def _parse_date(raw: str) -> tuple[datetime, str]:
    """An aware UTC datetime (truncated to microseconds) and a canonical string keeping the
    full 100-nanosecond precision, used for deduplication."""
    match = _DATE.match(raw.strip())
    if match is None:
        raise EventParseError(EventParseReason.BAD_CHANGE_DATE, raw[:60])
    year, month, day, hour, minute, second, fraction, _zulu, sign, off_h, off_m = match.groups()
    digits = (fraction or "").ljust(7, "0")[:7]
    try:
        tzinfo: timezone = UTC
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            tzinfo = timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(digits[:6]),
            tzinfo=tzinfo,
        ).astimezone(UTC)
    except ValueError as exc:
        raise EventParseError(EventParseReason.BAD_CHANGE_DATE, raw[:60]) from exc
    canonical = f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{digits}Z"
    return moment, canonical


def _blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


def _first_group(pattern: re.Pattern[str], text: str, *, lower: bool) -> str | None:
    match = pattern.search(text)
    if match is None:
        return None
    return match.group(1).lower() if lower else match.group(1)
