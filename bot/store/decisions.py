"""The decision log: every policy decision the bot makes, with who asked and the facts
(like Open Policy Agent's decision log). Flushes, never commits (the caller's transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.store.clock import Clock, utc_now
from bot.store.models import DecisionRecord

DEFAULT_RECENT = 10


def record_decision(
    session: Session,
    *,
    decision_id: str,
    user_id: str,
    team_id: str,
    policy_edition: str,
    outcome: str,
    facts: Mapping[str, Any],
    steps: Sequence[str],
    org_id: int | None = None,
    customer_name: str | None = None,
    clock: Clock = utc_now,
) -> DecisionRecord:
    """Log one decision. `facts` is the JSON form of the policy input (e.g.
    `decision.facts.model_dump(mode="json")`), `steps` the step codes in order."""
    record = DecisionRecord(
        decision_id=decision_id,
        at=clock(),
        user_id=user_id,
        team_id=team_id,
        org_id=org_id,
        customer_name=customer_name,
        policy_edition=policy_edition,
        outcome=outcome,
        facts=dict(facts),
        steps=list(steps),
    )
    session.add(record)
    session.flush()
    return record


def record_decisions(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log many decisions with one executemany INSERT (the bot's batched decision log). Each
    row has the columns of DecisionRecord: decision_id, at, user_id, team_id, org_id,
    customer_name, policy_edition, outcome, facts (JSON form), steps."""
    if rows:
        session.execute(insert(DecisionRecord), [dict(row) for row in rows])


def get_decision(session: Session, decision_id: str) -> DecisionRecord | None:
    return session.get(DecisionRecord, decision_id)


def recent_decisions(
    session: Session, user_id: str, limit: int = DEFAULT_RECENT
) -> list[DecisionRecord]:
    """The user's latest decisions, newest first."""
    return list(
        session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.user_id == user_id)
            .order_by(DecisionRecord.at.desc(), DecisionRecord.decision_id.desc())
            .limit(limit)
        )
    )
