"""Proof of completeness: every combination of facts gets one well-formed, cited decision, and
every rule of the edition fires for at least one combination."""

from __future__ import annotations

import itertools
import json

import pytest

from policy import (
    STEP_CODES,
    Cloud,
    Decision,
    Facts,
    Kind,
    Outcome,
    Role,
    Source,
    Subscription,
    evaluate,
    get_edition,
)

ROLES: list[Role | None] = [*Role, None]
SUBSCRIPTIONS = [Subscription(source=s, kind=k) for s in Source for k in Kind]


def all_facts() -> list[Facts]:
    """roles (and unknown) × clouds × CSP-partner flag × one or two subscriptions."""
    subscription_sets = [(s,) for s in SUBSCRIPTIONS] + list(
        itertools.combinations_with_replacement(SUBSCRIPTIONS, 2)
    )
    return [
        Facts(role=role, cloud=cloud, customer_is_csp_partner=flag, subscriptions=subs)
        for role in ROLES
        for cloud in Cloud
        for flag in (False, True)
        for subs in subscription_sets
    ]


FACTS = all_facts()


@pytest.fixture(scope="module")
def decisions() -> list[Decision]:
    return [evaluate(f) for f in FACTS]


def expected_overall(facts: Facts, decision: Decision) -> Outcome:
    """The issue's rule for the overall outcome, recomputed independently of the engine."""
    if facts.customer_is_csp_partner:
        return Outcome.not_supported
    outcomes = [s.outcome for s in decision.subscriptions]
    if facts.cloud in (Cloud.china, Cloud.us_gov) or Outcome.needs_review in outcomes:
        return Outcome.needs_review
    if all(o is Outcome.supported for o in outcomes):
        return Outcome.supported
    if not any(o is Outcome.supported for o in outcomes):
        return Outcome.not_supported
    return Outcome.partial


def test_matrix_size() -> None:
    assert len(FACTS) == len(ROLES) * len(Cloud) * 2 * (16 + 136)


def test_every_decision_is_well_formed(decisions: list[Decision]) -> None:
    edition = get_edition()
    rule_ids = {r.id for r in edition.rules}
    seen_ids: set[str] = set()
    for facts, d in zip(FACTS, decisions, strict=True):
        assert d.decision_id not in seen_ids
        seen_ids.add(d.decision_id)
        assert d.policy_edition == "2017-03"
        assert d.steps, facts
        assert len(d.subscriptions) == len(facts.subscriptions)
        assert d.outcome is expected_overall(facts, d), facts
        for step in d.steps:
            assert step.code in STEP_CODES
            assert step.rule in rule_ids and step.rule in d.rules
            assert step.citation.text_es and step.citation.text_en and step.citation.location
            assert all(0 <= i < len(facts.subscriptions) for i in step.subscriptions)
        for sub in d.subscriptions:
            assert sub.outcome is not Outcome.partial
            assert sub.rules, facts
            assert set(sub.steps) <= set(d.step_codes())
        for note in d.notes:
            assert note.rule in d.rules
        # the JSON is the decision, exactly
        assert Decision.model_validate(json.loads(d.to_json())) == d


def test_every_rule_fires(decisions: list[Decision]) -> None:
    fired = set().union(*(d.rules for d in decisions))
    assert {r.id for r in get_edition().rules} - fired == set()


def test_every_step_of_the_edition_is_used(decisions: list[Decision]) -> None:
    used = set().union(*(d.step_codes() for d in decisions))
    assert set(get_edition().step_order) - used == set()


def test_steps_follow_the_edition_order(decisions: list[Decision]) -> None:
    order = {code: i for i, code in enumerate(get_edition().step_order)}
    for d in decisions:
        ranks = [order[c] for c in d.step_codes()]
        assert ranks == sorted(ranks)


def test_unknown_role_is_reported_only_when_it_matters(decisions: list[Decision]) -> None:
    for facts, d in zip(FACTS, decisions, strict=True):
        if facts.role is not None:
            assert d.missing_facts == ()
    needs_role = Facts(subscriptions=[Subscription(source="ea", kind="license")])
    assert evaluate(needs_role).missing_facts == ("role",)
    no_role_needed = Facts(subscriptions=[Subscription(source="csp_partner", kind="usage")])
    assert evaluate(no_role_needed).missing_facts == ()
