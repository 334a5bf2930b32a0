"""Replaying a logged decision: who asked, when, the facts, and the answer they get again.

A decision's log row (bot/core/store/decisions.py) keeps who asked, when, the facts, the
edition and the outcome and step codes given then. Replaying evaluates the same facts under the
same edition (steps, rules, citations: the engine is a pure function of both) and, when the
default edition in force today is another one, compares the two (policy/compare.py). If the
edition's data changed since (a fix to the packaged edition), the answer given then and the
answer now differ, and the replay says so instead of passing one for the other.

Visibility: a Slack workspace sees the decisions of its own organization only (or, outside the
partner directory, of its own workspace); the command line (an operator's tool) sees all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from bot.core.services import Services
from bot.core.store.clock import as_utc
from bot.core.store.decisions import get_decision
from bot.core.store.models import DecisionRecord, Organization
from bot.core.ui import surfaces
from policy import Decision, EditionError, Facts, evaluate, resolve_edition
from policy.compare import Comparison, compare


@dataclass(frozen=True)
class Viewer:
    """Who looks: a Slack workspace, and its organization when it is in the directory."""

    team_id: str
    org_id: int | None


@dataclass(frozen=True)
class Replay:
    """A logged decision and its answer replayed.

    `decision`: the facts evaluated again under the logged edition, with the logged id.
    `as_logged`: whether that answer is the one given then (outcome and step codes).
    `today`: the same facts under today's default edition, when that is another edition."""

    decision_id: str
    at: datetime
    user_id: str
    team_id: str
    org_name: str | None
    customer_name: str | None
    edition: str
    logged_outcome: str
    logged_steps: tuple[str, ...]
    decision: Decision | None  # None: the facts or the edition can no longer be read
    problem: str | None  # why `decision` is None: "facts_unreadable" | "edition_unknown"
    as_logged: bool
    today_edition: str
    today: Comparison | None

    @property
    def from_cli(self) -> bool:
        return not self.team_id


def can_see(record: DecisionRecord, viewer: Viewer | None) -> bool:
    if viewer is None:  # the command line
        return True
    if record.org_id is not None:
        return record.org_id == viewer.org_id
    return bool(record.team_id) and record.team_id == viewer.team_id


def replay(
    session: Session, decision_id: str, *, default_edition: str, viewer: Viewer | None
) -> Replay | None:
    """The replay of `decision_id`, or None when there is no such decision for `viewer` (one
    that exists but belongs to another organization is not told apart from one that does not
    exist)."""
    record = get_decision(session, decision_id)
    if record is None or not can_see(record, viewer):
        return None
    org = session.get(Organization, record.org_id) if record.org_id is not None else None
    today_edition = resolve_edition(default_edition)
    decision: Decision | None = None
    problem: str | None = None
    today: Comparison | None = None
    try:
        facts = Facts.model_validate(record.facts)
        edition = resolve_edition(record.policy_edition)
    except ValidationError:
        problem = "facts_unreadable"
    except EditionError:
        problem = "edition_unknown"
    else:
        if edition != today_edition:
            today = compare(facts, edition, today_edition, decision_id=record.decision_id)
            decision = today.decision
        else:
            decision = evaluate(facts, edition=edition, decision_id=record.decision_id)
    logged_steps = tuple(record.steps)
    return Replay(
        decision_id=record.decision_id,
        at=as_utc(record.at),
        user_id=record.user_id,
        team_id=record.team_id,
        org_name=org.name if org is not None else None,
        customer_name=record.customer_name,
        edition=record.policy_edition,
        logged_outcome=record.outcome,
        logged_steps=logged_steps,
        decision=decision,
        problem=problem,
        as_logged=decision is not None
        and decision.outcome.value == record.outcome
        and tuple(decision.step_codes()) == logged_steps,
        today_edition=today_edition,
        today=today,
    )


async def replay_answer(
    services: Services, decision_id: str, *, team_id: str, lang: str
) -> dict[str, Any]:
    """`/multichannel decision ID`'s answer: the replay, compared with the edition in force in
    the workspace today, or a notice that its organization has no such decision."""
    _, org_id = await services.membership(team_id)
    viewer = Viewer(team_id=team_id, org_id=org_id)
    today = (await services.editions.for_team(team_id)).name
    found = await services.run(
        lambda s: replay(s, decision_id, default_edition=today, viewer=viewer)
    )
    if found is None:
        return surfaces.notice_message("decision_not_found", lang=lang, id=decision_id)
    return surfaces.replay_message(found, lang=lang)
