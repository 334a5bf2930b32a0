"""Proof of completeness, for every edition: every combination of facts gets one well-formed,
cited decision, and every rule of the edition fires for at least one combination."""

from __future__ import annotations

import json

import pytest

from policy import (
    STEP_CODES,
    TREATMENTS,
    Cloud,
    Decision,
    Facts,
    Outcome,
    Subscription,
    available_editions,
    evaluate,
    get_edition,
)
from policy.matrix import ROLES, SUBSCRIPTIONS, fact_matrix

FACTS = fact_matrix()
EDITIONS = available_editions()


@pytest.fixture(scope="module")
def decisions() -> dict[str, list[Decision]]:
    return {e: [evaluate(f, edition=e) for f in FACTS] for e in EDITIONS}


def expected_overall(edition: str, facts: Facts, decision: Decision) -> Outcome:
    """The overall outcome, recomputed independently of the engine: a cloud the edition does
    not cover needs review whatever else is true (F2); then a CSP-partner customer is refused
    (for 2026-11, unless the tenant to serve is not its CSP tenant); then the subscriptions."""
    if facts.cloud not in get_edition(edition).applies_to_clouds:
        return Outcome.needs_review
    refused = facts.customer_is_csp_partner and not (
        edition == "2026-11" and facts.customer_non_csp_tenant
    )
    if refused:
        return Outcome.not_supported
    outcomes = [s.outcome for s in decision.subscriptions]
    if Outcome.needs_review in outcomes:
        return Outcome.needs_review
    if all(o is Outcome.supported for o in outcomes):
        return Outcome.supported
    if not any(o is Outcome.supported for o in outcomes):
        return Outcome.not_supported
    return Outcome.partial


def test_matrix_size() -> None:
    assert len(SUBSCRIPTIONS) == 20
    assert len(FACTS) == len(ROLES) * len(Cloud) * 3 * 2 * (20 + 210)


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_decision_is_well_formed(decisions: dict[str, list[Decision]], edition: str) -> None:
    rule_ids = {r.id for r in get_edition(edition).rules}
    seen_ids: set[str] = set()
    for facts, d in zip(FACTS, decisions[edition], strict=True):
        assert d.decision_id not in seen_ids
        seen_ids.add(d.decision_id)
        assert d.policy_edition == edition
        assert d.steps, facts
        assert len(d.subscriptions) == len(facts.subscriptions)
        assert d.outcome is expected_overall(edition, facts, d), facts
        for step in d.steps:
            assert step.code in STEP_CODES
            assert step.rule in rule_ids and step.rule in d.rules
            c = step.citation
            assert c.text_es and c.text_en and c.location and c.location_es
            assert all(0 <= i < len(facts.subscriptions) for i in step.subscriptions)
        for sub in d.subscriptions:
            assert sub.outcome is not Outcome.partial
            assert sub.rules, facts
            assert set(sub.steps) <= set(d.step_codes())
            assert sub.treatment is None or sub.treatment in TREATMENTS
        for note in d.notes:
            assert note.rule in d.rules
        if facts.cloud not in get_edition(edition).applies_to_clouds:
            assert d.step_codes() == ["escalate_not_covered"], facts  # F2: nothing else
    # the JSON is the decision, exactly (a sample: serializing all of them is slow)
    for d in decisions[edition][::97]:
        assert Decision.model_validate(json.loads(d.to_json())) == d


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_rule_fires(decisions: dict[str, list[Decision]], edition: str) -> None:
    ed = get_edition(edition)
    fired = set().union(*(d.rules for d in decisions[edition]))
    # the fallback fires only when no rule decides a subscription: none in these editions
    assert {r.id for r in ed.rules} - fired == {ed.fallback.rule}


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_step_of_the_edition_is_used(
    decisions: dict[str, list[Decision]], edition: str
) -> None:
    used = set().union(*(d.step_codes() for d in decisions[edition]))
    assert set(get_edition(edition).step_order) - used == set()


@pytest.mark.parametrize("edition", EDITIONS)
def test_steps_follow_the_edition_order(decisions: dict[str, list[Decision]], edition: str) -> None:
    order = {code: i for i, code in enumerate(get_edition(edition).step_order)}
    for d in decisions[edition]:
        ranks = [order[c] for c in d.step_codes()]
        assert ranks == sorted(ranks)
        for sub in d.subscriptions:  # F15: a subscription's own list in the same order
            sub_ranks = [order[c] for c in sub.steps]
            assert sub_ranks == sorted(sub_ranks)


def test_the_new_facts_change_answers_only_under_2026_11(
    decisions: dict[str, list[Decision]],
) -> None:
    """Commerce, the non-CSP tenant and EA-transfer eligibility are facts of today's rules:
    edition 2017-03 answers the same with or without them; 2026-11 does not."""

    def strip(f: Facts) -> Facts:
        subs = tuple(s.model_copy(update={"commerce": None}) for s in f.subscriptions)
        return f.model_copy(
            update={
                "customer_non_csp_tenant": False,
                "ea_transfer_eligible": False,
                "subscriptions": subs,
            }
        )

    index = {f: i for i, f in enumerate(FACTS)}
    differs = 0
    for i, facts in enumerate(FACTS):
        plain = strip(facts)
        if plain == facts or plain not in index:
            continue
        old = decisions["2017-03"]
        assert old[i].step_codes() == old[index[plain]].step_codes()
        assert old[i].outcome == old[index[plain]].outcome
        new = decisions["2026-11"]
        differs += new[i].step_codes() != new[index[plain]].step_codes()
    assert differs > 0


def test_unknown_role_is_reported_only_when_it_matters(
    decisions: dict[str, list[Decision]],
) -> None:
    for edition in EDITIONS:
        for facts, d in zip(FACTS, decisions[edition], strict=True):
            if facts.role is not None:
                assert d.missing_facts == ()
    needs_role = Facts(subscriptions=[Subscription(source="ea", kind="license")])
    assert evaluate(needs_role, edition="2017-03").missing_facts == ("role",)
    # (Azure from another CSP partner needs it now: the switch goes to a reseller's provider)
    no_role_needed = Facts(subscriptions=[Subscription(source="csp_partner", kind="license")])
    assert evaluate(no_role_needed, edition="2017-03").missing_facts == ()
