"""Outcomes of sends, written to the database in batches: one transaction every `PERIOD` for
everything that finished meanwhile, instead of one per message (SQLite has one writer at a
time; the request path needs its turn).

A record that cannot be written (the database is down) is tried again a few times; after that
its row keeps its lease, which runs out, and the row is claimed again in doubt (the sender then
looks for the message in Slack before posting it again).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PERIOD = 0.02
TRIES = 5

Record = Callable[[Session], bool]
#: records many outcomes of one kind in a few statements: their items in, per item "written"
Batched = Callable[[Session, list[Any]], list[bool]]
Runner = Callable[[Callable[[Session], list[bool]]], Awaitable[list[bool]]]


@dataclass(frozen=True)
class _Pending:
    record: Record | Batched
    row_id: int
    stat: str
    ready_at: float
    item: Any = None
    batched: bool = False


class Recorder:
    def __init__(self, run: Runner, stats: Counter[str]) -> None:
        self._run = run
        self._stats = stats
        self._pending: list[_Pending] = []
        self._added = asyncio.Event()
        self.flushed = asyncio.Event()  # set after each batch: rows may be claimable now
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def add(self, record: Record, row_id: int, stat: str, *, ready_at: float = 0.0) -> None:
        """Record an outcome with the next batch. `ready_at` (loop time): from then the row's
        channel may have its next row claimable; once recorded past it, the worker looks."""
        self._pending.append(_Pending(record, row_id, stat, ready_at))
        self._added.set()

    def add_batched(
        self, record: Batched, item: Any, row_id: int, stat: str, *, ready_at: float = 0.0
    ) -> None:
        """Record an outcome with the next batch, written with every other `item` given the
        same `record` by ONE call `record(session, items)` (one statement or executemany per
        kind of outcome, not one per row)."""
        self._pending.append(_Pending(record, row_id, stat, ready_at, item, batched=True))
        self._added.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="outbox-recorder")

    async def stop(self) -> None:
        self._stopping = True
        self._added.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()

    async def _loop(self) -> None:
        while not self._stopping:
            await self._added.wait()
            self._added.clear()
            await asyncio.sleep(PERIOD)
            await self.flush()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return

        def write(session: Session) -> list[bool]:
            return _write(session, batch)

        for attempt in range(1, TRIES + 1):
            try:
                results = await self._run(write)
                break
            except SQLAlchemyError as exc:
                if attempt == TRIES:
                    log.error("cannot record %s outcome(s): %s", len(batch), exc)
                    return
                await asyncio.sleep(0.05 * attempt)
        for item, ok in zip(batch, results, strict=True):
            if ok:
                self._stats[item.stat] += 1
            else:
                log.warning("outbox row %s: no longer ours, outcome not recorded", item.row_id)
        now = asyncio.get_running_loop().time()
        if any(item.ready_at <= now for item in batch):
            self.flushed.set()


def _write(session: Session, batch: list[_Pending]) -> list[bool]:
    """Each pending outcome written, in one transaction: a batched kind in one call."""
    results: list[bool | None] = [None] * len(batch)
    groups: dict[Batched, list[int]] = {}
    for index, pending in enumerate(batch):
        if pending.batched:
            groups.setdefault(cast(Batched, pending.record), []).append(index)
        else:
            results[index] = cast(Record, pending.record)(session)
    for record, indexes in groups.items():
        written = record(session, [batch[i].item for i in indexes])
        for index, ok in zip(indexes, written, strict=True):
            results[index] = ok
    return [bool(ok) for ok in results]
