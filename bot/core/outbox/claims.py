"""Claiming rows of the inbox or the outbox, under a lease.

How:

    SELECT id FROM t WHERE id IN (<heads>) AND <claimable>
    ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED                    -- PostgreSQL: rows locked
    UPDATE t SET locked_until = now + lease, locked_by = me, attempts = attempts + 1,
                 in_doubt = (locked_until IS NOT NULL)
    WHERE id IN (<those ids>) AND <claimable> RETURNING id

(on SQLite, one statement: `WHERE id IN (<the SELECT>)`, under the database's write lock).

`<heads>` is the oldest pending row of each `pace_key` (a skip scan of the index, see
`_pick_statement`), so a
key (a channel, or an event's resource) is worked on by one worker at a time, in order, whichever
process claims: a key whose head is leased, paced or backed off waits.
On PostgreSQL, `FOR UPDATE SKIP LOCKED` makes concurrent claims skip each other's rows (locked
until commit), and the UPDATE re-checks `<claimable>`, so two workers never claim one row.
SQLite runs each statement under its database write lock: the single UPDATE is the claim.
A row whose lease ran out (a crashed worker) is claimable again, marked `in_doubt`.

Functions take a `Session` and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, func, or_, select, true, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, aliased

from bot.core.outbox.queue import PENDING, JobModel
from bot.core.store.models import UTCDateTime


def _claimable(model: JobModel) -> list[Any]:
    """The row may be claimed now (due by the horizon, its lease, if any, run out)."""
    return [
        model.status == PENDING,
        model.available_at <= bindparam("p_horizon", type_=UTCDateTime()),
        or_(
            model.locked_until.is_(None),
            model.locked_until <= bindparam("p_now", type_=UTCDateTime()),
        ),
    ]


def _claimable_by_id(model: JobModel) -> list[Any]:
    """`_claimable`, for rows already found by id (PostgreSQL), as ONE condition
    `(...) IS true`, which no index can serve: checked on each row fetched by its primary key.
    As separate conditions, PostgreSQL's planner (with no statistics, as on a fresh database,
    or stale ones) ANDed a bitmap of the (status, available_at) index: a scan of every pending
    row and of every dead index entry left by updates, ten times the whole claim's cost in
    bench/notify.py, growing with the backlog."""
    return [and_(*_claimable(model)).is_(true())]


@cache
def _pick_statement(model: JobModel, by_id: bool = False) -> Any:
    """The claimable heads, oldest first. The heads are found by a skip scan of the index
    (status, pace_key, id): a recursive CTE steps from one pending pace key to the next
    (`min(pace_key) WHERE pace_key > previous`), and takes each key's oldest pending id
    (`min(id) WHERE pace_key = key`): two index probes per key, so the cost follows the number
    of keys (channels, resources), never the number of pending rows. The recursive CTE is
    materialized by both databases: it cannot be planned as a re-aggregation per row (a
    `min(id) GROUP BY pace_key` subquery could: on a PostgreSQL without statistics, a nested
    loop re-grouped every pending row for each candidate)."""
    inner = aliased(model)
    first = select(func.min(inner.pace_key).label("key")).where(inner.status == PENDING)
    # nesting: the WITH is written inside the subquery, so SQLite's claim starts with UPDATE.
    # Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE/REPLACE: a
    # `WITH ... UPDATE` ran outside the caller's transaction and committed by itself.
    keys = first.cte("pace_keys", recursive=True, nesting=True)
    step = aliased(model)
    following = (
        select(func.min(step.pace_key))
        .where(step.status == PENDING, step.pace_key > keys.c.key)
        .scalar_subquery()
    )
    keys = keys.union_all(select(following).where(keys.c.key.is_not(None)))
    head = aliased(model)
    oldest = (
        select(func.min(head.id))
        .where(head.status == PENDING, head.pace_key == keys.c.key)
        .scalar_subquery()
    )
    heads = select(oldest).where(keys.c.key.is_not(None))
    if by_id:  # PostgreSQL: the heads as one array, each row then fetched by primary key
        # (`id IN (<heads>)` may be planned as a hash join over a scan of the table)
        found = select(func.array_agg(heads.subquery().c[0])).scalar_subquery()
        where = [model.id == any_(sql_cast(found, ARRAY(Integer))), *_claimable_by_id(model)]
    else:
        where = [model.id.in_(heads), *_claimable(model)]
    return (
        select(model.id)
        .where(*where)
        .order_by(model.id)
        .limit(bindparam("p_limit", type_=Integer()))
    )


@cache
def _claim_statement(model: JobModel, ids: bool) -> Any:
    """SQLite: `id IN (<pick>)`, one statement under the database's write lock. PostgreSQL:
    `id IN :ids`, the rows just picked and locked with FOR UPDATE SKIP LOCKED (a LIMIT inside
    `IN (... FOR UPDATE SKIP LOCKED)` is not honoured by PostgreSQL's plans: the subquery may
    run again per row, claiming more than asked)."""
    if ids:
        target = model.id.in_(bindparam("p_ids", expanding=True))
        claimable = _claimable_by_id(model)  # by primary key, never by the status indexes
    else:
        target = model.id.in_(_pick_statement(model).scalar_subquery())
        claimable = _claimable(model)
    return (
        update(model)
        .where(target, *claimable)
        .values(
            locked_until=bindparam("p_until", type_=UTCDateTime()),
            locked_by=bindparam("p_worker"),
            attempts=model.attempts + 1,
            in_doubt=model.locked_until.is_not(None),
        )
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )


def claim(
    session: Session,
    model: JobModel,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    horizon: datetime | None = None,
) -> list[Any]:
    """Claim up to `limit` rows (at most one per pace key); returns them, oldest first.
    `horizon` (≥ now) also claims rows due by then: the worker holds them until they are due,
    so a paced channel's next message is ready when its turn comes."""
    claimed = claim_flagged(
        session, model, true(), worker=worker, now=now, lease=lease, limit=limit, horizon=horizon
    )
    return [row for row, _ in claimed]


def claim_flagged(
    session: Session,
    model: JobModel,
    flag: Any,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    horizon: datetime | None = None,
) -> list[tuple[Any, bool]]:
    """`claim`, each row with the value of `flag` (a boolean column expression on `model`,
    correlated subqueries allowed) computed by the statement that loads the rows: a question
    asked of every claimed row costs no statement of its own."""
    ids = _claim_ids(session, model, worker, now, lease, limit, horizon)
    if not ids:
        return []
    rows = session.execute(
        select(model, flag).where(model.id.in_(ids)).order_by(model.id),
        execution_options={"populate_existing": True},
    )
    return [(row, bool(flagged)) for row, flagged in rows]


def _claim_ids(
    session: Session,
    model: JobModel,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    horizon: datetime | None,
) -> list[Any]:
    if limit <= 0:
        return []
    params: dict[str, Any] = {
        "p_now": now,
        "p_horizon": horizon if horizon is not None else now,
        "p_until": now + lease,
        "p_worker": worker,
        "p_limit": limit,
    }
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        pick = _pick_statement(model, True).with_for_update(skip_locked=True)
        picked = list(connection.scalars(pick, params))
        if not picked:
            return []
        ids = list(connection.scalars(_claim_statement(model, True), {**params, "p_ids": picked}))
    else:
        ids = list(connection.scalars(_claim_statement(model, False), params))
    return ids


def next_due(
    session: Session, model: JobModel, *, now: datetime, after: datetime | None = None
) -> datetime | None:
    """When a paced or backed-off row becomes due (the first after `after`, default now);
    None when none waits. (Leases that run out are found by polling.)"""
    due = session.connection().scalar(_due_statement(model), {"p_after": after or now})
    return cast(datetime | None, due)


@cache
def _due_statement(model: JobModel) -> Any:
    after = bindparam("p_after", type_=UTCDateTime())
    return select(func.min(model.available_at)).where(
        model.status == PENDING, model.available_at > after
    )
