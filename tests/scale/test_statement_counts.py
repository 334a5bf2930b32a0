"""Per-user operations issue the same number of SQL statements whatever the history's size.

Runs bench/scale.py's operations (its seed: organizations, invitations by age, audit events,
decisions, the same current activity at every size) on two databases ten times apart in size and
compares the statements each operation issued. Statement counts do not depend on the machine, so
this is the part of the benchmark's targets a test can hold (latency stays in the bench).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.core.store import db
from bot.core.store.testing import postgres_unavailable

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale.py"
SMALL, LARGE = 300, 3000


@pytest.fixture(scope="module")
def scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scale", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


def _counts(scale: Any, backend: str, size: int, stack: ExitStack) -> dict[str, int]:
    url = stack.enter_context(scale.database(backend, size))
    db.upgrade(url)
    engine = db.make_engine(url)
    stack.callback(engine.dispose)
    seeded = scale.Seeded(size, backend, engine, db.make_session_factory(engine))
    scale.seed(seeded, 2)
    counter = scale.StatementCounter(engine)
    ops = scale.operations(seeded)
    for name, fn in ops.items():  # round 0 warms caches
        scale.measure(seeded, counter, name, fn, 0)
    found = {}
    for name, fn in ops.items():
        (count,) = scale.measure(seeded, counter, name, fn, 1).statements
        found[name] = count
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgresql" and (reason := postgres_unavailable()) is not None:
        pytest.skip(reason)
    yield request.param


def test_statement_counts_do_not_grow_with_history(scale: Any, backend: str) -> None:
    with ExitStack() as stack:
        small = _counts(scale, backend, SMALL, stack)
        large = _counts(scale, backend, LARGE, stack)
    per_user = {name: small[name] for name in scale.PER_USER}
    assert per_user == {name: large[name] for name in scale.PER_USER}
    # Bounded, not just equal: no list is read row by row.
    assert per_user["home_direct"] <= 8 and per_user["home_provider"] <= 9  # no counts
    assert per_user["status"] <= 4 and per_user["status_customer"] <= 4
    # An expiry pass of 20: a few statements per invitation (the move and its audit event), not
    # a Home tab per invitation per viewer.
    assert per_user["expiry_20"] < 20 * 3 + 50


def test_loading_the_home_tab_only_reads(scale: Any) -> None:
    """On SQLite a write would hold the database's write lock while the Home is read and
    rendered (refreshes failed with `database is locked`)."""
    from sqlalchemy import event

    with ExitStack() as stack:
        url = stack.enter_context(scale.database("sqlite", SMALL))
        db.upgrade(url)
        engine = db.make_engine(url)
        stack.callback(engine.dispose)
        seeded = scale.Seeded(SMALL, "sqlite", engine, db.make_session_factory(engine))
        scale.seed(seeded, 1)
        seen: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        ops = scale.operations(seeded)
        ops["home_direct"](0)
        ops["home_provider"](0)
    assert seen and all(s.lstrip().upper().startswith("SELECT") for s in seen), seen


def test_home_refreshes_are_coalesced_per_viewer(scale: Any) -> None:
    """Twenty changes in two organizations within the delay: each viewer's Home is published
    once; a change after that publishes again."""
    import asyncio

    from bot.core.home import refresher
    from bot.core.services import Services

    with ExitStack() as stack:
        url = stack.enter_context(scale.database("sqlite", SMALL))
        db.upgrade(url)
        engine = db.make_engine(url)
        stack.callback(engine.dispose)
        seeded = scale.Seeded(SMALL, "sqlite", engine, db.make_session_factory(engine))
        scale.seed(seeded, 1)
        services = Services(
            sessions=seeded.factory, clock=lambda: scale.NOW, home_refresh_delay=0.05
        )
        client = scale.Recorder()

        async def burst() -> tuple[int, int]:
            for n in range(20):
                refresher(services).request(client, [1] if n % 2 else [1, 2])
            await services.drain()
            first = client.calls.get("views.publish", 0)
            refresher(services).request(client, [2])
            await services.drain()
            return first, client.calls["views.publish"] - first

        first, second = asyncio.run(burst())
    assert (first, second) == (2 * scale.VIEWERS, scale.VIEWERS)


def test_the_seed_leaves_the_schema_as_migrated(scale: Any) -> None:
    """The seed loads PostgreSQL with COPY after dropping the tables' secondary indexes: it
    builds every one of them again, as the migrations define them."""
    if (reason := postgres_unavailable()) is not None:
        pytest.skip(reason)
    from sqlalchemy import text

    query = text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    with ExitStack() as stack:
        url = stack.enter_context(scale.database("postgresql", SMALL))
        db.upgrade(url)
        engine = db.make_engine(url)
        stack.callback(engine.dispose)
        with engine.connect() as connection:
            migrated = set(connection.execute(query).all())
        scale.seed(scale.Seeded(SMALL, "postgresql", engine, db.make_session_factory(engine)), 1)
        with engine.connect() as connection:
            seeded = set(connection.execute(query).all())
    assert len(migrated) > 20 and seeded == migrated
