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
class _SubResult:
    """One subscription's answer before it has an index: a function of the edition, the
    case-wide facts and the subscription alone."""

    rules: tuple[str, ...]
    outcome: Outcome
    steps: tuple[tuple[Rule, str, dict[str, Any]], ...]
    notes: tuple[tuple[Rule, str], ...]
    missing: frozenset[str]
    treatment: str | None
    codes: tuple[str, ...]
    # its SubscriptionDecision at each index it has been given (frozen, so shared)
    at_index: dict[int, SubscriptionDecision] = field(default_factory=dict, compare=False)

    def decision(self, index: int, sub: Subscription) -> SubscriptionDecision:
        made = self.at_index.get(index)
        if made is None:
            made = self.at_index[index] = SubscriptionDecision(
                index=index,
                source=sub.source,
                kind=sub.kind,
                outcome=self.outcome,
                steps=self.codes,
                rules=self.rules,
                commerce=sub.commerce,
                treatment=self.treatment,
            )
        return made


#: subscription answers remembered per edition: (role, cloud, flags, subscription) → _SubResult
SUB_CACHE_SIZE = 16_384


@dataclass(frozen=True)
class _Compiled:
    """What the engine derives once per edition, and the subscription answers it has worked
    out (a case of two subscriptions is made of answers already known for each)."""

    case_rules: list[Rule]
    sub_rules: list[Rule]
    citations: dict[str, Citation]
    order: dict[str, int]
    sub_cache: dict[tuple[Any, ...], _SubResult] = field(default_factory=dict)
    # the frozen parts decisions are made of, shared: steps, notes, and the answer given to
    # every subscription when a case rule stops the evaluation
    step_cache: dict[tuple[Any, ...], Step] = field(default_factory=dict)
    note_cache: dict[tuple[str, str], Note] = field(default_factory=dict)
    stopped_cache: dict[tuple[str, ...], _SubResult] = field(default_factory=dict)
    # what the case rules gave, per case-wide facts (read, never changed, once made)
    case_cache: dict[tuple[Any, ...], tuple[_Trace, bool]] = field(default_factory=dict)


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
    citations, order = compiled.citations, compiled.order
    note_cache = compiled.note_cache

    case_key = (
        facts.role,
        facts.cloud,
        facts.customer_is_csp_partner,
        facts.customer_non_csp_tenant,
        facts.ea_transfer_eligible,
    )
    case, stopped = _case_result(compiled, facts, case_key)

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
        key = (rule.id, code)
        if key not in notes:
            note = note_cache.get(key)
            if note is None:
                note = note_cache[key] = Note(code=code, rule=rule.id, citation=citations[rule.id])
            notes[key] = note

    for rule, code, params in case.steps:
        add_step(rule, code, params, None)
    for rule, code in case.notes:
        add_note(rule, code)

    stopped_result = _stopped_result(compiled, ed, case) if stopped else None
    for index, sub in enumerate(facts.subscriptions):
        result = stopped_result or _subscription_result(compiled, ed, facts, sub, case_key)
        missing |= result.missing
        for rule, code, params in result.steps:
            add_step(rule, code, params, index)
        for rule, code in result.notes:
            add_note(rule, code)
        sub_decisions.append(result.decision(index, sub))

    entries = sorted(step_subs.values(), key=lambda e: (order[e[1]], e[3][0] if e[3] else -1))
    steps = tuple(
        _step(compiled, rule, code, params, tuple(indexes))
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


def _result(trace: _Trace, order: dict[str, int]) -> _SubResult:
    outcome = max(trace.outcomes, key=lambda o: _SEVERITY[o])
    codes = sorted(dict.fromkeys(code for _, code, _ in trace.steps), key=order.__getitem__)
    return _SubResult(
        rules=tuple(trace.rules),
        outcome=outcome,
        steps=tuple(trace.steps),
        notes=tuple(trace.notes),
        missing=frozenset(trace.missing),
        treatment=trace.treatment if outcome is not Outcome.needs_review else None,
        codes=tuple(codes),
    )


def _stopped_result(compiled: _Compiled, ed: Edition, case: _Trace) -> _SubResult:
    """Every subscription's answer when a case rule stopped the evaluation: the case's (a
    function of the case rules that fired, and the role their steps were picked for)."""
    key = tuple(case.rules)
    hit = compiled.stopped_cache.get(key)
    if hit is not None and hit.steps == tuple(case.steps):
        return hit
    trace = _Trace(rules=list(case.rules))
    trace.outcomes = [r.outcome for r in map(ed.rule, case.rules) if r.outcome]
    trace.steps = list(case.steps)
    trace.treatment = None
    result = compiled.stopped_cache[key] = _result(trace, compiled.order)
    return result


def _step(
    compiled: _Compiled,
    rule: Rule,
    code: str,
    params: dict[str, Any],
    subscriptions: tuple[int, ...],
) -> Step:
    key = (rule.id, code, repr(sorted(params.items())), subscriptions)
    step = compiled.step_cache.get(key)
    if step is None:
        if len(compiled.step_cache) >= SUB_CACHE_SIZE:
            compiled.step_cache.clear()
        step = compiled.step_cache[key] = Step(
            code=code,
            rule=rule.id,
            citation=compiled.citations[rule.id],
            params=params,
            subscriptions=subscriptions,
        )
    return step


def _case_result(
    compiled: _Compiled, facts: Facts, case_key: tuple[Any, ...]
) -> tuple[_Trace, bool]:
    """The case rules' trace for the case-wide facts, and whether a rule stopped there."""
    hit = compiled.case_cache.get(case_key)
    if hit is not None:
        return hit
    case = _Trace()
    stopped = False
    for rule in compiled.case_rules:
        if _check(rule.when, facts, None, case.rules) is _Truth.yes:
            case.fire(rule, rule.case_outcome, facts.role)  # forced outcomes
            if rule.stop:  # nothing after it applies: no later case rule, no subscription rule
                stopped = True
                break
    if len(compiled.case_cache) >= SUB_CACHE_SIZE:
        compiled.case_cache.clear()
    compiled.case_cache[case_key] = (case, stopped)
    return case, stopped


def _subscription_result(
    compiled: _Compiled, ed: Edition, facts: Facts, sub: Subscription, case_key: tuple[Any, ...]
) -> _SubResult:
    key = (*case_key, sub)
    hit = compiled.sub_cache.get(key)
    if hit is not None:
        return hit
    trace = _run(compiled.sub_rules, facts, sub)
    if not trace.outcomes:  # nothing decided this subscription: the page does not say
        fallback = ed.rule(ed.fallback.rule)
        trace.rules.append(fallback.id)
        trace.outcomes.append(ed.fallback.outcome)
        reason = "missing_facts" if trace.missing else "not_covered"
        trace.steps.append((fallback, ed.fallback.step, {"reason": reason}))
    result = _result(trace, compiled.order)
    if len(compiled.sub_cache) >= SUB_CACHE_SIZE:
        compiled.sub_cache.clear()
    compiled.sub_cache[key] = result
    return result
