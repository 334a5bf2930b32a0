"""Editions are data: a second one needs no engine change; a broken one is refused at load."""

from __future__ import annotations

import pytest

from policy import EditionError, Facts, Subscription, evaluate, get_edition, parse_edition
from policy.edition import available_editions

# A made-up later edition: no CSP-to-CSP rule, Azure China covered, license switch allowed.
LATER = """
edition: "2099-01"
title: "A later page"
document: "partner-center/multichannel.md"
anchor: "multichannel-support"
published: "2099-01-01"
applies_to_clouds: [global, china]
step_order:
  [request_relationship, send_invitation_to_customer, switch_azure_partner, escalate_not_covered]
fallback: {outcome: needs_review, step: escalate_not_covered, rule: scope}
rules:
  - id: scope
    scope: subscription
    location: "Intro"
    text_es: "Se aplica cuando..."
    text_en: "Applies when..."
    only_as_fallback: true
  - id: any-source
    scope: subscription
    location: "Conditions"
    text_es: "Cualquier origen."
    text_en: "Any source."
    when: {source: [ea, csp_partner]}
    outcome: supported
    steps: [request_relationship, send_invitation_to_customer]
"""


def test_a_second_edition_runs_on_the_same_engine() -> None:
    later = parse_edition(LATER)
    facts = Facts(
        role="direct",
        customer_is_csp_partner=True,
        cloud="china",
        subscriptions=[Subscription(source="csp_partner", kind="license")],
    )
    decision = evaluate(facts, edition=later)
    assert decision.policy_edition == "2099-01"
    assert decision.outcome.value == "supported"
    assert decision.step_codes() == ["request_relationship", "send_invitation_to_customer"]
    # the same facts under 2017-03: China is a cloud its page does not cover (F2: no rule of
    # that page applies there, not even the CSP-to-CSP one)
    assert evaluate(facts, edition="2017-03").outcome.value == "needs_review"
    # a source the later edition does not cover falls back, cited
    other = evaluate(
        Facts(role="direct", subscriptions=[Subscription(source="open", kind="usage")]),
        edition=later,
    )
    assert other.outcome.value == "needs_review"
    assert other.steps[0].rule == "scope"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("steps: [request_relationship, send_invitation_to_customer]", "steps: [teleport]"),
            "unknown step code",
        ),
        (
            ("when: {source: [ea, csp_partner]}", "when: {source: [ea], fired_any: [nope]}"),
            "not an earlier rule",
        ),
        (("id: any-source", "id: scope"), "duplicate rule ids"),
        (("when: {source: [ea, csp_partner]}", "when: {colour: [red]}"), "colour"),
        (("outcome: supported", "outcome: partial"), "computed"),
        (("rule: scope}", "rule: missing}"), "fallback rule"),
        (("applies_to_clouds: [global, china]", "applies_to_clouds: [mars]"), "applies_to_clouds"),
    ],
)
def test_broken_editions_are_refused(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in LATER
    with pytest.raises(EditionError, match=message):
        parse_edition(LATER.replace(old, new))


def test_unknown_edition_names_the_known_ones() -> None:
    with pytest.raises(EditionError, match="2017-03"):
        get_edition("1999-01")
    assert "2017-03" in available_editions()


def test_rule_ids_are_stable() -> None:
    """Rule ids are a public contract (decisions, logs and case files quote them). Changed in
    issue 14: `condition-2-not-reseller` is gone (F1: condition 1 covers every Advisor sale),
    `policy-review` runs before `csp-to-csp` (which now stops every later rule, F2), and the
    rules the audit found missing were added."""
    ids = [r.id for r in get_edition("2017-03").rules]
    assert "condition-2-not-reseller" not in ids
    kept = [
        "applies-to",
        "policy-review",
        "csp-to-csp",
        "intro-scope",
        "condition-1-direct-or-programs",
        "condition-2-own-advisor-sale",
        "condition-3-third-party",
        "condition-3-syndication-excluded",
        "no-license-switch",
        "table-license",
        "table-license-direct-invites",
        "table-usage-other-channel",
        "table-usage-service-availability",
        "table-usage-from-csp",
        "table-reseller-no-own-invitation",
        "table-reseller-invitation-delivery",
        "table-reseller-forwards-invitation",
        "table-reseller-delegated-admin",
    ]
    assert [i for i in ids if i in kept] == kept
    assert set(ids) - set(kept) == {
        "condition-1-own-advisor-sale",
        "condition-3-third-party-license",
        "relationship-admin-only",
        "azure-switch-prerequisites",
        "reseller-provider-orders",
    }


def test_current_is_an_alias_of_the_newest_edition() -> None:
    assert available_editions() == ["2017-03", "2026-11"]
    assert get_edition("current") is get_edition("2026-11")
    facts = Facts(role="direct", subscriptions=[Subscription(source="ea", kind="license")])
    assert evaluate(facts, edition="current").policy_edition == "2026-11"
    with pytest.raises(EditionError, match="current"):
        get_edition("newest")


def test_every_rule_of_today_names_its_own_dated_source() -> None:
    """Edition 2026-11 quotes about ten pages: each rule says which, with a date, and its
    English is the source's own words (its Spanish a translation unless the Spanish page's)."""
    edition = get_edition("2026-11")
    for rule in edition.rules:
        citation = edition.citation(rule)
        assert rule.source is not None, rule.id
        assert citation.url and citation.url.startswith("https://"), rule.id
        assert citation.title and citation.date, rule.id
        assert citation.text_en_origin == "source", rule.id
        assert rule.location_es, rule.id
    origins = {r.text_es_origin for r in edition.rules}
    assert origins == {"source", "translation"}


def test_supersedes_names_rules_of_the_other_edition() -> None:
    old = {r.id for r in get_edition("2017-03").rules}
    for rule in get_edition("2026-11").rules:
        assert set(rule.supersedes) <= old, rule.id


def test_markup_in_a_quotation_is_refused() -> None:
    with pytest.raises(EditionError, match="markup"):
        parse_edition(
            LATER.replace('text_es: "Cualquier origen."', 'text_es: "<strong>Sí</strong>"')
        )
    with pytest.raises(EditionError, match="reading_en and reading_es"):
        parse_edition(
            LATER.replace('text_en: "Any source."', 'text_en: "Any."\n    reading_en: "x"')
        )


@pytest.mark.parametrize("name", available_editions())
def test_both_yaml_loaders_read_the_same_editions(name: str) -> None:
    """The editions are read with libyaml's loader when PyYAML has it: it must read each
    packaged edition exactly as the pure-Python safe loader does."""
    from importlib import resources

    import yaml

    from policy.edition import YAML_LOADER

    text = (resources.files("policy") / "editions" / f"{name}.yaml").read_text("utf-8")
    assert yaml.load(text, Loader=YAML_LOADER) == yaml.safe_load(text)
    assert YAML_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
