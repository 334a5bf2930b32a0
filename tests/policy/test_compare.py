"""policy.compare: one case under both editions, and the editions rule by rule."""

from __future__ import annotations

from policy import Facts, get_edition
from policy.compare import compare, diff, other_edition


def facts(source: str, kind: str, **more: object) -> Facts:
    return Facts.model_validate(
        {"role": "direct", "subscriptions": [{"source": source, "kind": kind}], **more}
    )


def test_the_other_edition() -> None:
    assert other_edition("2017-03") == "2026-11"
    assert other_edition("current") == "2017-03"


def test_a_license_from_another_csp_partner_differs_step_by_step() -> None:
    c = compare(facts("csp_partner", "license"), "2017-03", "2026-11")
    assert c.differs and c.outcome_changed
    assert (c.decision.outcome.value, c.other.outcome.value) == ("not_supported", "supported")
    added = {s.code: s for s in c.steps if s.change == "added"}
    removed = {s.code: s for s in c.steps if s.change == "removed"}
    assert "create_partner_transfer_request" in added and "wait_for_term_end_or_cancel" in removed
    # each change cites the rule of the edition that asks for the step
    assert added["create_partner_transfer_request"].citation.edition == "2026-11"
    assert removed["wait_for_term_end_or_cancel"].rule == "no-license-switch"
    assert removed["wait_for_term_end_or_cancel"].citation.edition == "2017-03"
    # both answers are for the same facts
    assert c.decision.facts == c.other.facts


def test_an_answer_that_does_not_change() -> None:
    c = compare(facts("ea", "license", cloud="china"), "current", "2017-03")
    assert not c.differs
    assert c.decision.step_codes() == c.other.step_codes() == ["escalate_not_covered"]


def test_the_diff_pairs_every_rule_of_both_editions() -> None:
    changes = diff("2017-03", "2026-11")
    old_ids = {r.id for r in get_edition("2017-03").rules}
    new_ids = {r.id for r in get_edition("2026-11").rules}
    assert {c.new for c in changes if c.new} == new_ids
    assert set().union(*(set(c.old) for c in changes)) == old_ids
    kinds = {c.change for c in changes}
    assert {"added", "removed", "changed"} <= kinds
    by_new = {c.new: c for c in changes if c.new}
    assert "no-license-switch" in by_new["license-partner-transfer"].old
    assert by_new["ea-billing-transfer"].change == "added"
    same = diff("2026-11", "current")
    assert {c.change for c in same} == {"unchanged"}
