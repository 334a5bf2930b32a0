"""Fixtures for the store tests: a migrated database on SQLite and on PostgreSQL.

PostgreSQL: a fresh, uniquely named database is created on 127.0.0.1:5432 (user postgres)
for the test session and dropped at the end; tests empty its tables between them. When the
server cannot be reached, the PostgreSQL parameters are skipped with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from bot.core.store import db
from bot.core.store.directory import import_directory
from bot.core.store.models import Organization
from bot.core.store.testing import (
    Database,
    FakeClock,
    empty_tables,
    fresh_postgres_database,
    make_read_only,
    make_writable,
    postgres_unavailable,
)

EXAMPLE_DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A migrated PostgreSQL database shared by the session (emptied before each test)."""
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        db.upgrade(url)
        engine = db.make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db.upgrade(f"sqlite:///{path}")
    return path


def _database(backend: str, engine: Engine) -> Database:
    url = engine.url.render_as_string(hide_password=False)
    return Database(backend, url, engine, db.make_session_factory(engine))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database on each backend."""
    if request.param == "postgresql":
        engine: Engine = request.getfixturevalue("postgres_engine")
        empty_tables(engine)
        yield _database("postgresql", engine)
        return
    path = tmp_path / "store.sqlite3"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        yield _database("sqlite", engine)
    finally:
        engine.dispose()


@pytest.fixture
def example_directory() -> dict[str, Any]:
    """docs/partners.example.yaml, parsed (a fresh copy each time: tests edit it)."""
    data = yaml.safe_load(EXAMPLE_DIRECTORY.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def partners(store: Database, clock: FakeClock, example_directory: dict[str, Any]) -> Database:
    """`store` with the example directory imported; `store.orgs` by key."""
    with store.factory.begin() as session:
        import_directory(session, example_directory, clock=clock)
    with store.factory() as session:
        store.orgs = {org.key: org for org in session.scalars(select(Organization))}
    return store


@pytest.fixture
def sqlite_file(tmp_path: Path, sqlite_template: Path) -> Path:
    """A migrated SQLite file this machine can make read-only (else the test is skipped)."""
    path = tmp_path / "faults.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    try:
        make_read_only(path)
        make_writable(path)
    except OSError as exc:
        pytest.skip(f"cannot make a file read-only here: {exc}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend, NOT migrated (the migration tests upgrade it to the
    revision they start from); PostgreSQL a fresh database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mc.sqlite3'}"
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as found:
        yield found
