"""The inbox and the outbox tables: insert once, record the outcome (claiming: `claims`).

Both tables share the job columns (`status`, `attempts`, `available_at`, `locked_until`,
`locked_by`, `in_doubt`, `last_error`, `pace_key`) and these functions. Every outcome is
conditional on `locked_by = me AND status = 'pending'`: a worker whose lease was taken over
records nothing. Functions take a `Session` and never commit.

Statements are built once (with bound parameters) and run on the session's connection:
building SQLAlchemy statements costs more than running them, and the worker runs thousands.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from bot.core.partner_center.events import WebhookEvent
from bot.core.store.models import InboxEvent, JobStatus, OutboxEffect, OutboxMessage, UTCDateTime

Job = InboxEvent | OutboxMessage
JobModel = type[InboxEvent] | type[OutboxMessage]
PENDING = JobStatus.pending
POST_METHOD, UPDATE_METHOD = "chat.postMessage", "chat.update"


class LeaseLost(RuntimeError):
    """Another worker owns the row now (our lease ran out): nothing was recorded."""


# ------------------------------------------------------------------------------ inserting
def record_event(
    session: Session,
    event: WebhookEvent,
    *,
    now: datetime,
    org_id: int | None = None,
    own: bool = True,
) -> int | None:
    """Store a verified delivery; None when the same delivery is already stored. `org_id`:
    the organization whose URL it reached. `own`: deduplicated on the delivery alone (the
    legacy URL, as before); else per organization (two organizations' Partner Centers may each
    send the same event about one customer)."""
    pace_key = event.relationship_id or event.customer_id or event.resource_uri or event.name
    dedupe = event.dedupe_key
    if org_id is not None and not own:
        dedupe = hashlib.sha256(f"org {org_id}\n{dedupe}".encode()).hexdigest()
    values: dict[str, Any] = {
        "dedupe_key": dedupe,
        "org_id": org_id,
        "event_name": event.name[:120],
        "kind": event.kind.value,
        "resource_uri": event.resource_uri,
        "customer_id": (event.customer_id or None) and event.customer_id[:36],
        "relationship_id": (event.relationship_id or None) and event.relationship_id[:100],
        "changed_at": event.changed_at,
        "received_at": now,
        "pace_key": pace_key[:120],
        "status": PENDING,
        "attempts": 0,
        "available_at": now,
        "in_doubt": False,
        "detail": {},
    }
    statement = _insert_statement(session.get_bind().dialect.name, InboxEvent)
    return cast(int | None, session.connection().scalar(statement, values))


@dataclass(frozen=True)
class Effect:
    """One Slack side effect to queue. `channel` is a user id for a DM."""

    dedupe_key: str
    effect: OutboxEffect
    channel: str
    payload: dict[str, Any]
    invitation_id: int | None = None
    event_id: int | None = None
    ts: str | None = None
    thread_ts: str | None = None
    team_id: str | None = None  # the workspace whose token sends it (distributed mode)

    @property
    def method(self) -> str:
        return UPDATE_METHOD if self.effect is OutboxEffect.update else POST_METHOD


def pace_key(method: str, channel: str) -> str:
    return f"{method} {channel}"


def enqueue(session: Session, effects: Iterable[Effect], *, now: datetime) -> int:
    """Queue the effects; one already queued (same dedupe key) is skipped. Returns how many
    were new."""
    rows = [
        {
            "dedupe_key": e.dedupe_key[:200],
            "invitation_id": e.invitation_id,
            "event_id": e.event_id,
            "effect": e.effect,
            "channel": e.channel,
            "team_id": e.team_id,
            "ts": e.ts,
            "thread_ts": e.thread_ts,
            "pace_key": pace_key(e.method, e.channel),
            "payload": e.payload,
            "status": PENDING,
            "attempts": 0,
            "ratelimited": 0,
            "available_at": now,
            "in_doubt": False,
            "created_at": now,
        }
        for e in effects
    ]
    if not rows:
        return 0
    statement = _insert_statement(session.get_bind().dialect.name, OutboxMessage)
    return len(session.connection().execute(statement, rows).all())  # one statement for all


@cache
def _insert_statement(dialect: str, model: JobModel) -> Any:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, built once (statements are
    costly to build; the worker runs thousands)."""
    if dialect == "postgresql":  # the dialect's package is imported only where it is used
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return (
            pg_insert(model)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(model.id)
        )
    from sqlalchemy.dialects.sqlite import insert

    return insert(model).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(model.id)


# ------------------------------------------------------------------------------ outcomes
def _outcome_statement(model: JobModel, **values: Any) -> Any:
    mine = [
        model.id == bindparam("p_id"),
        model.locked_by == bindparam("p_me"),
        model.status == PENDING,
    ]
    return (
        update(model)
        .where(*mine)
        .values(locked_until=None, locked_by=None, **values)
        .execution_options(synchronize_session=False)
    )


@cache
def _done_statement(model: JobModel) -> Any:
    when = bindparam("p_at", type_=UTCDateTime())
    values: dict[str, Any] = {"status": JobStatus.done, "last_error": None}
    if model is OutboxMessage:
        values.update(sent_at=when, result_ts=bindparam("p_ts"))
    else:
        values["processed_at"] = when
    statement = _outcome_statement(model, **values)
    return statement.values(locked_by=bindparam("p_me"))  # keeps who did it


@cache
def _reschedule_statement(model: JobModel, counted: bool) -> Any:
    values: dict[str, Any] = {
        "status": PENDING,
        "available_at": bindparam("p_at", type_=UTCDateTime()),
        "last_error": bindparam("p_error"),
    }
    if not counted:
        values["attempts"] = model.attempts - 1
        if model is OutboxMessage:
            values["ratelimited"] = OutboxMessage.ratelimited + 1
    return _outcome_statement(model, **values)


@cache
def _park_statement(model: JobModel) -> Any:
    return _outcome_statement(model, status=JobStatus.parked, last_error=bindparam("p_error"))


def _apply(
    session: Session,
    model: JobModel,
    statement: Any,
    params: dict[str, Any],
    strict: bool,
) -> bool:
    result = cast(CursorResult[Any], session.connection().execute(statement, params))
    if result.rowcount == 1:
        return True
    if strict:
        worker = params["p_me"]
        raise LeaseLost(f"{model.__tablename__} {params['p_id']}: no longer claimed by {worker}")
    return False


@cache
def _pace_statement() -> Any:
    later = aliased(OutboxMessage)
    head = (
        select(func.min(later.id))
        .where(later.pace_key == bindparam("p_key"), later.status == PENDING)
        .scalar_subquery()
    )
    not_before = bindparam("p_at", type_=UTCDateTime())
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id == head, OutboxMessage.available_at < not_before)
        .values(available_at=not_before)
        .execution_options(synchronize_session=False)
    )


@cache
def _finish_statement() -> Any:
    return _outcome_statement(
        InboxEvent,
        status=JobStatus.done,
        processed_at=bindparam("p_at", type_=UTCDateTime()),
        outcome=bindparam("p_outcome"),
        invitation_id=bindparam("p_invitation"),
        detail=bindparam("p_detail", type_=JSON()),
    ).values(locked_by=bindparam("p_me"))


def finish_events(
    session: Session,
    finished: Sequence[tuple[int, str, int | None, dict[str, Any]]],
    *,
    worker: str,
    now: datetime,
) -> None:
    """The events are processed, as one executemany: (event id, outcome, invitation id,
    detail) each. Raises LeaseLost when any of them is no longer ours (the caller's
    transaction must then be rolled back: the others may have been written)."""
    params = [
        {
            "p_id": event_id,
            "p_me": worker,
            "p_at": now,
            "p_outcome": outcome,
            "p_invitation": invitation_id,
            "p_detail": detail,
        }
        for event_id, outcome, invitation_id, detail in finished
    ]
    if not params:
        return
    result = cast(CursorResult[Any], session.connection().execute(_finish_statement(), params))
    if result.rowcount != len(params):
        ids = ", ".join(str(p["p_id"]) for p in params)
        raise LeaseLost(f"webhook_inbox {ids}: not all still claimed by {worker}")


def mark_sent_many(
    session: Session, sent: Sequence[tuple[int, datetime, str | None]], *, worker: str
) -> list[bool]:
    """The outbox rows are sent (id, when sent, the message's ts), as ONE executemany;
    `locked_by` keeps the worker that sent each. Per row, whether it was still ours (when not
    all were, one read tells which)."""
    if not sent:
        return []
    params = [{"p_id": i, "p_me": worker, "p_at": at, "p_ts": ts} for i, at, ts in sent]
    statement = _done_statement(OutboxMessage)
    result = cast(CursorResult[Any], session.connection().execute(statement, params))
    if result.rowcount == len(params):
        return [True] * len(params)
    ours = set(
        session.connection().scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_([i for i, _, _ in sent]),
                OutboxMessage.status == JobStatus.done,
                OutboxMessage.locked_by == worker,
            )
        )
    )
    return [i in ours for i, _, _ in sent]


def pace_next_many(session: Session, paced: Sequence[tuple[str, datetime]]) -> None:
    """Hold the next pending message of each key until its time (key, not before), as ONE
    executemany: pacing shared by every process working on the outbox."""
    if paced:
        params = [{"p_key": key, "p_at": at} for key, at in paced]
        session.connection().execute(_pace_statement(), params)


def reschedule(
    session: Session,
    model: JobModel,
    row_id: int,
    *,
    worker: str,
    at: datetime,
    error: str,
    counted: bool = True,
    strict: bool = True,
) -> bool:
    """Try again at `at`. `counted=False` (a 429) gives the attempt back."""
    params = {"p_id": row_id, "p_me": worker, "p_at": at, "p_error": error[:2000]}
    return _apply(session, model, _reschedule_statement(model, counted), params, strict)


def park(
    session: Session,
    model: JobModel,
    row_id: int,
    *,
    worker: str,
    error: str,
    strict: bool = True,
) -> bool:
    """Give up for now: kept, listed by `mcbot outbox --parked`, retried by `--retry ID`."""
    params = {"p_id": row_id, "p_me": worker, "p_error": error[:2000]}
    return _apply(session, model, _park_statement(model), params, strict)


def backoff_seconds(
    attempts: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, times a random 0.5-1.0."""
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(cap, base * (2**exponent))
    jitter: float = (rng or random).random()
    return float(delay * (0.5 + jitter / 2))


# ------------------------------------------------------------------------------ operators
def counts(session: Session, model: JobModel) -> dict[str, int]:
    rows = session.execute(select(model.status, func.count()).group_by(model.status)).all()
    found = {str(getattr(status, "value", status)): int(n) for status, n in rows}
    return {status.value: found.get(status.value, 0) for status in JobStatus}


def list_jobs(
    session: Session, model: JobModel, *, statuses: Sequence[JobStatus], limit: int
) -> list[Any]:
    query = select(model).where(model.status.in_(list(statuses))).order_by(model.id).limit(limit)
    return list(session.scalars(query))


def park_workspace(
    session: Session, team_id: str, reason: str, *, enterprise_id: str | None = None
) -> int:
    """Park every pending notification to workspace `team_id` (the app was uninstalled there)
    with `reason`; returns how many. Others are untouched. `retry` queues them again."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.team_id == team_id, OutboxMessage.status == PENDING)
        .values(status=JobStatus.parked, last_error=reason, locked_by=None, locked_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


UNINSTALLED_PREFIX = "the app was uninstalled from "


def uninstalled_reason(workspace: str) -> str:
    return f"{UNINSTALLED_PREFIX}{workspace}"


def resume_workspace(session: Session, team_id: str, *, now: datetime) -> int:
    """Queue again the notifications parked because the app was uninstalled from `team_id`
    (it was installed again); returns how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.team_id == team_id,
            OutboxMessage.status == JobStatus.parked,
            OutboxMessage.last_error.like(f"{UNINSTALLED_PREFIX}%"),
        )
        .values(status=PENDING, attempts=0, available_at=now, last_error=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def retry(session: Session, model: JobModel, ids: Sequence[int], *, now: datetime) -> list[int]:
    """Queue parked (or waiting) rows again, now, with a fresh attempt count. Returns the ids
    that were requeued (done rows and unknown ids are not)."""
    statement = (
        update(model)
        .where(model.id.in_(list(ids)), model.status.in_([JobStatus.parked, PENDING]))
        .values(status=PENDING, attempts=0, available_at=now)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(statement))
