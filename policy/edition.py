"""Editions: a dated set of rules taken from one version of Microsoft's page, kept as data.

An edition is a YAML file in `policy/editions/`; adding one needs no change to the engine.
Loading validates it completely (unknown condition, step or rule reference → EditionError), so a
broken edition fails at import in tests, never in front of a user.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policy.codes import NOTE_CODES, STEP_CODES
from policy.decision import Citation, Outcome
from policy.facts import Cloud, Kind, Role, Source

DEFAULT_EDITION = "2017-03"


class EditionError(ValueError):
    """An edition file is malformed."""


class StepSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"code": value} if isinstance(value, str) else value

    @field_validator("code")
    @classmethod
    def _known(cls, code: str) -> str:
        if code not in STEP_CODES:
            raise ValueError(f"unknown step code {code!r}; known: {', '.join(STEP_CODES)}")
        return code


class Conditions(BaseModel):
    """All listed conditions must hold. Lists are the allowed values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: tuple[Role, ...] | None = None
    cloud: tuple[Cloud, ...] | None = None
    source: tuple[Source, ...] | None = None
    kind: tuple[Kind, ...] | None = None
    customer_is_csp_partner: bool | None = None
    fired_any: tuple[str, ...] | None = None
    fired_none: tuple[str, ...] | None = None


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    scope: Literal["case", "subscription"]
    location: str
    text_es: str
    text_en: str
    when: Conditions = Conditions()
    outcome: Outcome | None = None
    case_outcome: Outcome | None = None
    stop: bool = False
    only_as_fallback: bool = False
    steps: tuple[StepSpec, ...] = ()
    notes: tuple[str, ...] = ()

    @field_validator("notes")
    @classmethod
    def _known_notes(cls, notes: tuple[str, ...]) -> tuple[str, ...]:
        for note in notes:
            if note not in NOTE_CODES:
                raise ValueError(f"unknown note code {note!r}; known: {', '.join(NOTE_CODES)}")
        return notes

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.outcome is Outcome.partial or self.case_outcome is Outcome.partial:
            raise ValueError("'partial' is computed, not a rule outcome")
        if self.scope == "subscription" and (self.case_outcome or self.stop):
            raise ValueError("case_outcome and stop are for case rules")
        if self.scope == "case" and (self.when.source or self.when.kind or self.when.fired_any):
            raise ValueError("case rules cannot test source, kind or fired rules")
        return self


class Fallback(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    step: str
    rule: str


class Edition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    edition: str
    title: str
    document: str
    anchor: str
    published: str
    applies_to_clouds: tuple[Cloud, ...]
    step_order: tuple[str, ...]
    fallback: Fallback
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _references(self) -> Edition:
        ids = [r.id for r in self.rules]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
        unknown_order = set(self.step_order) - set(STEP_CODES)
        if unknown_order:
            raise ValueError(f"step_order names unknown steps: {sorted(unknown_order)}")
        seen: set[str] = set()
        for rule in self.rules:
            refs = (rule.when.fired_any or ()) + (rule.when.fired_none or ())
            for ref in refs:
                if ref not in seen:
                    raise ValueError(f"rule {rule.id!r} refers to {ref!r}, not an earlier rule")
            for step in rule.steps:
                if step.code not in self.step_order:
                    raise ValueError(f"rule {rule.id!r}: step {step.code!r} not in step_order")
            seen.add(rule.id)
        if self.fallback.rule not in seen:
            raise ValueError(f"fallback rule {self.fallback.rule!r} is not a rule")
        if self.fallback.step not in self.step_order:
            raise ValueError(f"fallback step {self.fallback.step!r} not in step_order")
        return self

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def citation(self, rule: Rule) -> Citation:
        return Citation(
            edition=self.edition,
            document=self.document,
            anchor=self.anchor,
            location=rule.location,
            text_es=rule.text_es,
            text_en=rule.text_en,
        )


def parse_edition(text: str) -> Edition:
    """Parse and validate an edition from YAML text."""
    try:
        data = yaml.safe_load(text)
        return Edition.model_validate(data)
    except (yaml.YAMLError, ValueError) as exc:
        raise EditionError(str(exc)) from exc


def available_editions() -> list[str]:
    folder = resources.files("policy") / "editions"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


@cache
def get_edition(name: str = DEFAULT_EDITION) -> Edition:
    """The named edition, loaded once. Unknown name → EditionError naming the known ones."""
    if name not in available_editions():
        raise EditionError(
            f"unknown policy edition {name!r}; available: {', '.join(available_editions())}"
        )
    text = (resources.files("policy") / "editions" / f"{name}.yaml").read_text("utf-8")
    return parse_edition(text)
