"""One writer at a time, in this process, on SQLite.

SQLite allows one writing transaction at a time; the others wait in its busy handler, which
polls with growing sleeps (up to 100 ms each) and can starve a writer under load — a webhook
insert waited seconds behind the worker's writes. Taking this lock around our writing
transactions queues them in the process instead, first come first served (a plain lock lets
the thread that releases it take it straight back: the worker's writer would starve the
request path). PostgreSQL needs no such thing: rows are locked, not the database.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


class FairLock:
    """A lock granted in the order it was asked for (a ticket lock)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._next = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._changed:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._changed.wait()

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._serving += 1
            self._changed.notify_all()


_SQLITE_WRITES = FairLock()


@contextlib.contextmanager
def writing(factory: sessionmaker[Session]) -> Iterator[None]:
    if factory.kw["bind"].dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITES:
        yield


def write(factory: sessionmaker[Session], fn: Callable[[Session], T]) -> T:
    """`fn(session)` in one transaction, committed under the writer lock (blocking: call it
    from a worker thread)."""
    with writing(factory), factory.begin() as session:
        return fn(session)
