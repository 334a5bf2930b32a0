"""Every combination of facts the engine is proven on (tests/policy/test_matrix.py) and measured
on (bench/policy.py): roles (and unknown) × clouds × the CSP-partner flags (with the non-CSP
tenant) × EA-transfer eligibility × every one- and two-subscription combination. Commerce is
given for subscriptions bought from another CSP partner, where it matters; elsewhere it is left
out. Pure."""

from __future__ import annotations

import itertools

from policy.facts import Cloud, Commerce, Facts, Kind, Role, Source, Subscription

ROLES: list[Role | None] = [*Role, None]
SUBSCRIPTIONS = [Subscription(source=s, kind=k) for s in Source for k in Kind] + [
    Subscription(source=Source.csp_partner, kind=k, commerce=c) for k in Kind for c in Commerce
]
#: (customer_is_csp_partner, customer_non_csp_tenant)
CSP_FLAGS = [(False, False), (True, False), (True, True)]


def fact_matrix() -> list[Facts]:
    subscription_sets = [(s,) for s in SUBSCRIPTIONS] + list(
        itertools.combinations_with_replacement(SUBSCRIPTIONS, 2)
    )
    return [
        Facts(
            role=role,
            cloud=cloud,
            customer_is_csp_partner=csp,
            customer_non_csp_tenant=non_csp,
            ea_transfer_eligible=eligible,
            subscriptions=subs,
        )
        for role in ROLES
        for cloud in Cloud
        for csp, non_csp in CSP_FLAGS
        for eligible in (False, True)
        for subs in subscription_sets
    ]
