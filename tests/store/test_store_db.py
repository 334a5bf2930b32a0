"""bot.core.store.db: URLs, SQLite connection settings, UTC times, revisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError

from bot.core.store import db
from bot.core.store.decisions import record_decision
from bot.core.store.errors import SetupError
from bot.core.store.models import DecisionRecord
from bot.core.store.testing import Database


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u@h:5432/d", "postgresql+psycopg"),
        ("postgresql://u@h:5432/d", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h:5432/d", "postgresql+psycopg"),
        ("sqlite:///x.sqlite3", "sqlite"),
    ],
)
def test_normalize_url_points_postgres_at_psycopg(given: str, driver: str) -> None:
    url = db.normalize_url(given)
    assert url.drivername == driver
    assert url.database in {"d", "x.sqlite3"}


def test_sqlite_engine_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "mc.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            busy = connection.execute(text("PRAGMA busy_timeout")).scalar()
            assert busy == db.SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()
    assert path.parent.is_dir()


def test_current_revision_of_missing_sqlite_file_is_none_and_creates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nothing" / "here.sqlite3"
    assert db.current_revision(f"sqlite:///{path}") is None
    assert not path.parent.exists()


def test_check_schema_names_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    with pytest.raises(SetupError) as caught:
        db.check_schema(url)
    assert caught.value.code == "schema_outdated"
    assert "mcbot db upgrade" in caught.value.message
    db.upgrade(url)
    db.check_schema(url)  # no error once migrated


def _decide(store: Database, decision_id: str, at: datetime) -> None:
    with store.factory.begin() as session:
        record_decision(
            session, decision_id=decision_id, user_id="U1", team_id="T1", policy_edition="e",
            outcome="supported", facts={}, steps=[], clock=lambda: at,
        )  # fmt: skip


def test_times_come_back_aware_in_utc(store: Database) -> None:
    madrid_winter = timezone(timedelta(hours=1))
    _decide(store, "d1", datetime(2026, 1, 15, 10, 30, tzinfo=madrid_winter))
    with store.factory() as session:
        record = session.scalars(select(DecisionRecord)).one()
    assert record.at == datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    assert record.at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(store: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _decide(store, "d2", datetime(2026, 1, 15, 10, 30))


def _pg_engine(request: pytest.FixtureRequest, idle_ping_seconds: float) -> Engine:
    shared: Engine = request.getfixturevalue("postgres_engine")
    return db.make_engine(
        shared.url.render_as_string(hide_password=False), idle_ping_seconds=idle_ping_seconds
    )


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def _terminate(engine: Engine, pid: int) -> None:
    with engine.connect() as other:
        assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True


def test_a_pooled_connection_idle_past_the_threshold_is_pinged_and_replaced_when_dead(
    request: pytest.FixtureRequest,
) -> None:
    """A server restart (here: the pooled connection's backend terminated) costs no
    transaction a failure: the idle connection fails its ping at checkout and a new one
    serves."""
    engine = _pg_engine(request, idle_ping_seconds=0.0)
    try:
        pid = _backend_pid(engine)  # the connection goes back to the pool, idle
        _terminate(request.getfixturevalue("postgres_engine"), pid)
        assert _backend_pid(engine) != pid  # served, by another connection
    finally:
        engine.dispose()


def test_a_connection_back_in_the_pool_within_the_threshold_is_not_pinged(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy process pays no ping per transaction (SQLAlchemy's pool_pre_ping would: one
    round trip more each time); past the threshold, one ping."""
    engine = _pg_engine(request, idle_ping_seconds=3600.0)
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or ping(c))
    try:
        for _ in range(5):
            _backend_pid(engine)
        assert pings == []
    finally:
        engine.dispose()
    engine = _pg_engine(request, idle_ping_seconds=0.0)
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or ping(c))
    try:
        for _ in range(5):
            _backend_pid(engine)
        assert len(pings) == 4  # every checkout of a pooled connection, not the new one's
    finally:
        engine.dispose()
