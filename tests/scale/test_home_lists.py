"""The Home tab's lists show the right invitations, and read only what they show.

On bench/scale.py's seed (the same as tests/scale/test_statement_counts.py) made busier than
the bench's: 300 more invitations of the direct partner accepted within the last 14 days, some
at the same instant. What the Home shows is compared with the same lists computed in Python from
every row; on PostgreSQL, `EXPLAIN ANALYZE` of each of its statements shows no scan of the
invitations returning more than twice the rows the longest list reads (what it shows, plus
one).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bot.core import home
from bot.core.services import Services
from bot.core.store import db
from bot.core.store.models import Invitation
from bot.core.store.testing import postgres_unavailable

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scale.py"
SIZE = 3000
BUSY = 300  # acceptances of the direct partner within the last 14 days, added to the seed


@pytest.fixture(scope="module")
def scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scale_home", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale_home"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, scale: Any) -> Iterator[Any]:
    if request.param == "postgresql" and (reason := postgres_unavailable()) is not None:
        pytest.skip(reason)
    with ExitStack() as stack:
        url = stack.enter_context(scale.database(request.param, SIZE))
        db.upgrade(url)
        engine = db.make_engine(url)
        stack.callback(engine.dispose)
        seeded = scale.Seeded(SIZE, request.param, engine, db.make_session_factory(engine))
        scale.seed(seeded, 1)
        with seeded.factory.begin() as session:
            ids = session.scalars(
                select(Invitation.id)
                .where(Invitation.provider_org_id == 1, Invitation.accepted_at.is_(None))
                .order_by(Invitation.id)
                .limit(BUSY)
            ).all()
            for n, invitation_id in enumerate(ids):
                # Every third shares its instant with the next one: ties are broken by id.
                at = scale.NOW - timedelta(hours=1 + (n // 3) * 3)
                state = home.S.accepted if n % 7 else home.S.delegated_admin_requested
                session.execute(
                    update(Invitation)
                    .where(Invitation.id == invitation_id)
                    .values(accepted_at=at, state=state)
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
        yield seeded


def _expected(session: Any, scale: Any, org_id: int) -> dict[str, Any]:
    rows = session.scalars(select(Invitation).where(Invitation.provider_org_id == org_id)).all()
    since = scale.NOW - home.RECENT
    accepted = sorted(
        (i for i in rows if i.state in home.ACCEPTED and i.accepted_at and i.accepted_at >= since),
        key=lambda i: (i.accepted_at, i.id),
        reverse=True,
    )
    opened = sorted(
        (i for i in rows if i.state in home.OPEN), key=lambda i: (i.created_at, i.id), reverse=True
    )
    return {"accepted": accepted, "open": opened}


def test_the_home_shows_the_newest_of_each_list_and_says_when_there_is_more(
    scale: Any, seeded: Any
) -> None:
    services = Services(sessions=seeded.factory, clock=lambda: scale.NOW)
    with seeded.factory.begin() as session:
        data = home.load_home(services, session, "U001V0", "T00000001")
        expected = _expected(session, scale, 1)
    for name in ("accepted", "open"):
        shown = [view.ref for view in getattr(data, name)]
        assert shown == [i.ref for i in expected[name][: home.LIMITS[name]]], name
        assert (name in data.more) == (len(expected[name]) > home.LIMITS[name]), name
    assert len(expected["accepted"]) > home.LIMITS["accepted"] + 100  # the busy case


def _scans(plan: dict[str, Any]) -> Iterator[tuple[str, int]]:
    if "Scan" in plan["Node Type"]:
        where = plan.get("Index Name") or plan.get("Relation Name") or ""
        yield where, int(plan["Actual Rows"] * plan["Actual Loops"])
    for child in plan.get("Plans", []):
        yield from _scans(child)


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)  # EXPLAIN ANALYZE's JSON
def test_the_home_reads_only_what_it_shows(scale: Any, seeded: Any) -> None:
    services = Services(sessions=seeded.factory, clock=lambda: scale.NOW)
    captured: list[tuple[str, Any]] = []

    def seen(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(seeded.engine, "before_cursor_execute", seen)
    for user, team in (("U001V0", "T00000001"), ("U002V0", "T00000002")):
        with seeded.factory.begin() as session:
            home.load_home(services, session, user, team)
    event.remove(seeded.engine, "before_cursor_execute", seen)
    # Twice the longest list's read: at this size the planner may read a small set whole (all
    # 17 of a provider's requests) and sort it; the 300 acceptances must not be read so.
    bound = 2 * (max(home.LIMITS.values()) + 1)
    with seeded.engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for statement, parameters in captured:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            (result,) = cursor.fetchone()
            for where, rows in _scans(result[0]["Plan"]):
                if "invitations" in where and "messages" not in where:
                    assert rows <= bound, (where, rows, statement)
