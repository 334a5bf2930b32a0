"""Runs every policy case file in tests/policy_cases/ (facts in, expected decision out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from policy import Facts, evaluate, get_edition

CASES_DIR = Path(__file__).resolve().parent.parent / "policy_cases"
CASE_FILES = sorted(CASES_DIR.glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text("utf-8"))
    assert set(data) <= {"name", "facts", "expect"}, f"{path.name}: unknown top-level keys"
    return data


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(path: Path) -> None:
    case = _load(path)
    decision = evaluate(Facts.model_validate(case["facts"]))
    expect = case["expect"]
    assert decision.outcome.value == expect["outcome"], case["name"]
    assert decision.step_codes() == expect["steps"], case["name"]
    assert sorted(decision.rules) == sorted(expect["rules"]), case["name"]
    if "subscriptions" in expect:
        assert [s.outcome.value for s in decision.subscriptions] == expect["subscriptions"]
    if "missing_facts" in expect:
        assert list(decision.missing_facts) == expect["missing_facts"]
    if "notes" in expect:
        assert sorted(n.code for n in decision.notes) == sorted(expect["notes"])


def test_there_are_cases() -> None:
    assert len(CASE_FILES) >= 15


def test_every_rule_has_a_case() -> None:
    covered: set[str] = set()
    for path in CASE_FILES:
        covered |= set(_load(path)["expect"]["rules"])
    rule_ids = {r.id for r in get_edition().rules}
    assert rule_ids - covered == set(), "rules without a case file"
    assert covered - rule_ids == set(), "case files name rules that do not exist"


def test_every_table_row_has_a_case() -> None:
    stems = {p.stem for p in CASE_FILES}
    for row in ("table-row-1", "table-row-2", "table-row-3"):
        assert any(s.startswith(row) for s in stems), row
