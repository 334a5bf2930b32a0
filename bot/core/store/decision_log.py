"""The decision log's writer thread: every decision the bot makes, written off the event loop.

Every `/multichannel assess` logs a decision. `DecisionLog.append` takes the row (a tuple of
the driver's parameters, built by `DecisionWriter.row` on the request path: a few
microseconds) and returns at once; one thread writes what has gathered in one transaction,
then waits GATHER_SECONDS so that the next transaction gathers more (fewer, larger
transactions: less CPU, and a better p99 for the event loop sharing the cores; bench/ack.py).

Why a thread and not a process (the design before, ~65 MB of memory: a second interpreter with
SQLAlchemy): the thread writes through the driver itself (`DecisionWriter.write`: sqlite3's
multi-row INSERT or psycopg's executemany, with parameters already in the driver's form), so
it runs a few dozen lines of Python per transaction and otherwise C code that releases the GIL
(SQLite's steps and commit, the network). The event loop hardly waits for it. (A worker thread
that ran SQLAlchemy's bind processing for each row lost the throughput target: the GIL.)

Guarantees: nothing is lost or doubled (a row stays in memory until its transaction
committed; the INSERT skips a decision id already logged); a database that is down, locked or
read-only is retried every RETRY_SECONDS, while at most `max_pending` rows wait (the oldest
dropped, with an error log); `flush` waits until everything appended is written (tests, and
shutdown, which then logs what it could not write as lost). The thread exits when there is
nothing left to write and is started again by the next `append`: an idle bot has no thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.core.store.decisions import DecisionWriter

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # while the database is unreachable, locked or read-only
GATHER_SECONDS = 0.2  # after a write: the rows appended meanwhile are written together


class DecisionLog:
    """Rows appended on the event loop, written in batches by one thread."""

    def __init__(self, writer: DecisionWriter, *, max_pending: int = 50_000) -> None:
        self.writer = writer
        self.max_pending = max_pending
        self.retry_seconds = RETRY_SECONDS
        self.gather_seconds = GATHER_SECONDS
        self._lock = threading.Condition()
        self._pending: list[Any] = []
        self._in_flight = 0  # rows the thread is writing now
        self._dropped = 0  # rows dropped (too many pending) since the last log line
        self._generation = 0  # bumped by give_up(): the thread drops what it was retrying
        self._hurry = False  # flush() waits: no gathering pause before the next write
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Rows appended and not written yet."""
        with self._lock:
            return len(self._pending) + self._in_flight

    def append(self, row: Any) -> None:
        """Queue `row` (from DecisionWriter.row); never waits for the database."""
        with self._lock:
            self._pending.append(row)
            over = min(len(self._pending) + self._in_flight - self.max_pending, len(self._pending))
            if over > 0:  # the oldest waiting go first (the batch being retried merges them)
                del self._pending[:over]
                self._dropped += over
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
                self._thread.start()

    async def flush(self, timeout: float) -> bool:
        """Wait until every row appended so far is written; False after `timeout` s."""
        return await asyncio.to_thread(self.wait_written, timeout)

    def wait_written(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            self._hurry = True
            self._lock.notify_all()
            try:
                while self._pending or self._in_flight:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._lock.wait(left)
                return True
            finally:
                self._hurry = False

    def give_up(self) -> int:
        """Drop every row not written yet (shutdown, after `flush` timed out); returns how
        many. The thread stops retrying the batch it holds."""
        with self._lock:
            lost = len(self._pending) + self._in_flight
            self._pending = []
            self._in_flight = 0
            self._generation += 1
            self._lock.notify_all()
            return lost

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None  # the next append starts a new thread
                    self._lock.notify_all()
                    return
                rows, self._pending = self._pending, []
                self._in_flight = len(rows)
                generation = self._generation
            try:
                self._write(rows, generation)
            finally:
                with self._lock:
                    self._in_flight = 0
                    self._lock.notify_all()  # flush() may be waiting
                    if not self._hurry:
                        self._lock.wait_for(lambda: self._hurry, self.gather_seconds)

    def _write(self, rows: list[Any], generation: int) -> None:
        while True:
            try:
                self.writer.write(rows)
                return
            except OperationalError as exc:  # down, locked or read-only: keep the rows
                with self._lock:
                    if generation != self._generation:
                        return  # given up (shutdown): counted as lost there
                    # the rows appended meanwhile join the retried batch; the oldest go first
                    rows += self._pending
                    self._pending = []
                    over = len(rows) - self.max_pending
                    if over > 0:
                        del rows[:over]
                        self._dropped += over
                    self._in_flight = len(rows)
                    dropped, self._dropped = self._dropped, 0
                log.warning(
                    "decision log: %d decisions not written (%s); retrying in %g s%s",
                    len(rows), exc, self.retry_seconds,
                    f"; {dropped} older ones dropped (too many pending)" if dropped else "",
                )  # fmt: skip
                with self._lock:
                    self._lock.wait_for(lambda: generation != self._generation, self.retry_seconds)
            except SQLAlchemyError:  # e.g. a row the schema refuses: keep the others
                log.exception("decision log: %d decisions failed together", len(rows))
                self._write_one_by_one(rows)
                return
            except Exception:  # a bug: logged, and the thread lives on
                log.exception("decision log: %d decisions lost", len(rows))
                return

    def _write_one_by_one(self, rows: Sequence[Any]) -> None:
        for row in rows:
            try:
                self.writer.write([row])
            except SQLAlchemyError as exc:
                log.error(
                    "decision log: decision %s not logged: %s", self.writer.decision_id(row), exc
                )
