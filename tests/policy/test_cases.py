"""Runs every policy case file in tests/policy_cases/ (facts in, expected decision out)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy import Facts, available_editions, evaluate, get_edition

CASES_DIR = Path(__file__).resolve().parent.parent / "policy_cases"
CASE_FILES = sorted(CASES_DIR.glob("*.yaml"))
DEFAULT = "2017-03"  # a case file without `edition:` is a case of edition 2017-03


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text("utf-8"))
    assert set(data) <= {"name", "edition", "defect", "facts", "expect"}, f"{path.name}: keys"
    return data


def _edition(case: dict[str, Any]) -> str:
    return get_edition(str(case.get("edition", DEFAULT))).edition


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(path: Path) -> None:
    case = _load(path)
    decision = evaluate(Facts.model_validate(case["facts"]), edition=_edition(case))
    expect = case["expect"]
    assert decision.outcome.value == expect["outcome"], case["name"]
    assert decision.step_codes() == expect["steps"], case["name"]
    assert sorted(decision.rules) == sorted(expect["rules"]), case["name"]
    if "subscriptions" in expect:
        assert [s.outcome.value for s in decision.subscriptions] == expect["subscriptions"]
    if "treatments" in expect:
        assert [s.treatment for s in decision.subscriptions] == expect["treatments"]
    if "missing_facts" in expect:
        assert list(decision.missing_facts) == expect["missing_facts"]
    if "notes" in expect:
        assert sorted(n.code for n in decision.notes) == sorted(expect["notes"])
    if "optional_steps" in expect:
        assert [s.code for s in decision.steps if s.optional] == expect["optional_steps"]
    if "readings" in expect:  # rules whose citation carries our reading (not a quotation)
        cited = {s.rule: s.citation for s in decision.steps} | {
            n.rule: n.citation for n in decision.notes
        }
        assert sorted(r for r, c in cited.items() if c.reading_en) == sorted(expect["readings"])
    assert_well_cited(decision)


MARKUP = re.compile(r"<[a-z/][^>]*>|\]\(|\*\*|\.md\b")


def assert_well_cited(decision: Any) -> None:
    """What holds for every case (F13, F14, F15): citations are plain text in both languages,
    with a Spanish location, links apart; a subscription lists its steps in the case's order."""
    for c in [s.citation for s in decision.steps] + [n.citation for n in decision.notes]:
        for text in (c.text_es, c.text_en, c.reading_en or "", c.reading_es or ""):
            assert not MARKUP.search(text), text
        assert (c.location_es and c.location_es != c.location) or c.location.startswith("Se "), c
        assert all(link.url.startswith("https://") for link in c.links)
    order = decision.step_codes()
    for sub in decision.subscriptions:
        ranks = [order.index(code) for code in sub.steps]
        assert ranks == sorted(ranks), sub


def test_there_are_cases() -> None:
    assert len(CASE_FILES) >= 15


@pytest.mark.parametrize("edition", available_editions())
def test_every_rule_has_a_case(edition: str) -> None:
    covered: set[str] = set()
    for path in CASE_FILES:
        case = _load(path)
        if _edition(case) == edition:
            covered |= set(case["expect"]["rules"])
    ed = get_edition(edition)
    # the fallback fires only when no rule decides a subscription; in these editions every
    # source and kind is decided, so it cannot fire (tests/policy/test_edition.py runs one)
    rule_ids = {r.id for r in ed.rules} - {ed.fallback.rule}
    assert rule_ids - covered == set(), f"rules of {edition} without a case file"
    assert covered - rule_ids - {ed.fallback.rule} == set(), "case files name unknown rules"


def test_every_defect_of_part_a_has_a_case() -> None:
    """docs/policy.md Part A lists sixteen defects of edition 2017-03, F1–F16; each has a case
    file (`defect: F1`) that fails on the engine that had it. F16 (51 subscriptions crash the
    CLI) is about the CLI's input, not a decision: tests/test_cli.py has its case."""
    defects = {str(_load(p).get("defect")) for p in CASE_FILES}
    missing = {f"F{i}" for i in range(1, 16)} - defects
    assert missing == set()


def test_every_table_row_has_a_case() -> None:
    stems = {p.stem for p in CASE_FILES}
    for row in ("table-row-1", "table-row-2", "table-row-3"):
        assert any(s.startswith(row) for s in stems), row
