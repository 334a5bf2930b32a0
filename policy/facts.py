"""Facts: what the support engineer knows about the case (the engine's input)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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


class Cloud(StrEnum):
    global_ = "global"
    germany = "germany"
    china = "china"
    us_gov = "us_gov"


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    kind: Kind


class Facts(BaseModel):
    """Everything the engine decides on. `role` may be unknown (None): the decision then lists
    it in `missing_facts` and answers only what does not depend on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role | None = None
    customer_is_csp_partner: bool = False
    cloud: Cloud = Cloud.global_
    subscriptions: tuple[Subscription, ...] = Field(min_length=1, max_length=50)
