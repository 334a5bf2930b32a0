from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from policy.links import (
    LinkInputError,
    gdap_approval_link,
    indirect_reseller_link,
    reseller_relationship_link,
)

PROVIDER = "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00"
RESELLER = "0b7e4f52-3c1d-4a9e-8f20-7d6c5b4a3e21"


def query(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def test_reseller_link_with_and_without_dap() -> None:
    link = reseller_relationship_link(PROVIDER.upper(), delegated_admin=True)
    assert link == (
        "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
        f"&partnerId={PROVIDER}&msppId=0&DAP=true#/BillingAccounts/partner-invitation"
    )
    assert query(reseller_relationship_link(PROVIDER))["DAP"] == ["false"]


def test_indirect_reseller_link() -> None:
    link = indirect_reseller_link(RESELLER, "1234567", PROVIDER)
    assert link.startswith("https://admin.microsoft.com/Adminportal/Home?")
    assert link.endswith("#/BillingAccounts/partner-invitation")
    assert query(link) == {
        "invType": ["IndirectResellerRelationship"],
        "partnerId": [RESELLER],
        "msppId": ["1234567"],
        "indirectCSPId": [PROVIDER],
        "DAP": ["false"],
    }


def test_legacy_links() -> None:
    assert reseller_relationship_link(PROVIDER, legacy=True) == (
        "https://portal.office.com/partner/partnersignup.aspx?type=ResellerRelationship"
        f"&id={PROVIDER}&csp=1&msppid=0"
    )
    link = indirect_reseller_link(RESELLER, 42, PROVIDER, legacy=True)
    assert query(link) == {
        "type": ["IndirectResellerRelationship"],
        "id": [RESELLER],
        "csp": ["1"],
        "msppid": ["42"],
        "indirectCSP": [PROVIDER],
    }


def test_gdap_link() -> None:
    rel = "a8b7c6d5-1111-2222-3333-444455556666-7777aaaa-8888"
    assert gdap_approval_link(rel) == (
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
        f"granularAdminRelationships/{rel}"
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: reseller_relationship_link("not-a-guid"), "partner_tenant_id"),
        (lambda: reseller_relationship_link(PROVIDER[:-1] + "g"), "partner_tenant_id"),
        (
            lambda: reseller_relationship_link("6f1d2c9e8a4b-4c1e-9f3a-2b7d-5e8c1a00"),
            "partner_tenant_id",
        ),
        (lambda: indirect_reseller_link(RESELLER, "12a4", PROVIDER), "reseller_partner_id"),
        (lambda: indirect_reseller_link(RESELLER, "", PROVIDER), "reseller_partner_id"),
        (lambda: indirect_reseller_link(RESELLER, "1", "x"), "provider_tenant_id"),
        (lambda: indirect_reseller_link(PROVIDER, "1", PROVIDER), "provider_tenant_id"),
        (lambda: gdap_approval_link("../../etc"), "relationship_id"),
    ],
)
def test_bad_inputs_name_the_field(call: object, field: str) -> None:
    with pytest.raises(LinkInputError) as info:
        call()  # type: ignore[operator]
    assert info.value.field == field
    assert field in str(info.value)
