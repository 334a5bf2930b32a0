"""bot.core.store.decision_process: `mcbot serve`'s decision log, written by a child process, on
SQLite and PostgreSQL; nothing lost when the child dies or the database is not there yet."""

from __future__ import annotations

import asyncio
import logging
import pickle
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.core.store import db
from bot.core.store.decision_process import FRAME, DecisionLogProcess
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


async def unmigrated(tmp_path: Path, name: str) -> tuple[str, DecisionWriter, DecisionLogProcess]:
    """A started writer process on a SQLite file with no tables: every write fails."""
    url = f"sqlite:///{tmp_path / name}"
    process = DecisionLogProcess(url)
    await process.start()
    return url, DecisionWriter(db.make_engine(url)), process


async def test_the_child_writes_every_batch(partners: Database, clock: FakeClock) -> None:
    writer = DecisionWriter(partners.engine)
    process = DecisionLogProcess(partners.url)
    await process.start()
    try:
        for k in range(5):
            process.send(batch(writer, clock, "U0CHILD01", 100, start=100 * k))
        assert await process.flush(30)
    finally:
        await process.stop()
    assert logged(partners.engine, "U0CHILD01") == sorted(f"c{i}" for i in range(500))


async def test_a_killed_child_is_restarted_and_nothing_is_lost_or_doubled(
    partners: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    writer = DecisionWriter(partners.engine)
    process = DecisionLogProcess(partners.url)
    await process.start()
    try:
        process.send(batch(writer, clock, "U0KILLED1", 50))
        assert await process.flush(30)
        first = process._proc
        assert first is not None
        first.send_signal(signal.SIGKILL)  # as the OOM killer would
        await first.wait()
        with caplog.at_level(logging.ERROR, logger="bot.core.store.decision_process"):
            process.send(batch(writer, clock, "U0KILLED1", 50, start=50))  # into the dead pipe
            process.send(batch(writer, clock, "U0KILLED1", 50, start=100))
            assert await process.flush(30)  # a new child wrote them
        assert "the writer process exited" in caplog.text
        assert process._proc is not None and process._proc is not first
    finally:
        await process.stop()
    assert logged(partners.engine, "U0KILLED1") == sorted(f"c{i}" for i in range(150))


async def test_a_batch_sent_twice_is_written_once(partners: Database, clock: FakeClock) -> None:
    writer = DecisionWriter(partners.engine)
    rows = batch(writer, clock, "U0TWICE01", 30)
    writer.write(rows)
    writer.write(rows)  # e.g. written, then the child died before acknowledging it
    assert logged(partners.engine, "U0TWICE01") == sorted(f"c{i}" for i in range(30))


async def test_a_database_not_there_yet_is_waited_for(tmp_path: Path, clock: FakeClock) -> None:
    url, writer, process = await unmigrated(tmp_path, "later.sqlite3")
    try:
        process.send(batch(writer, clock, "U0LATER01", 10))
        assert not await process.flush(1.5)  # no table yet: the child keeps retrying
        db.upgrade(url)  # e.g. `mcbot db upgrade` ran
        assert await process.flush(30)
    finally:
        await process.stop()
    assert logged(writer.engine, "U0LATER01") == sorted(f"c{i}" for i in range(10))


async def test_shutdown_gives_up_on_a_database_that_stays_away(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    _, writer, process = await unmigrated(tmp_path, "never.sqlite3")
    process.send(batch(writer, clock, "U0NEVER01", 3))
    with caplog.at_level(logging.ERROR, logger="bot.core.store.decision_process"):
        await asyncio.wait_for(process.stop(timeout=1.0), 30)
    assert "3 decisions lost at shutdown" in caplog.text


async def test_memory_is_bounded_while_the_database_is_away(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    _, writer, process = await unmigrated(tmp_path, "away.sqlite3")
    process.max_pending = 25
    try:
        with caplog.at_level(logging.ERROR, logger="bot.core.store.decision_process"):
            for k in range(4):
                process.send(batch(writer, clock, "U0AWAY001", 10, start=10 * k))
        assert "10 decisions dropped" in caplog.text
        assert process._pending_rows <= 25
    finally:
        await process.stop(timeout=0.5)


async def test_signals_for_the_whole_group_leave_the_child_writing(
    partners: Database, clock: FakeClock
) -> None:
    """Ctrl+C in a terminal (SIGINT) or a service manager's SIGTERM reach the child too: it
    carries on until the server closes the pipe, so the server's shutdown loses nothing."""
    writer = DecisionWriter(partners.engine)
    process = DecisionLogProcess(partners.url)
    await process.start()
    try:
        process.send(batch(writer, clock, "U0SIGNAL1", 20))
        assert await process.flush(30)  # the child is up and writing
        child = process._proc
        assert child is not None
        child.send_signal(signal.SIGINT)
        child.send_signal(signal.SIGTERM)
        process.send(batch(writer, clock, "U0SIGNAL1", 20, start=20))
        assert await process.flush(30)
        assert child.returncode is None and process._proc is child
    finally:
        await process.stop()
    assert logged(partners.engine, "U0SIGNAL1") == sorted(f"c{i}" for i in range(40))


async def test_what_a_killed_server_had_sent_is_still_written(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The server dies (kill -9): the child still writes what was in the pipe, then exits."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'orphan.sqlite3'}"
    db.upgrade(url)
    writer = DecisionWriter(db.make_engine(url))
    frames = [b'{"url": "' + url.encode() + b'", "log_level": 30}']
    frames.append(pickle.dumps((1, batch(writer, clock, "U0ORPHAN1", 40)), protocol=5))
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.core.store.decision_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert child.stdin is not None
    child.stdin.write(b"".join(FRAME.pack(len(f)) + f for f in frames))
    child.stdin.close()  # as when the server's end of the pipe closes with it
    assert child.wait(timeout=30) == 0
    assert logged(writer.engine, "U0ORPHAN1") == sorted(f"c{i}" for i in range(40))


async def test_shutdown_while_the_child_restarts_says_what_is_lost(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    _, writer, process = await unmigrated(tmp_path, "empty.sqlite3")
    process.send(batch(writer, clock, "U0RESTART", 7))
    child = process._proc
    assert child is not None
    child.send_signal(signal.SIGKILL)
    await child.wait()
    await asyncio.sleep(0.05)  # the server noticed and waits to start a new child
    assert not process.running
    with caplog.at_level(logging.ERROR, logger="bot.core.store.decision_process"):
        await asyncio.wait_for(process.stop(timeout=1.0), 10)
    assert "7 decisions lost at shutdown" in caplog.text


async def test_decisions_pending_on_a_read_only_file_are_written_when_it_is_writable(
    sqlite_file: Path, clock: FakeClock
) -> None:
    url = f"sqlite:///{sqlite_file}"
    writer = DecisionWriter(db.make_engine(url))
    process = DecisionLogProcess(url)
    make_read_only(sqlite_file)
    try:
        await process.start()
        process.send(batch(writer, clock, "U0RDONLY1", 20))
        assert not await process.flush(1.5)  # refused: the child keeps them and retries
    finally:
        make_writable(sqlite_file)
    try:
        assert await process.flush(30)  # nothing acknowledged before it was written
    finally:
        await process.stop()
    assert logged(writer.engine, "U0RDONLY1") == sorted(f"c{i}" for i in range(20))
    writer.engine.dispose()
