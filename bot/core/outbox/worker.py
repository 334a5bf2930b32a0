"""The worker: an asyncio task (started in the ASGI lifespan of `mcbot serve`) that drains the
webhook inbox and the Slack outbox.

Each round claims what it can (`claims.claim`: exclusive across processes, one row per channel
at a time), including outbox rows due within `LOOKAHEAD` (their message is rendered while
they wait, so a paced channel's next message leaves on time), starts a task per row, and sleeps
until a row becomes due, outcomes were recorded, work is queued in this process
(`services.outbox_wakeup`) or `poll_seconds` pass (work queued by another process). Nothing
sleeps in a request path: a 429 reschedules its row at Retry-After. `concurrency` bounds the
Slack calls in flight; claimed rows waiting for their moment (up to `HELD_PER_SEND` times as
many) hold no slot.

Pacing: one message per `channel_interval_seconds` per (method, channel), counted from Slack's
answer to the previous one — in memory for this process, and in the database for every process
(the channel's next row is held until then, `queue.pace_next_many`). Retries: exponential backoff
with jitter; after `max_attempts` failed tries, or at once for a permanent Slack error, the row
is parked (never dropped). Outcomes are recorded in batches (`Recorder`), on the worker's own
database threads, so the request path's threads and SQLite's single writer stay free.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
import random
import secrets
import socket
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session

from bot.core.outbox import claims, queue
from bot.core.outbox.inbox import process_events
from bot.core.outbox.locks import write
from bot.core.outbox.notify import SUPERSEDED
from bot.core.outbox.options import WorkerOptions
from bot.core.outbox.recorder import Recorder
from bot.core.outbox.sender import Outcome, Permanent, RateLimited, Sent, SlackSender, Transient
from bot.core.services import Services
from bot.core.store.clock import utc_now
from bot.core.store.models import InboxEvent, OutboxMessage

log = logging.getLogger(__name__)
T = TypeVar("T")
MIN_WAIT = 0.05  # at most 20 rounds a second
LOOKAHEAD = timedelta(seconds=0.5)
LEASE_MARGIN = timedelta(seconds=2)  # do not start a send this close to the end of our lease
EVENT_BATCH = 16  # events planned in one reading and applied in one writing transaction
# Rows held per send slot: a claimed row waits for its moment (LOOKAHEAD, its channel's pace)
# without holding one of the `concurrency` requests in flight; only its request does.
HELD_PER_SEND = 8


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class OutboxWorker:
    def __init__(
        self,
        services: Services,
        client: AsyncWebClient,
        options: WorkerOptions | None = None,
        *,
        name: str | None = None,
        now: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.services = services
        self.options = options or WorkerOptions()
        self.name = (name or worker_name())[:64]
        self.now = now
        self.rng = rng or random.Random()
        self.stats: Counter[str] = Counter()
        # Threads of our own, so a backlog here never delays the request path (which uses the
        # default executor): one for claims and outcomes (never queued behind event
        # processing, or pacing would slip), and a pool for processing events.
        # One thread each by default: rendering and the ORM are CPU work under the GIL, and
        # more threads competing for it delay the event loop, hence the sends (measured with
        # bench/notify.py); one thread processes some 50 events a second.
        self._control = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-control")
        threads = self.options.event_threads
        if threads is None:  # PostgreSQL: its round trips overlap; SQLite: one writer anyway
            threads = 1 if services.sessions.kw["bind"].dialect.name == "sqlite" else 2
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="outbox-events")
        # Two batches per event thread: while a thread processes one, its next is claimed and
        # waiting (PostgreSQL: 64 events, so neither thread waits for the next round's claim).
        in_flight = self.options.event_concurrency
        if in_flight is None:
            in_flight = min(self.options.concurrency, 2 * threads * EVENT_BATCH)
        self.event_concurrency = in_flight
        self.sender = SlackSender(services, client)
        # `concurrency` bounds the Slack calls in flight; claimed rows waiting for their turn
        # (up to `held` of them) do not take a slot: counted as in flight, 64 rows that each
        # wait up to LOOKAHEAD for their channel's pace allowed some 130 sends a second, and
        # 600 paced channels fell behind (bench/notify.py --channels 200).
        self.held = HELD_PER_SEND * self.options.concurrency
        self._slots = asyncio.Semaphore(self.options.concurrency)
        self.recorder = Recorder(self.run, self.stats)
        self._events: set[asyncio.Task[None]] = set()
        self._events_in_flight = 0
        self._sends: set[asyncio.Task[None]] = set()
        self._next_allowed: dict[str, float] = {}
        self._wakes: list[float] = []  # loop times when paced channels' next rows are claimable
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._http: aiohttp.ClientSession | None = None

    async def run(self, fn: Callable[[Session], T]) -> T:
        """`fn(session)` in one writing transaction, on the claims-and-outcomes thread."""
        return await self._write(self._control, fn)

    async def read(self, fn: Callable[[Session], T]) -> T:
        """`fn(session)` in one reading transaction, on the claims-and-outcomes thread."""
        return await self._read(self._control, fn)

    async def _write(self, executor: ThreadPoolExecutor, fn: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, write, self.services.sessions, fn)

    async def _read(self, executor: ThreadPoolExecutor, fn: Callable[[Session], T]) -> T:
        def work() -> T:
            with self.services.sessions.begin() as session:
                return fn(session)

        return await asyncio.get_running_loop().run_in_executor(executor, work)

    # ------------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._stopping = False
        client = self.sender.client
        if client.session is None:
            # One connection pool for every send: without it, slack_sdk opens a session, a
            # connector and a TCP connection per call (most of the sending CPU in the bench).
            timeout = aiohttp.ClientTimeout(total=client.timeout)
            self._http = client.session = aiohttp.ClientSession(timeout=timeout)
        self._slots = asyncio.Semaphore(self.options.concurrency)  # of this loop
        self.recorder.start()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-worker")
        log.info("outbox worker %s started", self.name)

    async def stop(self) -> None:
        """Stop claiming; let rows in flight finish (up to `stop_grace_seconds`)."""
        self._stopping = True
        self.services.outbox_wakeup.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.recorder.stop()
        if self._http is not None:
            self.sender.client.session = None
            await self._http.close()
            self._http = None
        self._control.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
        log.info("outbox worker %s stopped: %s", self.name, dict(self.stats))

    @property
    def busy(self) -> int:
        return len(self._events) + len(self._sends)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                timeout = await self._round()
            except Exception:  # the database is down, say: keep going, slowly
                log.exception("outbox worker %s: round failed", self.name)
                timeout = self.options.poll_seconds
            if not self._stopping:
                now = asyncio.get_running_loop().time()
                soon = self._wakes[0] - now if self._wakes else timeout
                await self._wait(max(MIN_WAIT, min(timeout, soon)))
        in_flight = self._events | self._sends
        if in_flight:
            _, late = await asyncio.wait(in_flight, timeout=self.options.stop_grace_seconds)
            for task in late:  # their rows stay leased and are claimed again later
                task.cancel()

    async def _round(self) -> float:
        self.stats["rounds"] += 1
        self.services.outbox_wakeup.clear()
        horizon_loop = asyncio.get_running_loop().time() + MIN_WAIT
        while self._wakes and self._wakes[0] <= horizon_loop:
            heapq.heappop(self._wakes)
        opts = self.options
        free_events = self.event_concurrency - self._events_in_flight
        free_sends = self.held - len(self._sends)
        lease = timedelta(seconds=opts.lease_seconds)

        def claim(
            session: Session,
        ) -> tuple[list[Any], list[tuple[Any, bool]], datetime | None]:
            now = self.now()  # when it runs, not when it was asked for
            horizon = now + LOOKAHEAD
            events = claims.claim(
                session, InboxEvent, worker=self.name, now=now, lease=lease, limit=free_events
            )
            rows = claims.claim_flagged(  # each update: superseded by a newer one queued?
                session,
                OutboxMessage,
                SUPERSEDED,
                worker=self.name,
                now=now,
                lease=lease,
                limit=free_sends,
                horizon=horizon,
            )
            due = [
                claims.next_due(session, InboxEvent, now=now),
                claims.next_due(session, OutboxMessage, now=now, after=horizon),
            ]
            moments = [moment for moment in due if moment is not None]
            return events, rows, min(moments) if moments else None

        events, rows, due = await self.run(claim)
        for start in range(0, len(events), EVENT_BATCH):
            batch = events[start : start + EVENT_BATCH]
            self._events_in_flight += len(batch)
            self._spawn(self._process(batch), self._events)
        for row, superseded in rows:
            self._spawn(self._send(row, superseded), self._sends)
        if due is None:
            return opts.poll_seconds
        until = (due - self.now() - LOOKAHEAD).total_seconds()  # claimable LOOKAHEAD early
        return min(opts.poll_seconds, max(MIN_WAIT, until))

    async def _wait(self, timeout: float) -> None:
        wakers = [
            asyncio.ensure_future(self.services.outbox_wakeup.wait()),
            asyncio.ensure_future(self.recorder.flushed.wait()),
        ]
        try:
            await asyncio.wait(
                {*wakers, *self._events}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waker in wakers:
                waker.cancel()
            self.recorder.flushed.clear()
            await asyncio.sleep(MIN_WAIT)  # let a burst of outcomes gather into one round

    def _spawn(self, coro: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    # ------------------------------------------------------------------------ events
    async def _process(self, events: list[InboxEvent]) -> None:
        """Events claimed together, processed together (`inbox.process_events`)."""
        limit = self.options.max_attempts
        try:
            try:
                results = await process_events(
                    self.services,
                    events,
                    worker=self.name,
                    now=self.now,
                    final=lambda event: event.attempts >= limit,
                    run=lambda fn: self._write(self._pool, fn),
                    read=lambda fn: self._read(self._pool, fn),
                )
            except Exception as exc:  # not one event's failure (say, the loop's executor)
                results = [exc] * len(events)
            for event, result in zip(events, results, strict=True):
                self._settle(event, result)
        finally:
            self._events_in_flight -= len(events)
        self.services.outbox_wakeup.set()  # their notifications are queued

    def _settle(self, event: InboxEvent, result: str | Exception) -> None:
        if isinstance(result, queue.LeaseLost):
            log.warning("%s", result)
        elif isinstance(result, Exception):  # Partner Center down, a concurrent change, ...
            final = event.attempts >= self.options.max_attempts
            error = f"{type(result).__name__}: {result}"[:500]
            log.warning("event %s failed (try %s): %s", event.id, event.attempts, error)
            self._failed(InboxEvent, event, error, final)
        else:
            self.stats[f"event_{result}"] += 1

    # ------------------------------------------------------------------------ sending
    async def _send(self, row: OutboxMessage, superseded: bool = False) -> None:
        loop = asyncio.get_running_loop()
        key = row.pace_key
        try:
            prepared = self.sender.prepare(row, superseded)
        except Exception as exc:  # a template that does not render: a bug, kept visible
            log.exception("outbox %s: cannot render", row.id)
            return self._outcome(row, Permanent(f"{type(exc).__name__}: {exc}"[:300]))
        if isinstance(prepared, Sent):  # superseded: nothing to send
            return self._outcome(row, prepared)
        wait = max(
            self._next_allowed.get(key, 0.0) - loop.time(),
            (row.available_at - self.now()).total_seconds(),
        )
        if wait > 0:
            await asyncio.sleep(wait)
        interval = self.options.channel_interval_seconds
        async with self._slots:  # at most `concurrency` calls in flight
            if row.locked_until is not None and self.now() > row.locked_until - LEASE_MARGIN:
                log.warning("outbox %s: lease about to run out, leaving it for a new claim", row.id)
                return None
            try:
                outcome = await self.sender.deliver(row, prepared)
            except Exception as exc:  # unexpected: retried like a network error, logged
                log.exception("outbox %s: cannot send", row.id)
                outcome = Transient(f"{type(exc).__name__}: {exc}"[:300])
        # Paced from the answer: Slack had the request by then, so the next one reaches it at
        # least `interval` later whatever the delays on our side.
        pause = outcome.retry_after if isinstance(outcome, RateLimited) else interval
        self._next_allowed[key] = loop.time() + pause
        # the channel's next row becomes claimable (LOOKAHEAD early) then: look for it
        claimable = loop.time() + max(0.0, pause - LOOKAHEAD.total_seconds())
        heapq.heappush(self._wakes, claimable)
        return self._outcome(row, outcome, ready_at=claimable)

    def _outcome(self, row: OutboxMessage, outcome: Outcome, ready_at: float = 0.0) -> None:
        if isinstance(outcome, Transient):
            final = row.attempts >= self.options.max_attempts
            log.info("outbox %s: %s (try %s)", row.id, outcome.error, row.attempts)
            self._failed(OutboxMessage, row, outcome.error, final)
            return
        now = self.now()
        interval = timedelta(seconds=self.options.channel_interval_seconds)
        name = self.name

        if isinstance(outcome, Sent):
            # nothing went out for a superseded update: no pause
            paced = None if outcome.note == "superseded" else (row.pace_key, now + interval)
            item = (row.id, now, outcome.ts, paced)
            self.recorder.add_batched(self._sent, item, row.id, outcome.note, ready_at=ready_at)
        elif isinstance(outcome, RateLimited):
            at = now + timedelta(seconds=outcome.retry_after)

            def later(session: Session) -> bool:
                return queue.reschedule(
                    session,
                    OutboxMessage,
                    row.id,
                    worker=name,
                    at=at,
                    error="ratelimited",
                    counted=False,
                    strict=False,
                )

            self.recorder.add(later, row.id, "ratelimited")
        else:
            log.warning("outbox %s parked: %s", row.id, outcome.error)
            error = outcome.error

            def give_up(session: Session) -> bool:
                return queue.park(
                    session, OutboxMessage, row.id, worker=name, error=error, strict=False
                )

            self.recorder.add(give_up, row.id, "parked")

    def _sent(self, session: Session, items: list[Any]) -> list[bool]:
        """Sent rows (`_outcome`'s items), recorded together: one executemany marks them
        done, one holds each channel's next row (`queue.pace_next_many`)."""
        written = queue.mark_sent_many(
            session, [(row_id, at, ts) for row_id, at, ts, _ in items], worker=self.name
        )
        queue.pace_next_many(session, [paced for *_, paced in items if paced is not None])
        return written

    def _failed(self, model: queue.JobModel, row: queue.Job, error: str, final: bool) -> None:
        name = self.name
        if final:
            log.warning(
                "%s %s parked after %s tries: %s", model.__tablename__, row.id, row.attempts, error
            )

            def give_up(session: Session) -> bool:
                return queue.park(session, model, row.id, worker=name, error=error, strict=False)

            self.recorder.add(give_up, row.id, "parked")
            return
        delay = queue.backoff_seconds(
            row.attempts,
            base=self.options.backoff_seconds,
            cap=self.options.backoff_max_seconds,
            rng=self.rng,
        )
        at = self.now() + timedelta(seconds=delay)

        def later(session: Session) -> bool:
            return queue.reschedule(
                session, model, row.id, worker=name, at=at, error=error, strict=False
            )

        self.recorder.add(later, row.id, "retried")
