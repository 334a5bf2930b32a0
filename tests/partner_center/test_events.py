from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.partner_center.events import (
    SUBSCRIBED_EVENTS,
    EventKind,
    EventParseError,
    EventParseReason,
    parse_event,
)

CUSTOMER = "4b2a6e33-8791-4386-bd2b-0d55baf25039"
RELATIONSHIP = "0fa2b3c4-1111-2222-3333-444455556666-7a8b9c0d-aaaa-bbbb-cccc-ddddeeeeffff"
CUSTOMER_URI = f"https://api.partnercenter.microsoft.com/v1/customers/{CUSTOMER}"
GDAP_URI = (
    f"https://api.partnercenter.microsoft.com/v1/customers/{CUSTOMER}"
    f"/granularAdminRelationships/{RELATIONSHIP}"
)
DATE = "2023-10-18T00:26:24.0159088+00:00"


def _body(**fields: Any) -> bytes:
    document = {
        "EventName": "reseller-relationship-accepted-by-customer",
        "ResourceUri": CUSTOMER_URI,
        "ResourceName": "Customer",
        "AuditUri": "https://api.partnercenter.microsoft.com/auditactivity/v1/auditrecords/x",
        "ResourceChangeUtcDate": DATE,
    }
    for name, value in fields.items():
        document[name] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("reseller-relationship-accepted-by-customer", EventKind.RELATIONSHIP_ACCEPTED),
        (
            "indirect-reseller-relationship-accepted-by-customer",
            EventKind.INDIRECT_RELATIONSHIP_ACCEPTED,
        ),
        ("dap-admin-relationship-approved", EventKind.DAP_APPROVED),
        ("granular-admin-relationship-approved", EventKind.GDAP_APPROVED),
        ("granular-admin-relationship-activated", EventKind.GDAP_ACTIVATED),
        ("dap-admin-relationship-terminated", EventKind.ACCESS_ENDED),
        ("granular-admin-relationship-terminated", EventKind.ACCESS_ENDED),
        ("granular-admin-relationship-expired", EventKind.ACCESS_ENDED),
        ("test-created", EventKind.TEST),
        ("subscription-updated", EventKind.UNKNOWN),
        ("Granular-Admin-Relationship-Approved", EventKind.GDAP_APPROVED),
    ],
)
def test_every_event_name(name: str, kind: EventKind) -> None:
    assert parse_event(_body(EventName=name)).kind is kind


def test_subscribed_events_cover_the_documented_list() -> None:
    assert set(SUBSCRIBED_EVENTS) == {
        "reseller-relationship-accepted-by-customer",
        "indirect-reseller-relationship-accepted-by-customer",
        "dap-admin-relationship-approved",
        "granular-admin-relationship-approved",
        "granular-admin-relationship-activated",
        "dap-admin-relationship-terminated",
        "granular-admin-relationship-terminated",
        "granular-admin-relationship-expired",
        "test-created",
    }


def test_documented_payload() -> None:
    event = parse_event(_body())
    assert event.name == "reseller-relationship-accepted-by-customer"
    assert event.resource_uri == CUSTOMER_URI
    assert event.resource_name == "Customer"
    assert event.audit_uri is not None
    assert event.customer_id == CUSTOMER
    assert event.relationship_id is None
    assert event.changed_at == datetime(2023, 10, 18, 0, 26, 24, 15908, tzinfo=UTC)
    assert event.changed_at.tzinfo is not None and event.changed_at.utcoffset() is not None


@pytest.mark.parametrize("style", [str.lower, str.upper, lambda key: key[0].lower() + key[1:]])
def test_property_case_variants(style: Any) -> None:
    document = json.loads(_body())
    event = parse_event(json.dumps({style(key): value for key, value in document.items()}).encode())
    assert event == parse_event(_body())


def test_nulls_are_tolerated() -> None:
    event = parse_event(_body(ResourceUri=None, AuditUri=None, ResourceName=None))
    assert event.resource_uri is None and event.audit_uri is None and event.resource_name is None
    assert event.customer_id is None and event.relationship_id is None


def test_missing_optional_fields_are_tolerated() -> None:
    event = parse_event(b'{"eventName": "test-created"}')
    assert event.kind is EventKind.TEST
    assert event.changed_at is None


def test_http_scheme_and_upper_case_guid() -> None:
    uri = CUSTOMER_URI.replace("https://", "http://").replace(CUSTOMER, CUSTOMER.upper())
    assert parse_event(_body(ResourceUri=uri)).customer_id == CUSTOMER


def test_gdap_relationship() -> None:
    event = parse_event(
        _body(
            EventName="granular-admin-relationship-approved",
            ResourceUri=GDAP_URI,
            ResourceName="GranularAdminRelationship",
        )
    )
    assert event.relationship_id == RELATIONSHIP
    assert event.customer_id == CUSTOMER


def test_relationship_without_customer() -> None:
    uri = f"https://api.partnercenter.microsoft.com/v1/granularAdminRelationships/{RELATIONSHIP}"
    event = parse_event(_body(ResourceUri=uri))
    assert (event.relationship_id, event.customer_id) == (RELATIONSHIP, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-10-18T00:26:24.0159088+00:00", datetime(2023, 10, 18, 0, 26, 24, 15908, tzinfo=UTC)),
        ("2023-10-18T02:26:24.0159088+02:00", datetime(2023, 10, 18, 0, 26, 24, 15908, tzinfo=UTC)),
        ("2023-10-17T19:26:24.5-05:00", datetime(2023, 10, 18, 0, 26, 24, 500000, tzinfo=UTC)),
        ("2023-10-18T00:26:24Z", datetime(2023, 10, 18, 0, 26, 24, tzinfo=UTC)),
        ("2023-10-18T00:26:24.0159088", datetime(2023, 10, 18, 0, 26, 24, 15908, tzinfo=UTC)),
    ],
)
def test_change_dates(raw: str, expected: datetime) -> None:
    changed_at = parse_event(_body(ResourceChangeUtcDate=raw)).changed_at
    assert changed_at == expected and changed_at.tzinfo is UTC


def test_dedupe_key_is_stable_across_retries() -> None:
    first = parse_event(_body())
    retry = parse_event(json.dumps(json.loads(_body()), indent=2).encode())
    lowered = parse_event(
        json.dumps({k.lower(): v for k, v in json.loads(_body()).items()}).encode()
    )
    assert first.dedupe_key == retry.dedupe_key == lowered.dedupe_key
    assert len(first.dedupe_key) == 64


def test_same_instant_in_another_offset_is_the_same_change() -> None:
    assert (
        parse_event(_body()).dedupe_key
        == parse_event(_body(ResourceChangeUtcDate="2023-10-18T01:26:24.0159088+01:00")).dedupe_key
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"ResourceChangeUtcDate": "2023-10-18T00:26:25.0159088+00:00"},
        {"ResourceChangeUtcDate": "2023-10-18T00:26:24.0159089+00:00"},  # 100 ns later
        {"EventName": "granular-admin-relationship-approved"},
        {"ResourceUri": CUSTOMER_URI.replace(CUSTOMER[-1], "0")},
    ],
)
def test_dedupe_key_differs_for_another_change(changes: dict[str, str]) -> None:
    assert parse_event(_body(**changes)).dedupe_key != parse_event(_body()).dedupe_key


def test_audit_uri_does_not_affect_dedupe() -> None:
    assert parse_event(_body(AuditUri=None)).dedupe_key == parse_event(_body()).dedupe_key


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", EventParseReason.MALFORMED_JSON),
        (b"\xff\xfe", EventParseReason.MALFORMED_JSON),
        (b"", EventParseReason.MALFORMED_JSON),
        (b"[]", EventParseReason.NOT_AN_OBJECT),
        (b'"test-created"', EventParseReason.NOT_AN_OBJECT),
        (b'{"ResourceUri": null}', EventParseReason.MISSING_EVENT_NAME),
        (b'{"EventName": null}', EventParseReason.MISSING_EVENT_NAME),
        (b'{"EventName": "  "}', EventParseReason.MISSING_EVENT_NAME),
        (b'{"EventName": 7}', EventParseReason.BAD_FIELD_TYPE),
        (b'{"EventName": "test-created", "ResourceUri": {}}', EventParseReason.BAD_FIELD_TYPE),
        (b'{"EventName": "a", "eventName": "b"}', EventParseReason.CONFLICTING_FIELDS),
        (
            b'{"EventName": "test-created", "ResourceChangeUtcDate": "yesterday"}',
            EventParseReason.BAD_CHANGE_DATE,
        ),
        (
            b'{"EventName": "test-created", "ResourceChangeUtcDate": "2023-13-45T00:00:00Z"}',
            EventParseReason.BAD_CHANGE_DATE,
        ),
        (
            b'{"EventName": "test-created", "ResourceChangeUtcDate": "2023-10-18T00:00:00+25:00"}',
            EventParseReason.BAD_CHANGE_DATE,
        ),
    ],
)
def test_malformed(body: bytes, reason: EventParseReason) -> None:
    with pytest.raises(EventParseError) as caught:
        parse_event(body)
    assert caught.value.reason is reason


def test_duplicate_keys_agreeing_or_null_are_fine() -> None:
    event = parse_event(
        b'{"EventName": "test-created", "eventName": "test-created", "auditUri": null}'
    )
    assert event.kind is EventKind.TEST


def test_byte_order_mark_is_tolerated() -> None:
    assert parse_event(b"\xef\xbb\xbf" + _body()).customer_id == CUSTOMER
