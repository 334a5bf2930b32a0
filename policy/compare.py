"""What changed between two editions: for one case (`compare`), and rule by rule (`diff`).
Pure, like the rest of the package."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policy.decision import Citation, Decision
from policy.edition import Edition, Rule, available_editions, get_edition
from policy.engine import evaluate
from policy.facts import Facts


class StepChange(BaseModel):
    """A step one edition asks for and the other does not, with the rule (and its citation)
    that asks for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change: Literal["added", "removed"]
    code: str
    rule: str
    citation: Citation
    params: dict[str, Any] = Field(default_factory=dict)


class Comparison(BaseModel):
    """The same facts under two editions: `decision` under the one asked for, `other` under
    the other one, and what differs (outcome, steps added or removed, rules)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Decision
    other: Decision
    outcome_changed: bool
    steps: tuple[StepChange, ...]
    rules_only_here: tuple[str, ...]
    rules_only_there: tuple[str, ...]

    @property
    def differs(self) -> bool:
        return self.outcome_changed or bool(self.steps)


def compare(
    facts: Facts, edition: str, other: str, *, decision_id: str | None = None
) -> Comparison:
    """Evaluate `facts` under `edition` and `other`; say what differs (from `edition` to
    `other`: a step `added` is one `other` asks for and `edition` does not)."""
    here = evaluate(facts, edition=edition, decision_id=decision_id)
    there = evaluate(facts, edition=other, decision_id="")
    here_steps = {s.code: s for s in here.steps}
    there_steps = {s.code: s for s in there.steps}
    changes = [
        StepChange(change="added", code=c, rule=s.rule, citation=s.citation, params=s.params)
        for c, s in there_steps.items()
        if c not in here_steps
    ] + [
        StepChange(change="removed", code=c, rule=s.rule, citation=s.citation, params=s.params)
        for c, s in here_steps.items()
        if c not in there_steps
    ]
    return Comparison(
        decision=here,
        other=there,
        outcome_changed=here.outcome is not there.outcome,
        steps=tuple(changes),
        rules_only_here=tuple(r for r in here.rules if r not in there.rules),
        rules_only_there=tuple(r for r in there.rules if r not in here.rules),
    )


class RuleChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    change: Literal["added", "removed", "changed", "unchanged"]
    old: tuple[str, ...]  # rule ids in the old edition (several when a new rule supersedes them)
    new: str | None
    what: tuple[str, ...] = ()  # for `changed`: text, conditions, outcome, steps, notes, source


def _effect(rule: Rule) -> dict[str, object]:
    return {
        "conditions": rule.when.model_dump(exclude_none=True),
        "outcome": (rule.outcome, rule.case_outcome, rule.treatment, rule.stop),
        "steps": [(s.code, s.params, s.roles) for s in rule.steps],
        "notes": list(rule.notes),
        "text": (rule.text_es, rule.text_en),
        "source": rule.source.url if rule.source else None,
    }


def other_edition(name: str) -> str:
    """The edition an answer is compared with: the oldest for any newer one, else the newest."""
    dated = get_edition(name).edition
    editions = available_editions()
    return editions[-1] if dated == editions[0] else editions[0]


def diff(old_name: str, new_name: str) -> list[RuleChange]:
    """Every rule of two editions, paired: by id (the same rule as it reads in each), or by a
    new rule's `supersedes`; what is left is added or removed."""
    old, new = get_edition(old_name), get_edition(new_name)
    return diff_editions(old, new)


def diff_editions(old: Edition, new: Edition) -> list[RuleChange]:
    new_ids = {r.id for r in new.rules}
    # a rule a new one supersedes, unless the new edition still has it under its own id
    old_rules = {r.id: r for r in old.rules}
    replaced = {i for i in old_rules if i not in new_ids}
    matched: set[str] = set()
    changes: list[RuleChange] = []
    for rule in new.rules:
        if rule.id in old_rules:
            before, after = _effect(old_rules[rule.id]), _effect(rule)
            what = tuple(k for k in after if after[k] != before[k])
            also = tuple(r for r in rule.supersedes if r in replaced)
            changes.append(
                RuleChange(
                    change="changed" if what or also else "unchanged",
                    old=(rule.id, *also),
                    new=rule.id,
                    what=what,
                )
            )
            matched |= {rule.id, *also}
        else:
            previous = tuple(r for r in rule.supersedes if r in replaced)
            changes.append(
                RuleChange(change="changed" if previous else "added", old=previous, new=rule.id)
            )
            matched |= set(previous)
    changes += [
        RuleChange(change="removed", old=(rule.id,), new=None)
        for rule in old.rules
        if rule.id not in matched
    ]
    return changes
