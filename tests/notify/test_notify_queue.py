"""The inbox and outbox tables on SQLite and PostgreSQL: inserted once, claimed exclusively
(even by many workers at once), one row per channel at a time, re-claimed after a lease runs
out, outcomes only by the lease holder."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.outbox import claims, queue
from bot.core.outbox.notify import SUPERSEDED
from bot.core.outbox.recorder import Recorder
from bot.core.partner_center.events import parse_event
from bot.core.store import db
from bot.core.store.clock import utc_now
from bot.core.store.models import InboxEvent, JobStatus, OutboxEffect, OutboxMessage

LEASE = timedelta(seconds=30)


def effects(n: int, channels: int) -> list[queue.Effect]:
    return [
        queue.Effect(f"key{i}", OutboxEffect.post, f"C0CHAN{i % channels:04d}", {"n": i})
        for i in range(n)
    ]


def test_an_event_is_stored_once_whatever_the_property_case(database_url: str) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    body = (
        b'{"EventName": "reseller-relationship-accepted-by-customer", "ResourceUri": '
        b'"https://api.partnercenter.microsoft.com/v1/customers/4b2a6e33-8791-4386-bd2b-0d55baf25039",'
        b' "ResourceChangeUtcDate": "2023-10-18T00:26:24.0159088+00:00"}'
    )
    try:
        with factory.begin() as session:
            first = queue.record_event(session, parse_event(body), now=utc_now())
        with factory.begin() as session:
            again = queue.record_event(session, parse_event(body.lower()), now=utc_now())
            other = queue.record_event(
                session, parse_event(body.replace(b"24.0159088", b"25.0")), now=utc_now()
            )
        assert first is not None and again is None and other not in (None, first)
        with factory() as session:
            row = session.get(InboxEvent, first)
            assert row is not None
            assert row.customer_id == "4b2a6e33-8791-4386-bd2b-0d55baf25039"
            assert row.status is JobStatus.pending and row.kind == "relationship_accepted"
    finally:
        engine.dispose()


def test_effects_are_queued_once(database_url: str) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    try:
        with factory.begin() as session:
            assert queue.enqueue(session, effects(5, 2), now=utc_now()) == 5
        with factory.begin() as session:
            assert queue.enqueue(session, effects(7, 2), now=utc_now()) == 2
        with factory() as session:
            assert queue.counts(session, OutboxMessage)["pending"] == 7
    finally:
        engine.dispose()


def test_one_row_per_channel_in_order_and_pacing_shared_through_the_database(
    database_url: str,
) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    now = utc_now()
    try:
        with factory.begin() as session:
            queue.enqueue(session, effects(9, 3), now=now)
        with factory.begin() as session:
            first = claims.claim(session, OutboxMessage, worker="a", now=now, lease=LEASE, limit=10)
        assert [row.dedupe_key for row in first] == ["key0", "key1", "key2"]
        with factory.begin() as session:  # every channel is busy: nothing for b
            assert (
                claims.claim(session, OutboxMessage, worker="b", now=now, lease=LEASE, limit=10)
                == []
            )
        with factory.begin() as session:
            queue.mark_sent_many(session, [(first[0].id, now, None)], worker="a")
            queue.pace_next_many(session, [(first[0].pace_key, now + timedelta(seconds=1))])
        with factory.begin() as session:  # channel 0 is paced for a second
            assert (
                claims.claim(session, OutboxMessage, worker="b", now=now, lease=LEASE, limit=10)
                == []
            )
            assert claims.next_due(session, OutboxMessage, now=now) == now + timedelta(seconds=1)
        later = now + timedelta(seconds=1)
        with factory.begin() as session:
            rows = claims.claim(
                session, OutboxMessage, worker="b", now=later, lease=LEASE, limit=10
            )
        assert [row.dedupe_key for row in rows] == ["key3"]
        with factory() as session:
            done = session.get(OutboxMessage, first[0].id)
            assert done is not None and done.locked_by == "a" and done.sent_at is not None
    finally:
        engine.dispose()


def test_the_claim_itself_says_which_updates_a_newer_one_supersedes(database_url: str) -> None:
    """Two updates of one message queued: the older is claimed flagged superseded, in the
    claim's own statements (none per row); an update of another message of the channel, and
    a post, are not."""
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    now = utc_now()

    def update(key: str, ts: str) -> queue.Effect:
        return queue.Effect(key, OutboxEffect.update, "C0CHAN0001", {"n": key}, ts=ts)

    post = queue.Effect("post", OutboxEffect.post, "C0CHAN0001", {"n": "post"})
    statements: list[str] = []

    def listen(*args: object) -> None:
        statements.append(str(args[2]))

    def claim(worker: str) -> list[tuple[str, bool]]:
        statements.clear()
        sa_event.listen(engine, "before_cursor_execute", listen)
        try:
            with factory.begin() as session:
                claimed = claims.claim_flagged(
                    session, OutboxMessage, SUPERSEDED, worker=worker, now=now, lease=LEASE, limit=9
                )
                for row, _ in claimed:
                    queue.mark_sent_many(session, [(row.id, now, None)], worker=worker)
        finally:
            sa_event.remove(engine, "before_cursor_execute", listen)
        return [(row.dedupe_key, flagged) for row, flagged in claimed]

    try:
        with factory.begin() as session:
            queue.enqueue(
                session,
                [update("old", "1.000100"), post, update("other", "1.000200")],
                now=now,
            )
            queue.enqueue(session, [update("new", "1.000100")], now=now)
        assert claim("a") == [("old", True), ("post", False)]
        # the claim's statements and the outcomes: no read of its own per row
        picks = 2 if engine.dialect.name == "sqlite" else 3
        assert len(statements) == picks + 2
        assert claim("b") == [("other", False)]  # another message's update
        assert claim("c") == [("new", False)]  # nothing newer: it goes out
    finally:
        engine.dispose()


async def test_sent_rows_are_recorded_in_two_statements_whatever_their_number(
    database_url: str,
) -> None:
    """The worker's outcomes of sent rows, flushed together: one executemany marks them done,
    one paces their channels (not two statements per row); a row whose lease another worker
    took over is not recorded, and only it."""
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    now = utc_now()
    try:
        with factory.begin() as session:
            queue.enqueue(session, effects(12, 6), now=now)  # 2 rows per channel
        with factory.begin() as session:
            rows = claims.claim(session, OutboxMessage, worker="a", now=now, lease=LEASE, limit=9)
        assert len(rows) == 6
        with factory.begin() as session:  # another worker took the last one over
            stolen = session.get(OutboxMessage, rows[-1].id)
            assert stolen is not None
            stolen.locked_by = "b"

        async def run(fn: Any) -> Any:
            with factory.begin() as session:
                return fn(session)

        def record(session: Session, items: list[Any]) -> list[bool]:
            done = queue.mark_sent_many(session, [(i, now, f"1.{i}") for i in items], worker="a")
            later = now + timedelta(seconds=1)
            queue.pace_next_many(session, [(r.pace_key, later) for r in rows])
            return done

        stats: Counter[str] = Counter()
        recorder = Recorder(run, stats)
        for row in rows:
            recorder.add_batched(record, row.id, row.id, "sent")
        statements: list[str] = []

        def listen(*args: object) -> None:
            statements.append(str(args[2]))

        sa_event.listen(engine, "before_cursor_execute", listen)
        try:
            await recorder.flush()
        finally:
            sa_event.remove(engine, "before_cursor_execute", listen)
        writes = [s for s in statements if s.startswith("UPDATE")]
        assert len(writes) == 2  # done, paced: one executemany each
        assert stats == Counter({"sent": 5})
        with factory() as session:
            found = {r.id: r for r in session.scalars(select(OutboxMessage))}
        assert [found[r.id].status for r in rows] == [JobStatus.done] * 5 + [JobStatus.pending]
        assert found[rows[0].id].result_ts == f"1.{rows[0].id}"
        # each channel's next pending row held a second (the stolen row is its channel's)
        held = [r for r in found.values() if r.available_at == now + timedelta(seconds=1)]
        assert len(held) == 6 and rows[-1].id in {r.id for r in held}
    finally:
        engine.dispose()


def test_a_lease_that_runs_out_is_claimed_again_in_doubt_and_the_old_holder_records_nothing(
    database_url: str,
) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    now = utc_now()
    try:
        with factory.begin() as session:
            queue.enqueue(session, effects(1, 1), now=now)
        with factory.begin() as session:
            (row,) = claims.claim(session, OutboxMessage, worker="a", now=now, lease=LEASE, limit=5)
            assert not row.in_doubt and row.attempts == 1
        after = now + LEASE + timedelta(seconds=1)
        with factory.begin() as session:
            (again,) = claims.claim(
                session, OutboxMessage, worker="b", now=after, lease=LEASE, limit=5
            )
            assert again.id == row.id and again.in_doubt and again.attempts == 2
        with factory.begin() as session:  # a's lease ran out: its "sent" is not recorded
            assert queue.mark_sent_many(session, [(row.id, after, None)], worker="a") == [False]
        with factory.begin() as session:
            queue.reschedule(
                session,
                OutboxMessage,
                row.id,
                worker="b",
                at=after,
                error="ratelimited",
                counted=False,
            )
        with factory() as session:
            stored = session.get(OutboxMessage, row.id)
            assert stored is not None
            assert (stored.attempts, stored.ratelimited, stored.locked_by) == (1, 1, None)
    finally:
        engine.dispose()


def test_parked_rows_are_kept_and_can_be_queued_again(database_url: str) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    now = utc_now()
    try:
        with factory.begin() as session:
            queue.enqueue(session, effects(2, 2), now=now)
        with factory.begin() as session:
            rows = claims.claim(session, OutboxMessage, worker="a", now=now, lease=LEASE, limit=5)
            queue.park(session, OutboxMessage, rows[0].id, worker="a", error="channel_not_found")
            queue.mark_sent_many(session, [(rows[1].id, now, None)], worker="a")
        with factory.begin() as session:
            parked = queue.list_jobs(session, OutboxMessage, statuses=[JobStatus.parked], limit=9)
            assert [(r.id, r.last_error) for r in parked] == [(rows[0].id, "channel_not_found")]
            assert queue.retry(session, OutboxMessage, [rows[0].id, rows[1].id, 999], now=now) == [
                rows[0].id
            ]
        with factory() as session:
            stored = session.get(OutboxMessage, rows[0].id)
            assert stored is not None and stored.status is JobStatus.pending
            assert stored.attempts == 0
    finally:
        engine.dispose()


def test_a_claim_is_part_of_its_transaction_rolled_back_it_leases_nothing(
    database_url: str,
) -> None:
    """`claims` functions never commit: a claim whose transaction is rolled back (the worker's
    round failed after it) leaves its rows claimable at once, not leased until the lease runs
    out. On SQLite the claim is one `UPDATE`: with its recursive CTE written first (`WITH ...
    UPDATE`), Python's sqlite3 did not open a transaction for it and it committed by itself."""
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    now = utc_now()
    try:
        with factory.begin() as session:
            queue.enqueue(session, effects(6, 3), now=now)
            for i in range(3):
                queue.record_event(
                    session,
                    parse_event(
                        b'{"EventName": "create-customer", "ResourceUri": '
                        b'"https://api.partnercenter.microsoft.com/v1/customers/'
                        + f"{i:08d}-0000-4000-8000-000000000000".encode()
                        + b'", "ResourceChangeUtcDate": "2026-12-01T00:00:00Z"}'
                    ),
                    now=now,
                )
        for model in (OutboxMessage, InboxEvent):
            session = factory()
            try:
                got = claims.claim(session, model, worker="a", now=now, lease=LEASE, limit=5)
                assert len(got) == 3
            finally:
                session.rollback()
                session.close()
            with factory() as session:
                leased = session.scalars(select(model.id).where(model.locked_by.is_not(None)))
                assert list(leased) == []
            with factory.begin() as session:  # and another worker may claim them now
                again = claims.claim(session, model, worker="b", now=now, lease=LEASE, limit=5)
                assert [row.in_doubt for row in again] == [False, False, False]
    finally:
        engine.dispose()


def test_many_workers_claiming_at_once_never_share_a_row(database_url: str) -> None:
    """8 threads, each its own worker, claim and finish rows until none is left: every row is
    done exactly once (on PostgreSQL through FOR UPDATE SKIP LOCKED, on SQLite through its
    single write lock)."""
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    rows, channels, workers = 240, 12, 8
    with factory.begin() as session:
        queue.enqueue(session, effects(rows, channels), now=utc_now())
    claimed: Counter[int] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        rng = random.Random(name)
        idle = 0
        try:
            while idle < 50:
                with factory.begin() as session:
                    got = claims.claim(
                        session, OutboxMessage, worker=name, now=utc_now(), lease=LEASE, limit=3
                    )
                if not got:
                    idle += 1
                    threading.Event().wait(0.002 * rng.random())
                    continue
                idle = 0
                with lock:
                    claimed.update(row.id for row in got)
                with factory.begin() as session:
                    for row in got:
                        queue.mark_sent_many(session, [(row.id, utc_now(), None)], worker=name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors[0]
        assert len(claimed) == rows and set(claimed.values()) == {1}
        with factory() as session:
            assert queue.counts(session, OutboxMessage) == {"pending": 0, "done": rows, "parked": 0}
            holders = set(session.scalars(select(OutboxMessage.locked_by)))
        assert len(holders) > 1  # the work was shared
    finally:
        engine.dispose()


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [queue.backoff_seconds(n, base=2.0, cap=300.0, rng=rng) for n in range(1, 12)]
    assert 1.0 <= delays[0] <= 2.0
    assert 64.0 <= delays[6] <= 128.0
    assert all(delay <= 300.0 for delay in delays)
    assert max(delays) > 150.0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # its planner's plans
def test_a_postgresql_claim_reads_rows_by_id_not_by_scanning_the_pending_ones(
    database_url: str,
) -> None:
    """On PostgreSQL the claim's statements that take rows by id (the locking pick of each
    channel's head, the UPDATE of the ids picked) are planned on the primary key: with its
    conditions separate, a fresh database's planner (no statistics) ANDed a bitmap of
    (status, available_at), scanning every pending row and dead index entry at each claim."""
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    now = utc_now()
    seen: list[tuple[str, Any]] = []

    def listen(*args: Any) -> None:
        seen.append((str(args[2]), args[3]))

    try:
        with factory.begin() as session:
            queue.enqueue(session, effects(3000, 30), now=now)
        sa_event.listen(engine, "before_cursor_execute", listen)
        try:
            with factory.begin() as session:
                rows = claims.claim(
                    session, OutboxMessage, worker="a", now=now, lease=LEASE, limit=5
                )
        finally:
            sa_event.remove(engine, "before_cursor_execute", listen)
        assert len(rows) == 5
        by_id = [(s, p) for s, p in seen if "FOR UPDATE SKIP LOCKED" in s or s.startswith("UPDATE")]
        assert len(by_id) == 2
        with engine.connect() as connection:
            for statement, params in by_id:
                plan = connection.exec_driver_sql("EXPLAIN " + statement, params).scalars().all()
                text = "\n".join(plan)
                assert "ix_outbox_status_available_at" not in text, text
                assert "pk_outbox" in text, text
            connection.rollback()
    finally:
        engine.dispose()
