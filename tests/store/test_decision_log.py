"""bot.core.store.decision_log: the decision log's writer thread, on SQLite and PostgreSQL;
nothing lost or doubled while the database is locked, down, read-only or not there yet."""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.core.store import db
from bot.core.store.decision_log import DecisionLog
from bot.core.store.decisions import DecisionWriter, recent_decisions
from bot.core.store.testing import Database, FakeClock, make_read_only, make_writable
from policy import Facts, Role, Subscription, evaluate

FACTS = Facts(role=Role.direct, subscriptions=[Subscription(source="ea", kind="license")])


def batch(writer: DecisionWriter, clock: FakeClock, user: str, n: int, start: int = 0) -> list[Any]:
    rows = []
    for i in range(start, start + n):
        decision = evaluate(FACTS)
        rows.append(
            writer.row(
                decision,
                decision_id=decision.decision_id,
                at=clock.now + timedelta(milliseconds=i),
                user_id=user,
                team_id="T0RESELLER",
                org_id=None,
                customer=f"c{i}",
            )
        )
    return rows


def logged(engine: Engine, user: str) -> list[str]:
    with db.make_session_factory(engine)() as session:
        return sorted(r.customer_name or "" for r in recent_decisions(session, user, limit=10_000))


def append_all(log: DecisionLog, rows: list[Any]) -> None:
    for row in rows:
        log.append(row)


class CountingWriter(DecisionWriter):
    """The real writer, counting its transactions."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.transactions = 0

    def write(self, rows: Any) -> None:
        self.transactions += 1
        super().write(rows)


def unmigrated(tmp_path: Path, name: str) -> tuple[str, DecisionWriter, DecisionLog]:
    """A decision log on a SQLite file with no tables: every write fails."""
    url = f"sqlite:///{tmp_path / name}"
    writer = DecisionWriter(db.make_engine(url))
    log = DecisionLog(writer)
    log.retry_seconds = 0.05
    return url, writer, log


async def test_the_thread_writes_every_row_in_few_transactions(
    partners: Database, clock: FakeClock
) -> None:
    writer = CountingWriter(partners.engine)
    log = DecisionLog(writer)
    for k in range(5):
        append_all(log, batch(writer, clock, "U0THREAD1", 100, start=100 * k))
    assert await log.flush(30)
    assert log.pending == 0
    assert logged(partners.engine, "U0THREAD1") == sorted(f"c{i}" for i in range(500))
    # appended faster than one transaction: the rows gathered into at most a few (the first
    # may start before the rest is appended)
    assert 1 <= writer.transactions <= 5


async def test_an_idle_log_has_no_thread_and_starts_one_again(
    partners: Database, clock: FakeClock
) -> None:
    writer = DecisionWriter(partners.engine)
    log = DecisionLog(writer)
    log.gather_seconds = 0.01
    append_all(log, batch(writer, clock, "U0IDLE001", 3))
    assert await log.flush(30)
    assert "decision-log" in {t.name for t in threading.enumerate()} or log._thread is None
    for _ in range(500):  # the thread ends after its gathering pause, with nothing left
        if log._thread is None:
            break
        threading.Event().wait(0.01)
    assert log._thread is None
    append_all(log, batch(writer, clock, "U0IDLE001", 3, start=3))
    assert await log.flush(30)
    assert logged(partners.engine, "U0IDLE001") == sorted(f"c{i}" for i in range(6))


async def test_rows_written_twice_are_logged_once(partners: Database, clock: FakeClock) -> None:
    writer = DecisionWriter(partners.engine)
    rows = batch(writer, clock, "U0TWICE01", 30)
    writer.write(rows)
    writer.write(rows)  # e.g. a transaction retried after its commit was not confirmed
    assert logged(partners.engine, "U0TWICE01") == sorted(f"c{i}" for i in range(30))


async def test_a_locked_database_delays_the_log_but_loses_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "locked.sqlite3"
    url = f"sqlite:///{path}"
    db.upgrade(url)
    writer = DecisionWriter(db.make_engine(url))
    log = DecisionLog(writer)
    log.retry_seconds = 0.05
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        append_all(log, batch(writer, clock, "U0LOCKED2", 12))
        assert not await log.flush(0.5)
        assert blocker.execute("SELECT count(*) FROM decision_records").fetchone() == (0,)
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert await log.flush(30)
    assert logged(writer.engine, "U0LOCKED2") == sorted(f"c{i}" for i in range(12))


async def test_a_database_not_there_yet_is_waited_for(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    url, writer, log = unmigrated(tmp_path, "later.sqlite3")
    with caplog.at_level(logging.WARNING, logger="bot.core.store.decision_log"):
        append_all(log, batch(writer, clock, "U0LATER01", 10))
        assert not await log.flush(0.5)  # no table yet: the thread keeps retrying
    assert "10 decisions not written" in caplog.text
    db.upgrade(url)  # e.g. `mcbot db upgrade` ran
    assert await log.flush(30)
    assert logged(writer.engine, "U0LATER01") == sorted(f"c{i}" for i in range(10))


async def test_giving_up_says_what_is_lost_and_the_log_goes_on(
    tmp_path: Path, clock: FakeClock
) -> None:
    url, writer, log = unmigrated(tmp_path, "never.sqlite3")
    append_all(log, batch(writer, clock, "U0NEVER01", 3))
    assert not await log.flush(0.3)
    assert log.give_up() == 3
    assert log.pending == 0
    db.upgrade(url)
    append_all(log, batch(writer, clock, "U0NEVER01", 2, start=3))
    assert await log.flush(30)
    assert logged(writer.engine, "U0NEVER01") == ["c3", "c4"]


async def test_memory_is_bounded_while_the_database_is_away(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    url, writer, log = unmigrated(tmp_path, "away.sqlite3")
    log.max_pending = 25
    with caplog.at_level(logging.WARNING, logger="bot.core.store.decision_log"):
        for k in range(4):
            append_all(log, batch(writer, clock, "U0AWAY001", 10, start=10 * k))
            assert log.pending <= 25
        assert not await log.flush(0.3)
    assert "older ones dropped (too many pending)" in caplog.text
    db.upgrade(url)
    assert await log.flush(30)
    assert len(logged(writer.engine, "U0AWAY001")) == 25  # 15 dropped


async def test_decisions_pending_on_a_read_only_file_are_written_when_it_is_writable(
    sqlite_file: Path, clock: FakeClock
) -> None:
    url = f"sqlite:///{sqlite_file}"
    writer = DecisionWriter(db.make_engine(url))
    log = DecisionLog(writer)
    log.retry_seconds = 0.05
    make_read_only(sqlite_file)
    try:
        append_all(log, batch(writer, clock, "U0RDONLY1", 20))
        assert not await log.flush(0.5)  # refused: the thread keeps them and retries
    finally:
        make_writable(sqlite_file)
    assert await log.flush(30)
    assert logged(writer.engine, "U0RDONLY1") == sorted(f"c{i}" for i in range(20))
    writer.engine.dispose()


async def test_a_row_the_schema_refuses_costs_only_itself(
    partners: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    writer = DecisionWriter(partners.engine)
    log = DecisionLog(writer)
    rows = batch(writer, clock, "U0REFUSE1", 5)
    bad = rows[2]
    # a NOT NULL column left empty (user_id): the driver refuses this row alone
    rows[2] = (
        tuple(
            None if n == "user_id" else v for n, v in zip(writer.statement.names, bad, strict=True)
        )
        if isinstance(bad, tuple)
        else {**bad, "user_id": None}
    )
    with caplog.at_level(logging.ERROR, logger="bot.core.store.decision_log"):
        append_all(log, rows)
        assert await log.flush(30)
    assert "not logged" in caplog.text
    assert logged(partners.engine, "U0REFUSE1") == ["c0", "c1", "c3", "c4"]
