"""bot.core.store.decisions.DecisionWriter: the bot's batched decision log, on SQLite and
PostgreSQL, and how Services writes it without losing decisions (locks, a database that is
down, shutdown)."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.core import services as services_module
from bot.core.services import Services
from bot.core.store.decisions import DecisionWriter, recent_decisions, sqlite_datetime
from bot.core.store.models import DecisionRecord
from bot.core.store.testing import Database, FakeClock
from policy import Facts, Role, Subscription, evaluate

FACTS = Facts(role=Role.direct, subscriptions=[Subscription(source="ea", kind="license")])
OTHER = Facts(role=Role.indirect_reseller, subscriptions=[Subscription(source="ea", kind="usage")])


def rows_for(writer: DecisionWriter, clock: FakeClock, n: int, *, org_id: int | None = None):
    rows = []
    for i in range(n):
        decision = evaluate(FACTS if i % 3 else OTHER)
        at = clock.now + timedelta(seconds=i, microseconds=0 if i % 2 else 123_456)
        rows.append(
            (
                decision,
                writer.row(
                    decision,
                    decision_id=decision.decision_id,
                    at=at,
                    user_id="U0WRITER1",
                    team_id="T0RESELLER",
                    org_id=org_id,
                    customer=None if i % 4 else "Ñandú <Bank> & Co",
                ),
            )
        )
    return rows


def test_rows_read_back_as_the_orm_wrote_them(partners: Database, clock: FakeClock) -> None:
    """Both backends: every column comes back as written (times to the microsecond, JSON,
    the organization), and a row sent twice is written once."""
    writer = DecisionWriter(partners.engine)
    fabrikam = partners.orgs["fabrikam"]
    made = rows_for(writer, clock, 150, org_id=fabrikam.id)  # two statements on SQLite
    writer.write([r for _, r in made[:120]])
    writer.write([r for _, r in made[100:]])  # 20 written already: skipped, not an error
    with partners.factory() as session:
        stored = {r.decision_id: r for r in recent_decisions(session, "U0WRITER1", limit=500)}
    assert len(stored) == 150
    for i, (decision, _) in enumerate(made):
        record = stored[decision.decision_id]
        assert record.at == clock.now + timedelta(seconds=i, microseconds=0 if i % 2 else 123_456)
        assert record.facts == decision.facts.model_dump(mode="json")
        assert record.steps == decision.step_codes()
        assert record.outcome == decision.outcome.value
        assert record.org_id == fabrikam.id
        assert record.customer_name == (None if i % 4 else "Ñandú <Bank> & Co")


def test_the_fast_sqlite_time_text_is_sqlalchemys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    at = DecisionRecord.__table__.c.at.type
    theirs = at.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    ours = sqlite_datetime(engine.dialect, theirs)
    assert ours is not theirs  # the fast one is in use
    rng = random.Random(7)
    for _ in range(5000):
        offset = timezone(timedelta(minutes=rng.randrange(-14 * 60, 14 * 60 + 1)))
        value = datetime(
            rng.randrange(1, 9999), rng.randrange(1, 13), rng.randrange(1, 29),
            rng.randrange(24), rng.randrange(60), rng.randrange(60),
            rng.choice([0, 1, 999_999, rng.randrange(1_000_000)]), tzinfo=offset,
        )  # fmt: skip
        if 2 <= value.year <= 9998:  # converting to UTC must stay within datetime's range
            assert ours(value) == theirs(value)
            assert ours(value.astimezone(UTC)) == theirs(value)
    with pytest.raises(ValueError):
        ours(datetime(2026, 1, 1))  # naive: refused, like UTCDateTime does


# ------------------------------------------------------------------ Services: losing nothing
async def test_a_locked_database_delays_the_log_but_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    services = Services.from_url(f"sqlite:///{path}")
    services.decision_log.retry_seconds = 0.05
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    for _ in range(3):
        services.log_decision(evaluate(FACTS), user_id="U0LOCKED1", team_id="T0", customer=None)
    assert not await services.decision_log.flush(0.3)  # the thread waits for the lock
    assert blocker.execute("SELECT count(*) FROM decision_records").fetchone() == (0,)
    blocker.execute("COMMIT")
    await services.drain()
    with services.sessions() as session:
        assert len(recent_decisions(session, "U0LOCKED1")) == 3
    blocker.close()


async def test_a_database_that_is_down_is_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    services = Services.from_url(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    services.decision_log.retry_seconds = 0.05
    good = services.decision_writer
    # A database that cannot be opened: SQLAlchemy's OperationalError, as when it is down.
    services.decision_log.writer = DecisionWriter(
        create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    )
    with caplog.at_level(logging.WARNING, logger="bot.core.store.decision_log"):
        for n in range(4):
            services.log_decision(
                evaluate(FACTS), user_id="U0DOWN001", team_id="T0", customer=str(n)
            )
        assert not await services.decision_log.flush(0.3)  # the writes keep failing
    assert "4 decisions not written" in caplog.text
    services.decision_log.writer = good  # the database is back
    await services.drain()
    with services.sessions() as session:
        records = recent_decisions(session, "U0DOWN001")
    assert sorted(r.customer_name for r in records) == ["0", "1", "2", "3"]


async def test_shutdown_does_not_wait_forever_for_a_database_that_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(services_module, "DECISION_LOG_DRAIN_SECONDS", 0.5)
    services = Services.from_url(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    services.decision_log.writer = DecisionWriter(
        create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    )
    services.log_decision(evaluate(FACTS), user_id="U0DOWN002", team_id="T0", customer=None)
    with caplog.at_level(logging.ERROR, logger="bot.core.services"):
        await asyncio.wait_for(services.drain(), timeout=10)
    assert "1 decisions lost at shutdown" in caplog.text
    assert services.decision_log.pending == 0
