"""Decision: what the engine answers (all of it JSON-serializable)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from policy.facts import Facts, Kind, Source


class Outcome(StrEnum):
    supported = "supported"
    not_supported = "not_supported"
    needs_review = "needs_review"  # the page does not cover the case
    partial = "partial"  # overall only: some subscriptions supported, others not


class Citation(BaseModel):
    """Where a rule comes from: the seed page's own words and their English rendering."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    edition: str
    document: str
    anchor: str
    location: str  # e.g. "Conditions, item 1" or "Table, row 2, bullet 1"
    text_es: str
    text_en: str


class Step(BaseModel):
    """One thing to do. `subscriptions` are the indexes (0-based) of the subscriptions the
    step is for; `params` carries whatever the step needs (e.g. who acts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    rule: str
    citation: Citation
    params: dict[str, Any] = Field(default_factory=dict)
    subscriptions: tuple[int, ...] = ()


class Note(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    rule: str
    citation: Citation


class SubscriptionDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    source: Source
    kind: Kind
    outcome: Outcome
    steps: tuple[str, ...]
    rules: tuple[str, ...]


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: str
    policy_edition: str
    outcome: Outcome
    facts: Facts
    subscriptions: tuple[SubscriptionDecision, ...]
    steps: tuple[Step, ...]
    rules: tuple[str, ...]
    notes: tuple[Note, ...] = ()
    missing_facts: tuple[str, ...] = ()

    def step_codes(self) -> list[str]:
        return [s.code for s in self.steps]

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)
