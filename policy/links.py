"""Invitation link builders, from the formats Partner Center documents (partner-center.md §3).

The invitation is personalized to the *partner*, not to the customer: the same link serves every
customer. Inputs are validated; a bad one raises LinkInputError naming the field.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

ADMIN_PORTAL = "https://admin.microsoft.com/Adminportal/Home"
LEGACY_SIGNUP = "https://portal.office.com/partner/partnersignup.aspx"
GDAP_APPROVAL = (
    "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/granularAdminRelationships/"
)
_FRAGMENT = "#/BillingAccounts/partner-invitation"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_PARTNER_ID = re.compile(r"^[0-9]{1,10}$")
_RELATIONSHIP_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class LinkInputError(ValueError):
    """A link input is malformed. `field` names it; the message says what is expected."""

    def __init__(self, field: str, value: str, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: {value!r} is not {expected}")


def normalize_tenant_id(value: str, field: str = "tenant_id") -> str:
    """A tenant id is a GUID (36 characters, 8-4-4-4-12 hex digits); returned lower-case."""
    text = value.strip()
    if _GUID.match(text):
        return text.lower()
    raise LinkInputError(
        field, value, "a tenant id (a GUID like 0f2c3b5e-1a2b-4c3d-8e9f-0123456789ab)"
    )


def normalize_partner_id(value: str | int, field: str = "partner_id") -> str:
    """A partner (MPN) id: digits only."""
    text = str(value).strip()
    if not _PARTNER_ID.match(text):
        raise LinkInputError(field, str(value), "a partner (MPN) id: 1 to 10 digits")
    return text


def _dap(delegated_admin: bool) -> str:
    return "true" if delegated_admin else "false"


def reseller_relationship_link(
    partner_tenant_id: str, *, delegated_admin: bool = False, legacy: bool = False
) -> str:
    """A direct partner's (or indirect provider's) reseller relationship invitation."""
    tenant = normalize_tenant_id(partner_tenant_id, "partner_tenant_id")
    if legacy:
        query = {"type": "ResellerRelationship", "id": tenant, "csp": "1", "msppid": "0"}
        return f"{LEGACY_SIGNUP}?{urlencode(query)}"
    query = {
        "invType": "ResellerRelationship",
        "partnerId": tenant,
        "msppId": "0",
        "DAP": _dap(delegated_admin),
    }
    return f"{ADMIN_PORTAL}?{urlencode(query)}{_FRAGMENT}"


def indirect_reseller_link(
    reseller_tenant_id: str,
    reseller_partner_id: str | int,
    provider_tenant_id: str,
    *,
    delegated_admin: bool = False,
    legacy: bool = False,
) -> str:
    """An indirect reseller relationship invitation: links the customer to the reseller and its
    indirect provider. The provider creates it and forwards it to the reseller."""
    reseller = normalize_tenant_id(reseller_tenant_id, "reseller_tenant_id")
    mpn = normalize_partner_id(reseller_partner_id, "reseller_partner_id")
    provider = normalize_tenant_id(provider_tenant_id, "provider_tenant_id")
    if reseller == provider:
        raise LinkInputError(
            "provider_tenant_id", provider_tenant_id, "different from the reseller's tenant id"
        )
    if legacy:
        query = {
            "type": "IndirectResellerRelationship",
            "id": reseller,
            "csp": "1",
            "msppid": mpn,
            "indirectCSP": provider,
        }
        return f"{LEGACY_SIGNUP}?{urlencode(query)}"
    query = {
        "invType": "IndirectResellerRelationship",
        "partnerId": reseller,
        "msppId": mpn,
        "indirectCSPId": provider,
        "DAP": _dap(delegated_admin),
    }
    return f"{ADMIN_PORTAL}?{urlencode(query)}{_FRAGMENT}"


def gdap_approval_link(relationship_id: str) -> str:
    """The link a customer's global admin opens to approve a GDAP relationship."""
    text = relationship_id.strip()
    if not _RELATIONSHIP_ID.match(text):
        raise LinkInputError(
            "relationship_id", relationship_id, "a GDAP relationship id (letters, digits, '-')"
        )
    return f"{GDAP_APPROVAL}{text}"
