"""Decision: what the engine answers (all of it JSON-serializable)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.facts import Commerce, Facts, Kind, Source

# Where a quoted text comes from: the source's own words, or a translation of them (ours, or a
# localized page's). A translation is never shown as the source's words.
Origin = Literal["source", "translation"]


class Outcome(StrEnum):
    supported = "supported"
    not_supported = "not_supported"
    needs_review = "needs_review"  # the page does not cover the case
    partial = "partial"  # overall only: some subscriptions supported, others not


class Link(BaseModel):
    """A link the quoted sentence makes ("see …"), kept out of the quotation: the quotation is
    plain text, the link is rendered by each surface in its own syntax."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text_es: str
    text_en: str
    url: str


class Citation(BaseModel):
    """Where a rule comes from, and its exact words.

    `text_es` / `text_en` are the sentence in each language, plain text (no markup): one of them
    is the source's own words, the other a rendering of it (`text_es_origin` / `text_en_origin`
    say which). `reading_en` / `reading_es` are our interpretation, when a rule needs one: never
    shown in quotation marks. `url`, `title` and `date` name the document the sentence is from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    edition: str
    document: str
    anchor: str
    location: str  # e.g. "Conditions, item 1" or "Table, row 2, bullet 1"
    text_es: str
    text_en: str
    location_es: str = ""
    text_es_origin: Origin = "source"
    text_en_origin: Origin = "translation"
    reading_en: str | None = None
    reading_es: str | None = None
    url: str | None = None
    title: str | None = None
    date: str | None = None
    links: tuple[Link, ...] = ()


class Step(BaseModel):
    """One thing to do. `subscriptions` are the indexes (0-based) of the subscriptions the
    step is for; `params` carries whatever the step needs (e.g. who acts, `optional: true`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    rule: str
    citation: Citation
    params: dict[str, Any] = Field(default_factory=dict)
    subscriptions: tuple[int, ...] = ()

    @property
    def optional(self) -> bool:
        return bool(self.params.get("optional"))


class Note(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    rule: str
    citation: Citation


class SubscriptionDecision(BaseModel):
    """One subscription's answer. `treatment` says what the outcome means for it (e.g.
    `replace`: supported, by a new CSP subscription; `not_now`: not before its term ends)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    source: Source
    kind: Kind
    outcome: Outcome
    steps: tuple[str, ...]
    rules: tuple[str, ...]
    commerce: Commerce | None = None
    treatment: str | None = None


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
