"""The engine: facts in, decision out. Pure: no I/O beyond reading the packaged edition once."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

from policy.decision import (
    Citation,
    Decision,
    Note,
    Outcome,
    Step,
    SubscriptionDecision,
)
from policy.edition import DEFAULT_EDITION, Conditions, Edition, Rule, get_edition
from policy.facts import Facts, Role, Subscription
from policy.ids import new_decision_id


class _Truth(Enum):
    yes = "yes"
    no = "no"
    unknown = "unknown"


# Severity for combining outcomes of one subscription: the most severe wins.
_SEVERITY = {Outcome.supported: 0, Outcome.needs_review: 1, Outcome.not_supported: 2}


@dataclass
class _Trace:
    """What fired for one scope (the case, or one subscription)."""

    rules: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    steps: list[tuple[Rule, str, dict[str, Any]]] = field(default_factory=list)
    notes: list[tuple[Rule, str]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)

    treatment: str | None = None

    def fire(self, rule: Rule, outcome: Outcome | None, role: Role | None) -> None:
        self.rules.append(rule.id)
        if outcome is not None:
            self.outcomes.append(outcome)
        if rule.treatment is not None:
            self.treatment = rule.treatment
        self.steps.extend(
            (rule, s.code, dict(s.params))
            for s in rule.steps
            if s.roles is None or role is None or role in s.roles
        )
        self.notes.extend((rule, n) for n in rule.notes)


def _check(cond: Conditions, facts: Facts, sub: Subscription | None, fired: list[str]) -> _Truth:
    unknown: list[str] = []
    if cond.role is not None:
        if facts.role is None:
            unknown.append("role")
        elif facts.role not in cond.role:
            return _Truth.no
    if cond.cloud is not None and facts.cloud not in cond.cloud:
        return _Truth.no
    if (
        cond.customer_is_csp_partner is not None
        and facts.customer_is_csp_partner is not cond.customer_is_csp_partner
    ):
        return _Truth.no
    if (
        cond.customer_non_csp_tenant is not None
        and facts.customer_non_csp_tenant is not cond.customer_non_csp_tenant
    ):
        return _Truth.no
    if (
        cond.ea_transfer_eligible is not None
        and facts.ea_transfer_eligible is not cond.ea_transfer_eligible
    ):
        return _Truth.no
    if sub is not None:
        if cond.source is not None and sub.source not in cond.source:
            return _Truth.no
        if cond.kind is not None and sub.kind not in cond.kind:
            return _Truth.no
        if cond.commerce is not None and (sub.commerce or "unknown") not in cond.commerce:
            return _Truth.no
    if cond.fired_any is not None and not set(cond.fired_any) & set(fired):
        return _Truth.no
    if cond.fired_none is not None and set(cond.fired_none) & set(fired):
        return _Truth.no
    return _Truth.unknown if unknown else _Truth.yes


def _run(rules: list[Rule], facts: Facts, sub: Subscription | None) -> _Trace:
    trace = _Trace()
    for rule in rules:
        truth = _check(rule.when, facts, sub, trace.rules)
        if truth is _Truth.yes:
            trace.fire(rule, rule.outcome, facts.role)
        elif truth is _Truth.unknown and rule.when.role is not None:
            trace.missing.add("role")
    return trace


def _overall(case: _Trace, subs: list[SubscriptionDecision]) -> Outcome:
    if case.outcomes:  # forced by case rules (case_outcome)
        return max(case.outcomes, key=lambda o: _SEVERITY[o])
    outcomes = [s.outcome for s in subs]
    if Outcome.needs_review in outcomes:
        return Outcome.needs_review
    if all(o is Outcome.supported for o in outcomes):
        return Outcome.supported
    if not any(o is Outcome.supported for o in outcomes):
        return Outcome.not_supported
    return Outcome.partial


@dataclass(frozen=True)
class _Compiled:
    """What the engine derives once per edition."""

    case_rules: list[Rule]
    sub_rules: list[Rule]
    citations: dict[str, Citation]
    order: dict[str, int]


_COMPILED: dict[int, tuple[Edition, _Compiled]] = {}


def _compile(ed: Edition) -> _Compiled:
    hit = _COMPILED.get(id(ed))
    if hit is not None and hit[0] is ed:
        return hit[1]
    active = [r for r in ed.rules if not r.only_as_fallback]
    compiled = _Compiled(
        case_rules=[r for r in active if r.scope == "case"],
        sub_rules=[r for r in active if r.scope == "subscription"],
        citations={r.id: ed.citation(r) for r in ed.rules},
        order={code: i for i, code in enumerate(ed.step_order)},
    )
    _COMPILED[id(ed)] = (ed, compiled)
    return compiled


def evaluate(
    facts: Facts, *, edition: str | Edition = DEFAULT_EDITION, decision_id: str | None = None
) -> Decision:
    """Decide a multichannel case. `decision_id` defaults to a fresh time-ordered UUID
    (version 7, policy/ids.py).

    The engine is deterministic: for a named edition, the decision for given facts is computed
    once and copied with a new id afterwards (a bot answers the same few cases all day)."""
    new_id = decision_id or new_decision_id()
    if isinstance(edition, str):
        return _decide_named(facts, edition).model_copy(update={"decision_id": new_id})
    return _decide(facts, edition, new_id)


def decide(facts: Facts, *, edition: str = DEFAULT_EDITION) -> Decision:
    """The decision for `facts` with no id of its own (`decision_id` is ""): for a named
    edition, the one computed object (frozen) every call with these facts shares. For a caller
    that makes its own ids and would only copy the decision to set one (the bot's `assess`
    command, bench/ack.py); `evaluate` is this plus a fresh id."""
    return _decide_named(facts, edition)


@lru_cache(maxsize=4096)
def _decide_named(facts: Facts, edition: str) -> Decision:
    return _decide(facts, get_edition(edition), "")


def _decide(facts: Facts, ed: Edition, decision_id: str) -> Decision:
    compiled = _compile(ed)
    case_rules, sub_rules, citations = compiled.case_rules, compiled.sub_rules, compiled.citations
    order = compiled.order

    case = _Trace()
    stopped = False
    for rule in case_rules:
        if _check(rule.when, facts, None, case.rules) is _Truth.yes:
            case.fire(rule, rule.case_outcome, facts.role)  # forced outcomes
            if rule.stop:  # nothing after it applies: no later case rule, no subscription rule
                stopped = True
                break

    # (code, params) → (first rule that gave it, code, params, subscription indexes): a step
    # two rules ask for (a relationship needed for a license and for an Azure transfer) is one
    # step, cited by the first rule that asked for it
    step_subs: dict[tuple[str, str], tuple[Rule, str, dict[str, Any], list[int]]] = {}
    notes: dict[tuple[str, str], Note] = {}
    missing: set[str] = set()
    sub_decisions: list[SubscriptionDecision] = []

    def add_step(rule: Rule, code: str, params: dict[str, Any], index: int | None) -> None:
        key = (code, repr(sorted(params.items())))
        entry = step_subs.setdefault(key, (rule, code, params, []))
        if index is not None and index not in entry[3]:
            entry[3].append(index)

    def add_note(rule: Rule, code: str) -> None:
        if (rule.id, code) not in notes:
            notes[rule.id, code] = Note(code=code, rule=rule.id, citation=citations[rule.id])

    for rule, code, params in case.steps:
        add_step(rule, code, params, None)
    for rule, code in case.notes:
        add_note(rule, code)

    for index, sub in enumerate(facts.subscriptions):
        if stopped:
            trace = _Trace(rules=list(case.rules))
            trace.outcomes = [r.outcome for r in map(ed.rule, case.rules) if r.outcome]
            trace.steps = list(case.steps)
            trace.treatment = None
        else:
            trace = _run(sub_rules, facts, sub)
            if not trace.outcomes:  # nothing decided this subscription: the page does not say
                fallback = ed.rule(ed.fallback.rule)
                trace.rules.append(fallback.id)
                trace.outcomes.append(ed.fallback.outcome)
                reason = "missing_facts" if trace.missing else "not_covered"
                trace.steps.append((fallback, ed.fallback.step, {"reason": reason}))
        missing |= trace.missing
        for rule, code, params in trace.steps:
            add_step(rule, code, params, index)
        for rule, code in trace.notes:
            add_note(rule, code)
        outcome = max(trace.outcomes, key=lambda o: _SEVERITY[o])
        codes = sorted(dict.fromkeys(code for _, code, _ in trace.steps), key=order.__getitem__)
        sub_decisions.append(
            SubscriptionDecision(
                index=index,
                source=sub.source,
                kind=sub.kind,
                commerce=sub.commerce,
                outcome=outcome,
                steps=tuple(codes),
                rules=tuple(trace.rules),
                treatment=trace.treatment if outcome is not Outcome.needs_review else None,
            )
        )

    entries = sorted(step_subs.values(), key=lambda e: (order[e[1]], e[3][0] if e[3] else -1))
    steps = tuple(
        Step(
            code=code,
            rule=rule.id,
            citation=citations[rule.id],
            params=params,
            subscriptions=tuple(indexes),
        )
        for rule, code, params, indexes in entries
    )
    fired = list(dict.fromkeys([*case.rules, *(r for s in sub_decisions for r in s.rules)]))
    return Decision(
        decision_id=decision_id,
        policy_edition=ed.edition,
        outcome=_overall(case, sub_decisions),
        facts=facts,
        subscriptions=tuple(sub_decisions),
        steps=steps,
        rules=tuple(fired),
        notes=tuple(notes.values()),
        missing_facts=tuple(sorted(missing)),
    )
