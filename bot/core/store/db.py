"""Engines, sessions and migrations.

URLs: `sqlite:///path/file.sqlite3` (the default; the file's folder is created if missing) or
PostgreSQL, `postgresql+psycopg://user@host:5432/db` (`postgresql://` and `postgres://` are
rewritten to use psycopg 3).

Migrations run programmatically from the packaged `migrations/` folder: no `alembic.ini` is
needed. `upgrade(url)` is what `mcbot db upgrade` runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import InvalidatePoolError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.store.errors import SetupError

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 5000
IDLE_PING_SECONDS = 5.0  # a pooled PostgreSQL connection idle this long is pinged at checkout
SQLITE_READONLY = 8  # SQLite's primary result code; extended codes keep it in the low byte
# Any constant: every `mcbot db upgrade` or `mcbot serve` of any version takes this lock.
MIGRATION_LOCK_KEY = 0x4D43_4D49_4752  # "MCMIGR"
_POSTGRES_ALIASES = frozenset({"postgres", "postgresql"})


def normalize_url(url: str | URL) -> URL:
    """The URL with PostgreSQL pointed at psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def safe_url(url: str | URL) -> str:
    """`url` as it may be printed: the password hidden."""
    return normalize_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL cannot corrupt the database; a power cut may lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def is_sqlite_readonly(error: BaseException | None) -> bool:
    """True for SQLite's "attempt to write a readonly database" (SQLITE_READONLY and its
    extended codes)."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == SQLITE_READONLY
    return "readonly database" in str(error)


def _on_sqlite_error(context: ExceptionContext) -> None:
    """A connection that SQLite opened read-only stays read-only: when the database file
    could not be opened for writing (permissions, a read-only mount), sqlite3 silently opens
    it read-only, and the pool would keep that connection after the file is writable again
    (every write failing until a restart). Treated as a disconnect, the pool drops it, and
    the next connection opens the file anew."""
    if is_sqlite_readonly(context.original_exception):
        context.is_disconnect = True


def make_engine(url: str | URL, *, idle_ping_seconds: float = IDLE_PING_SECONDS) -> Engine:
    """An engine for `url`. SQLite gets foreign keys, WAL (synchronous=NORMAL) and a busy
    timeout on every connection, and a connection opened read-only is dropped at its first
    refused write; PostgreSQL gets a ping of the connections that sat idle in the pool for
    `idle_ping_seconds` or more, to survive a server restart (`_ping_if_idle`)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "handle_error", _on_sqlite_error)
        return engine
    engine = create_engine(parsed)
    _ping_if_idle(engine, idle_ping_seconds)
    return engine


def _ping_if_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout when it sat in the pool `idle_seconds` or more:
    a restarted server (or a firewall that dropped an idle connection) costs no transaction
    a failure, and a busy process, whose connections go back out within milliseconds, pays
    no round trip per transaction (SQLAlchemy's pool_pre_ping pings at every checkout: one
    more round trip per transaction). A connection that fails its ping is replaced: the pool
    retries the checkout with a new one. Connections that break while busy fail their
    transaction and are dropped from the pool with the others of that server (SQLAlchemy's
    disconnect handling)."""
    dialect = engine.dialect

    def checkin(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi)
        except dialect.loaded_dbapi.Error as exc:
            # the server went away: every connection pooled before now is as stale as this one
            raise InvalidatePoolError(f"an idle pooled connection failed its ping: {exc}") from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (for rendering messages).
    Use `with factory.begin() as session:` for one transaction."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def migrations_dir() -> Path:
    """The folder of the packaged `migrations` package (env.py, versions/)."""
    spec = importlib.util.find_spec("migrations")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    # A source checkout whose editable install predates migrations/: it sits beside bot/.
    beside = Path(__file__).resolve().parents[3] / "migrations"
    if (beside / "env.py").is_file():
        return beside
    raise SetupError(
        "the 'migrations' package is not installed; reinstall Multichannel "
        "(pip install -e . in a checkout)",
        code="migrations_missing",
    )


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config built in code. `migrations/env.py` reads the URL from
    `config.attributes["url"]` (or a connection from `config.attributes["connection"]`)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if url is not None:
        config.attributes["url"] = normalize_url(url)
    return config


@contextlib.contextmanager
def _sqlite_file_lock(url: URL) -> Iterator[None]:
    """An exclusive flock on the SQLite database file (created empty if missing) while
    migrating: SQLite's own locks are per statement here (its DDL is not transactional
    under Alembic), so two processes could each create the same tables. flock and SQLite's
    POSIX record locks do not interact on Linux."""
    path = _sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    try:
        import fcntl
    except ImportError:  # not on POSIX: migrate unlocked, as before
        fcntl = None  # type: ignore[assignment]
    if path is None or fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_for_migration(connection: Connection) -> None:
    """PostgreSQL: a transaction-level advisory lock, released when the migration's
    transaction ends; whoever waited then finds the schema at head and does nothing."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _migrate(url: str | URL, revision: str, *, up: bool) -> None:
    from alembic import command  # imported only to migrate: Alembic brings Mako and more

    engine = make_engine(url)
    try:
        with _sqlite_file_lock(engine.url), engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                _sqlite_foreign_keys(connection, on=False)
            try:
                with connection.begin():
                    _lock_for_migration(connection)
                    config = alembic_config(url)
                    config.attributes["connection"] = connection
                    (command.upgrade if up else command.downgrade)(config, revision)
                    if sqlite:
                        _check_foreign_keys(connection)
            finally:
                if sqlite:
                    _sqlite_foreign_keys(connection, on=True)
    finally:
        engine.dispose()


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """SQLite's own procedure for schema changes (https://www.sqlite.org/lang_altertable.html,
    "Making Other Kinds Of Table Schema Changes"): foreign keys off while a batch migration
    rebuilds a table (copy, DROP, rename: with rows that reference it, such as an invitation's
    audit trail, the DROP's implicit delete would fail), checked before commit, then on again.
    The pragma cannot change inside a transaction: it is set outside one."""
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left {len(broken)} broken reference(s): {broken[:5]}")


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (default: the newest). Safe to run from any
    number of processes at once (replicas starting together): each migrates under a database
    lock (PostgreSQL: an advisory lock; SQLite: a lock on the file), so one migrates and the
    others then find nothing to do. A database already at the newest revision is recognized
    without importing Alembic (a plain read of `alembic_version`, the revisions read from the
    migration files' text): `mcbot serve` starts lighter."""
    if revision == "head" and _read_version(url) == shipped_head():
        return
    _migrate(url, revision, up=True)


def downgrade(url: str | URL, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (`base`: drop everything)."""
    _migrate(url, revision, up=False)


def accepts_write(engine: Engine, lock_timeout_ms: int) -> None:
    """Raise unless the database accepts a write now: a write that is rolled back (it takes
    SQLite's write lock briefly; a read-only file refuses it), waiting at most
    `lock_timeout_ms` for a lock held elsewhere. `/readyz` asks this."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        try:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
            else:
                # A held lock reports as a lock timeout; a slow server as a statement timeout.
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                statement_ms = int(lock_timeout_ms) + 2000
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {statement_ms}")
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
        finally:
            connection.rollback()
            if sqlite and not connection.invalidated:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def shipped_head() -> str | None:
    """The newest revision, read from the migration files' `revision = "..."` and
    `down_revision = "..."` lines (no import of Alembic); None when that is not one clear head
    (then Alembic decides). tests/store/test_store_migrations.py checks it is `head_revision()`."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        downs.update(_DOWN.findall(text))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def _read_version(url: str | URL) -> str | None:
    """`alembic_version.version_num`, or None (no such table, no file, several rows)."""
    parsed = normalize_url(url)
    path = _sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is not None and not path.exists():
        return None
    engine = make_engine(parsed)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except (SQLAlchemyError, OSError):  # no table yet, or unreadable: Alembic will say
        return None
    finally:
        engine.dispose()
    return str(rows[0][0]) if len(rows) == 1 else None


def head_revision() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SetupError("the migrations folder has no revisions", code="migrations_missing")
    return head


def current_revision(url: str | URL) -> str | None:
    """The revision the database at `url` is at; None for an empty (never migrated) one.
    A SQLite file that does not exist yet is not created."""
    parsed = normalize_url(url)
    path = _sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is not None and not path.exists():
        return None
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(parsed)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def check_schema(url: str | URL) -> None:
    """Raise `SetupError` (code `schema_outdated`) unless the database is at the head revision.
    Call it at start-up so a forgotten `mcbot db upgrade` is reported plainly."""
    current, head = current_revision(url), head_revision()
    if current != head:
        raise SetupError(
            f"the database is at revision {current or 'none'} but this code needs {head}; "
            "run: mcbot db upgrade",
            code="schema_outdated",
        )
