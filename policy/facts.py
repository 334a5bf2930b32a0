"""Facts: what the support engineer knows about the case (the engine's input)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

MAX_SUBSCRIPTIONS = 50  # the most subscriptions one case may list


class Role(StrEnum):
    """The requesting partner's role in CSP."""

    direct = "direct"  # direct-bill partner
    indirect_provider = "indirect_provider"  # the seed's "direct partner" of a reseller
    indirect_reseller = "indirect_reseller"


class Source(StrEnum):
    """Where a subscription was bought."""

    microsoft = "microsoft"  # bought directly from Microsoft
    advisor = "advisor"
    open = "open"
    ea = "ea"
    csp_partner = "csp_partner"
    third_party = "third_party"  # neither CSP nor a syndication partner
    syndication = "syndication"
    own_advisor_sale = "own_advisor_sale"  # bought from the requester while it was an Advisor


class Kind(StrEnum):
    """License-based (seats) or usage-based (Azure)."""

    license = "license"
    usage = "usage"


class Commerce(StrEnum):
    """How a subscription was sold, when known: new commerce (NCE; for Azure, the Azure plan) or
    the traditional (legacy) offers (for Azure, MS-AZR-0145P)."""

    new = "new"
    legacy = "legacy"


class Cloud(StrEnum):
    global_ = "global"
    germany = "germany"
    china = "china"
    us_gov = "us_gov"


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    kind: Kind
    commerce: Commerce | None = None  # unknown when not given

    @model_serializer(mode="wrap")
    def _without_unknown_commerce(self, handler: SerializerFunctionWrapHandler) -> Any:
        """An unknown commerce is left out of the JSON, so facts read as they did before the
        field existed (logged decisions, `{"source": "ea", "kind": "license"}`)."""
        data = handler(self)
        if isinstance(data, dict) and data.get("commerce") is None:
            data.pop("commerce", None)
        return data


class Facts(BaseModel):
    """Everything the engine decides on. `role` may be unknown (None): the decision then lists
    it in `missing_facts` and answers only what does not depend on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role | None = None
    customer_is_csp_partner: bool = False
    # the customer is a CSP partner, but the tenant to serve is not the one it transacts CSP in
    customer_non_csp_tenant: bool = False
    # the requesting partner may request billing ownership of direct-EA Azure subscriptions
    ea_transfer_eligible: bool = False
    cloud: Cloud = Cloud.global_
    subscriptions: tuple[Subscription, ...] = Field(min_length=1, max_length=MAX_SUBSCRIPTIONS)
