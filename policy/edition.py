"""Editions: a dated set of rules taken from one version of Microsoft's page, kept as data.

An edition is a YAML file in `policy/editions/`; adding one needs no change to the engine.
Loading validates it completely (unknown condition, step or rule reference → EditionError), so a
broken edition fails at import in tests, never in front of a user.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policy.codes import NOTE_CODES, STEP_CODES, TREATMENTS
from policy.decision import Citation, Link, Origin, Outcome
from policy.facts import Cloud, Commerce, Kind, Role, Source

DEFAULT_EDITION = "2017-03"  # the engine's default when a caller names none (tests, library use)
CURRENT = "current"  # the alias of the newest edition that declares it (the bot's default)


class EditionError(ValueError):
    """An edition file is malformed."""


class StepSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    params: dict[str, Any] = Field(default_factory=dict)
    # the step is for these roles only (an unknown role gets it too, worded for any role)
    roles: tuple[Role, ...] | None = None

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
    commerce: tuple[Commerce | Literal["unknown"], ...] | None = None
    customer_is_csp_partner: bool | None = None
    customer_non_csp_tenant: bool | None = None
    ea_transfer_eligible: bool | None = None
    fired_any: tuple[str, ...] | None = None
    fired_none: tuple[str, ...] | None = None


class RuleSource(BaseModel):
    """The document a rule quotes, when it is not the edition's own page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document: str  # a repository path or page name
    url: str
    title: str
    date: str
    anchor: str = ""


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    scope: Literal["case", "subscription"]
    location: str
    location_es: str = ""
    text_es: str
    text_en: str
    text_es_origin: Origin = "source"
    text_en_origin: Origin = "translation"
    reading_en: str | None = None
    reading_es: str | None = None
    links: tuple[Link, ...] = ()
    source: RuleSource | None = None
    supersedes: tuple[str, ...] = ()  # ids of another edition's rules this one replaces
    treatment: str | None = None
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

    @field_validator("treatment")
    @classmethod
    def _known_treatment(cls, value: str | None) -> str | None:
        if value is not None and value not in TREATMENTS:
            raise ValueError(f"unknown treatment {value!r}; known: {', '.join(TREATMENTS)}")
        return value

    @field_validator("text_es", "text_en", "reading_en", "reading_es")
    @classmethod
    def _plain_text(cls, value: str | None) -> str | None:
        """Quotations are stored as plain text: markup is rendered, links are `links`."""
        if value is not None and re.search(r"<[a-z/][^>]*>|\]\(|\*\*", value):
            raise ValueError(f"markup in a quotation (store plain text, links apart): {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if (self.reading_en is None) != (self.reading_es is None):
            raise ValueError(f"rule {self.id!r}: reading_en and reading_es go together")
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
    url: str | None = None
    aliases: tuple[str, ...] = ()
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
        for alias in self.aliases:
            if re.fullmatch(r"\d{4}-\d{2}", alias):
                raise ValueError(f"alias {alias!r} looks like an edition name")
        if self.fallback.rule not in seen:
            raise ValueError(f"fallback rule {self.fallback.rule!r} is not a rule")
        if self.fallback.step not in self.step_order:
            raise ValueError(f"fallback step {self.fallback.step!r} not in step_order")
        return self

    def dap_ended_rule(self) -> Rule | None:
        """The rule saying reseller invitations no longer carry delegated admin privileges (its
        note `dap_removed_from_invitations`), or None when this edition's invitations still
        may ask for them (2017-03). Under such an edition an invitation link never says
        DAP=true: admin access is a GDAP relationship, a step of its own."""
        for rule in self.rules:
            if "dap_removed_from_invitations" in rule.notes:
                return rule
        return None

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def citation(self, rule: Rule) -> Citation:
        src = rule.source
        return Citation(
            edition=self.edition,
            document=src.document if src else self.document,
            anchor=src.anchor if src else self.anchor,
            location=rule.location,
            location_es=rule.location_es,
            text_es=rule.text_es,
            text_en=rule.text_en,
            text_es_origin=rule.text_es_origin,
            text_en_origin=rule.text_en_origin,
            reading_en=rule.reading_en,
            reading_es=rule.reading_es,
            url=src.url if src else self.url,
            title=src.title if src else self.title,
            date=src.date if src else self.published,
            links=rule.links,
        )


#: libyaml's safe loader when PyYAML was built with it (8x faster: both editions are read at
#: start-up to resolve `current`), else the pure-Python one; the same data either way
#: (tests/policy: test_both_yaml_loaders_read_the_same_editions).
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_edition(text: str) -> Edition:
    """Parse and validate an edition from YAML text."""
    try:
        data = yaml.load(text, Loader=YAML_LOADER)
        if isinstance(data, dict):  # `x-…` keys hold YAML anchors (shared sources), not data
            data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return Edition.model_validate(data)
    except (yaml.YAMLError, ValueError) as exc:
        raise EditionError(str(exc)) from exc


@cache
def available_editions() -> list[str]:
    """The dated names of the packaged editions, oldest first."""
    folder = resources.files("policy") / "editions"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def edition_names() -> list[str]:
    """Every name `--edition` accepts: the dated names, then the aliases."""
    return [*available_editions(), *aliases()]


@cache
def aliases() -> dict[str, str]:
    """alias → dated name (the newest edition that declares an alias wins)."""
    found: dict[str, str] = {}
    for name in available_editions():
        for alias in _load(name).aliases:
            found[alias] = name
    return found


def resolve_edition(name: str) -> str:
    """The dated name for `name` (a dated name or an alias such as `current`); unknown →
    EditionError naming the valid ones."""
    name = name.strip()
    if name in available_editions():
        return name
    dated = aliases().get(name)
    if dated is None:
        raise EditionError(
            f"unknown policy edition {name!r}; available: {', '.join(edition_names())}"
        )
    return dated


@cache
def _load(name: str) -> Edition:
    text = (resources.files("policy") / "editions" / f"{name}.yaml").read_text("utf-8")
    return parse_edition(text)


@cache
def get_edition(name: str = DEFAULT_EDITION) -> Edition:
    """The named edition (a dated name or an alias), loaded once. Unknown name → EditionError
    naming the known ones."""
    return _load(resolve_edition(name))
