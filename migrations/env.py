"""Alembic environment for Multichannel's store.

Normally run programmatically by `bot.core.store.db.upgrade(url)` (`mcbot db upgrade`), which
passes an open connection in `config.attributes["connection"]` (or a URL in
`config.attributes["url"]`); no alembic.ini is involved.

To write a new migration with the alembic command line, point a throwaway ini file at this
folder and at a database migrated to the current head, then autogenerate and *review* the
result (it must run on SQLite and PostgreSQL; tests/store/test_store_migrations.py checks):

    printf '[alembic]\\nscript_location = migrations\\nsqlalchemy.url = %s\\n' \\
        sqlite:///var/dev.sqlite3 > /tmp/mc-alembic.ini
    mcbot db upgrade --database-url sqlite:///var/dev.sqlite3
    alembic -c /tmp/mc-alembic.ini revision --autogenerate -m "what changed"

Name the new file `versions/NNNN_what_changed.py` with `revision = "NNNN"`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.core.store.db import make_engine
from bot.core.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    context.configure(
        url=str(url),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database URL: set sqlalchemy.url in the ini file, or use bot.core.store.db.upgrade"
        )
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
