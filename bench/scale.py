"""Benchmark: do per-user answers stay flat as history grows?

    python bench/scale.py [--quick] [--sizes 1000,10000,100000] [--postgres] [--million]
                          [--no-sqlite] [--rounds 9] [--ops status,home_direct,...]
                          [--reseed] [--explain]

Seeds one database per size with realistic history — 50 organizations (a direct-bill partner,
two indirect providers, 47 resellers), invitations over two years with states by age
(recent ones open, old ones accepted, expired, cancelled...), 3 audit events per invitation,
one decision record per invitation, workspace languages and Home viewers — then measures, in
alternating rounds over the sizes (so every size sees the same machine load), per operation:
median latency and **SQL statements** (counted on the engine):

- status (the 41 newest), status with a customer filter;
- the Home tab of a direct partner and of an indirect provider (`load_home`);
- a click (an invitation marked sent, with its snapshot);
- a webhook acceptance matched by tenant, and one matched by the customer's profile;
- an expiry pass with 20 due (the service: messages updated, Home tabs refreshed; Slack calls go
  to a recorder that answers instantly, and the Slack calls are printed too);
- export (CSV of the direct partner's invitations): latency and peak Python memory (tracemalloc).

Prints a table per backend and the growth per 10× of data. Exit status 1 when a target is
missed: a per-user operation whose latency grows more than 1.3× per 10× or whose statement
count differs between sizes, or export memory growing more than 1.2× between sizes from 10k on
(--quick prints the 1k → 10k ratio without holding it to the target).

`--quick`: SQLite at 1k and 10k, a couple of minutes at most. Default: SQLite at 1k, 10k, 100k.
`--postgres`: also PostgreSQL (127.0.0.1:5432) at the same sizes; `--million` adds 1,000,000 on
PostgreSQL; `--no-sqlite`: PostgreSQL only. `--ops`: only these operations.

Seeding: rows are written on the raw DBAPI connection (PostgreSQL: COPY, the tables' secondary
indexes dropped first and built once at the end; SQLite: executemany), then VACUUM ANALYZE
(SQLite: ANALYZE), as autovacuum would have done over two years. PostgreSQL seeds are kept: one
database per size (`bench_scale_<size>_<hash of SEED_VERSION, size, rounds>`, its comment written
when the seed is complete), migrated to the current schema on each run and copied (CREATE
DATABASE ... TEMPLATE) for the run, whose rounds change invitations. `--reseed` seeds them again.
1M takes ~14 min to seed on this 2-core machine under load; the copy takes seconds.

`--explain`: no timing; `EXPLAIN (ANALYZE, BUFFERS)` of every statement of the read-only
per-user operations on the kept PostgreSQL database of each size (with `--million`, 1M too): its
server time, buffers, and the rows each scan returned.

Besides latency, each table gives this process's median CPU per operation: on SQLite that is
all of the database's work and much less disturbed by other load on the machine (informative:
the target is on latency).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import io
import itertools
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/ holds policy.py, named like the package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import psycopg  # noqa: E402
from sqlalchemy import Engine, event, insert  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bot.core import home  # noqa: E402
from bot.core import invitations as service  # noqa: E402
from bot.core.outbox.inbox import match_acceptance  # noqa: E402
from bot.core.services import Services  # noqa: E402
from bot.core.snapshots import InvitationView  # noqa: E402
from bot.core.store import db  # noqa: E402
from bot.core.store.directory import org_by_key  # noqa: E402
from bot.core.store.export import stream_export  # noqa: E402
from bot.core.store.invitations import transition  # noqa: E402
from bot.core.store.lifecycle import InvitationState  # noqa: E402
from bot.core.store.models import (  # noqa: E402
    AuditEvent,
    DecisionRecord,
    HomeViewer,
    Invitation,
    InvitationMessage,
    InvitationSearchKey,
    LanguagePreference,
    Organization,
    OrganizationTeam,
    ResellerProvider,
)
from bot.core.store.search import search_keys  # noqa: E402
from bot.core.store.testing import (  # noqa: E402
    POSTGRES_ADMIN_DSN,
    POSTGRES_URL,
    fresh_postgres_database,
    postgres_unavailable,
)
from policy.facts import Role  # noqa: E402

S = InvitationState
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PAST = datetime(2025, 1, 1, tzinfo=UTC)  # the reserved expiry groups fall due from here
HISTORY_DAYS = 730
ORGS = 50
VIEWERS = 5  # Home viewers per workspace of the direct partner and the providers
EXPIRY_BATCH = 20
GROWTH_TARGET = 1.3
SEED_VERSION = 2  # raise when `seed` writes other rows: kept seeded databases are rebuilt
MEMORY_TARGET = 1.2
PER_USER = (
    "status",
    "status_customer",
    "home_direct",
    "home_provider",
    "click",
    "accept_tenant",
    "accept_profile",
    "expiry_20",
)
DIRECT, PROVIDER = "direct", "provider-0"
RECENT_STATES = [
    (S.requested, 0.10),
    (S.created, 0.30),
    (S.sent_to_customer, 0.25),
    (S.accepted, 0.20),
    (S.delegated_admin_requested, 0.05),
    (S.cancelled, 0.05),
    (S.declined, 0.05),
]
OLD_STATES = [
    (S.expired, 0.35),
    (S.accepted, 0.20),
    (S.delegated_admin_granted, 0.30),
    (S.cancelled, 0.10),
    (S.declined, 0.05),
]
WORDS = ["Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove"]
WORDS += ["Litware", "Adventure", "Alpine", "Coho", "Wingtip"]


def _pick(rng: random.Random, table: list[tuple[S, float]]) -> S:
    return rng.choices([s for s, _ in table], [w for _, w in table])[0]


# ---------------------------------------------------------------------------------- seeding
@dataclass
class Seeded:
    size: int
    backend: str
    engine: Engine
    factory: sessionmaker[Session]
    reserved: dict[str, list[Any]] = field(default_factory=dict)


def _org_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    orgs, teams, links = [], [], []
    for i in range(1, ORGS + 1):
        if i == 1:
            key, role = DIRECT, Role.direct
        elif i <= 3:
            key, role = f"provider-{i - 2}", Role.indirect_provider
        else:
            key, role = f"reseller-{i - 3}", Role.indirect_reseller
        orgs.append(
            {
                "id": i,
                "key": key,
                "name": key.title(),
                "role": role,
                "tenant_id": str(uuid.UUID(int=i)),
                "partner_id": str(1000000 + i),
                "notification_channel": f"C{i:08d}",
                "created_at": NOW - timedelta(days=HISTORY_DAYS + 1),
            }
        )
        teams.append({"team_id": f"T{i:08d}", "org_id": i})
        if role is Role.indirect_reseller:
            links.append({"reseller_org_id": i, "provider_org_id": 2 + (i % 2)})
    return orgs, teams, links


def _invitation(
    rng: random.Random, i: int, *, provider: int, reseller: int | None, created: datetime, state: S
) -> dict[str, Any]:
    name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
    linked = state is not S.requested
    return {
        "id": i,
        "ref": f"B{i:09d}",
        "provider_org_id": provider,
        "reseller_org_id": reseller,
        "customer_name": name,
        "customer_domain": f"c{i}.example.com",
        "customer_tenant_id": str(uuid.UUID(int=(1 << 64) + i))
        if state in (S.accepted, S.delegated_admin_requested, S.delegated_admin_granted)
        else None,
        "delegated_admin": False,
        "link": f"https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&i={i}"
        if linked
        else None,
        "link_source": "format" if linked else None,
        "state": state,
        "created_at": created,
        "updated_at": created + timedelta(hours=rng.randint(1, 200)),
        "expires_at": created + timedelta(days=30) if linked else None,
        "accepted_at": None,
        "created_by_user": f"U{provider:08d}" if linked else None,
        "created_by_team": f"T{provider:08d}" if linked else None,
        "requested_by_user": f"U{reseller:08d}" if reseller and not linked else None,
        "requested_by_team": f"T{reseller:08d}" if reseller and not linked else None,
        "decision_id": f"d-{i}",
        "gdap_relationship_id": None,
        "slack_channel": f"C{provider:08d}",
        "slack_ts": f"{1700000000 + i}.000100",
        "version": 3,
    }


class Loader:
    """Bulk rows on the raw DBAPI connection: COPY on PostgreSQL (the tables' secondary
    indexes dropped first and built once at the end, foreign-key triggers off), multi-row
    `executemany` on SQLite; values converted by the columns' own SQLAlchemy types."""

    def __init__(self, engine: Engine, models: list[Any]) -> None:
        self.engine, self.dialect = engine, engine.dialect
        self.postgres = engine.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        self.indexes: list[str] = []
        if self.postgres:
            tables = [model.__table__.name for model in models]
            with self.raw.cursor() as cursor:
                # Indexes not backing a constraint (primary keys, unique constraints stay).
                cursor.execute(
                    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
                    " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
                    " WHERE t.relname = ANY(%s) AND NOT EXISTS"
                    " (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                    (tables,),
                )
                found = cursor.fetchall()
                self.indexes = [definition for _, definition in found]
                for name, _ in found:
                    cursor.execute(f"DROP INDEX {name}")
                cursor.execute("SET session_replication_role = replica")
            self.raw.commit()

    def write(self, model: Any, rows: list[dict[str, Any]]) -> None:
        table = model.__table__
        columns = list(rows[0])
        processors = [
            table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect)
            for name in columns
        ]
        values = [
            [
                value if p is None else p(value)
                for p, value in zip(processors, row.values(), strict=True)
            ]
            for row in rows
        ]
        names = ", ".join(columns)
        cursor = self.raw.cursor()
        if self.postgres:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)
        cursor.close()
        self.raw.commit()

    def finish(self) -> None:
        if self.postgres:
            with self.raw.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
                cursor.execute("SET maintenance_work_mem = '256MB'")
                for definition in self.indexes:
                    cursor.execute(definition)
            self.raw.commit()
        self.raw.close()


def seed(seeded: Seeded, rounds: int) -> None:
    """Insert the history, then the invitations each measured round acts on (`reserved`)."""
    rng = random.Random(seeded.size)
    orgs, teams, links = _org_rows()
    tables: dict[Any, list[dict[str, Any]]] = {
        Organization: orgs,
        OrganizationTeam: teams,
        ResellerProvider: links,
        LanguagePreference: [
            {
                "scope": "team",
                "subject_id": t["team_id"],
                "lang": "es" if t["org_id"] % 3 == 0 else "en",
                "updated_at": NOW,
                "updated_by": None,
            }
            for t in teams
        ],
        HomeViewer: [
            {"user_id": f"U{org:03d}V{v}", "team_id": f"T{org:08d}", "opened_at": NOW}
            for org in (1, 2, 3)
            for v in range(VIEWERS)
        ],
    }
    with seeded.engine.begin() as connection:
        for model, rows in tables.items():
            connection.execute(insert(model), rows)
    batch: dict[Any, list[dict[str, Any]]] = {
        Invitation: [],
        AuditEvent: [],
        DecisionRecord: [],
        InvitationMessage: [],
        InvitationSearchKey: [],
    }

    loader = Loader(seeded.engine, list(batch))

    def flush() -> None:
        for model, rows in batch.items():
            if rows:
                loader.write(model, rows)
                rows.clear()

    def add(row: dict[str, Any]) -> None:
        batch[Invitation].append(row)
        i, created = row["id"], row["created_at"]
        if row["state"] in (S.accepted, S.delegated_admin_requested, S.delegated_admin_granted):
            row["accepted_at"] = row["updated_at"]
        batch[InvitationSearchKey] += [
            {"key": key, "invitation_id": i}
            for key in search_keys(row["customer_name"], row["customer_domain"])
        ]
        states = [None, S.created if row["link"] else S.requested, row["state"]]
        for n in range(3):
            batch[AuditEvent].append(
                {
                    "invitation_id": i,
                    "at": created + timedelta(hours=n),
                    "user_id": row["created_by_user"],
                    "team_id": row["created_by_team"],
                    "action": "create" if n == 0 else "transition",
                    "old_state": states[n],
                    "new_state": states[n + 1] if n < 2 else row["state"],
                    "decision_id": None,
                    "detail": {"n": n},
                }
            )
        batch[DecisionRecord].append(
            {
                "decision_id": row["decision_id"],
                "at": created,
                "user_id": row["created_by_user"] or row["requested_by_user"] or "U0",
                "team_id": row["created_by_team"] or row["requested_by_team"] or "T0",
                "org_id": row["provider_org_id"],
                "customer_name": row["customer_name"],
                "policy_edition": "2026-11",
                "outcome": "allowed",
                "facts": {"customer": row["customer_name"]},
                "steps": ["F1"],
            }
        )
        if row["reseller_org_id"] and row["state"] is not S.requested:
            batch[InvitationMessage].append(
                {
                    "invitation_id": i,
                    "channel": f"C{row['reseller_org_id']:08d}",
                    "ts": f"{1700000000 + i}.000200",
                    "purpose": "reseller",
                }
            )
        if len(batch[Invitation]) >= 5000:
            flush()

    for i in range(1, seeded.size + 1):
        age = timedelta(seconds=rng.uniform(60, HISTORY_DAYS * 86400))
        created = NOW - age
        recent = age < timedelta(days=28)
        state = _pick(rng, RECENT_STATES if recent else OLD_STATES)
        if rng.random() < 0.3:
            provider, reseller = 1, None
        else:
            provider = 2 + (i % 2)
            reseller = 4 + rng.randrange(ORGS - 3)
            reseller = reseller if (reseller % 2) == (provider % 2) else reseller - 1
            reseller = max(reseller, 4)
            if state is S.requested and reseller % 2 != provider % 2:
                reseller = None
        if state is S.requested and reseller is None:
            state = S.created
        add(_invitation(rng, i, provider=provider, reseller=reseller, created=created, state=state))
    # The current activity, the same at every size (what a busy partner has in flight: more
    # than each Home list shows), and three customers a status search finds.
    next_id = seeded.size + 1
    for org in (1, 2, 3):
        for n, state in enumerate(
            [S.created, S.sent_to_customer] * 15 + [S.requested] * 15 + [S.accepted] * 10
        ):
            reseller = None if org == 1 else 4 + (org % 2)
            if state is S.requested and org == 1:
                continue
            created = NOW - timedelta(days=10, minutes=n)
            row = _invitation(
                rng, next_id, provider=org, reseller=reseller, created=created, state=state
            )
            if n < 3 and org == 1:
                row["customer_name"] = f"Bench Search Customer {n}"
            if state is S.accepted:
                row["updated_at"] = NOW - timedelta(days=2, minutes=n)
            add(row)
            next_id += 1
    # Invitations the measured rounds act on (for the direct partner, created a day ago).
    reserved: dict[str, list[Any]] = {"click": [], "tenant": [], "profile": [], "expiry": []}
    for r in range(rounds):
        for kind in ("click", "tenant", "profile"):
            row = _invitation(
                rng, next_id, provider=1, reseller=None, created=NOW - timedelta(days=1),
                state=S.created,
            )  # fmt: skip
            if kind == "tenant":
                row["customer_tenant_id"] = str(uuid.UUID(int=(2 << 64) + next_id))
                reserved[kind].append(row["customer_tenant_id"])
            elif kind == "profile":
                row["customer_domain"] = f"profile-{next_id}.example.org"
                reserved[kind].append(
                    {"domain": row["customer_domain"], "company": row["customer_name"]}
                )
            else:
                reserved[kind].append(next_id)
            add(row)
            next_id += 1
        due = PAST + timedelta(minutes=r + 1)
        for _ in range(EXPIRY_BATCH):
            row = _invitation(
                rng, next_id, provider=1, reseller=None, created=due - timedelta(days=30),
                state=S.sent_to_customer,
            )  # fmt: skip
            row["expires_at"] = due
            add(row)
            next_id += 1
        reserved["expiry"].append(due + timedelta(seconds=30))
    flush()
    loader.finish()
    seeded.reserved = reserved
    # Two years of history have been vacuumed and analyzed by autovacuum (PostgreSQL) or
    # `PRAGMA optimize` (SQLite); a fresh burst is another matter (bench/notify.py measures
    # that, on a database never analyzed).
    with seeded.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE" if seeded.backend == "postgresql" else "ANALYZE")


# ------------------------------------------------------------------------------ measuring
class Recorder:
    """Answers the Slack Web API calls the services make, instantly, and counts them."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def _count(self, method: str) -> dict[str, Any]:
        self.calls[method] = self.calls.get(method, 0) + 1
        return {"ok": True, "ts": "1.0", "channel": {"id": "D0"}, "user": {"locale": "en-US"}}

    async def chat_update(self, **_: Any) -> dict[str, Any]:
        return self._count("chat.update")

    async def views_publish(self, **_: Any) -> dict[str, Any]:
        return self._count("views.publish")

    async def users_info(self, **_: Any) -> dict[str, Any]:
        return self._count("users.info")


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU seconds
    statements: set[int] = field(default_factory=set)
    slack_calls: dict[str, int] = field(default_factory=dict)
    peak_bytes: int = 0


def operations(seeded: Seeded) -> dict[str, Callable[[int], Any]]:
    factory = seeded.factory

    def in_session(fn: Callable[[Session], Any]) -> Any:
        with factory.begin() as session:
            return fn(session)

    def org(session: Session, key: str) -> Organization:
        found = org_by_key(session, key)
        assert found is not None
        return found

    def services(clock: datetime) -> Services:
        # Home refreshes coalesced as in production, without waiting the 2 s it gathers them.
        return Services(sessions=factory, clock=lambda: clock, home_refresh_delay=0.0)

    def status(_: int) -> Any:
        return asyncio.run(service.status(services(NOW), "T00000001", None))

    def status_customer(_: int) -> Any:
        found = asyncio.run(service.status(services(NOW), "T00000001", "search customer"))
        assert len(found[1]) == 3, found[1]
        return found

    def home_for(team: str, user: str) -> Callable[[int], Any]:
        return lambda _: in_session(lambda s: home.load_home(services(NOW), s, user, team))

    def click(r: int) -> Any:
        def act(s: Session) -> Any:
            actor = org(s, DIRECT)
            moved = transition(
                s, seeded.reserved["click"][r], S.sent_to_customer, actor_user="U00000001",
                actor_team="T00000001", expected_version=None, actor_org=actor, clock=lambda: NOW,
            )  # fmt: skip
            return InvitationView.of(moved)

        return in_session(act)

    def accept(kind: str) -> Callable[[int], Any]:
        def run(r: int) -> Any:
            def act(s: Session) -> Any:
                if kind == "tenant":
                    tenant, profile = seeded.reserved["tenant"][r], None
                else:
                    tenant, profile = str(uuid.uuid4()), seeded.reserved["profile"][r]
                found, how = match_acceptance(s, tenant, profile, 1)
                assert found is not None, (kind, how)
                moved = transition(
                    s, found, S.accepted, actor_user=None, actor_team=None, expected_version=None,
                    customer_tenant_id=tenant, clock=lambda: NOW,
                )  # fmt: skip
                return InvitationView.of(moved)

            return in_session(act)

        return run

    def expiry(r: int) -> Any:
        svc = services(seeded.reserved["expiry"][r])
        client = Recorder()

        async def go() -> int:
            count = await service.expire(svc, client)  # type: ignore[arg-type]
            await svc.drain()
            return count

        count = asyncio.run(go())
        assert count == EXPIRY_BATCH, count
        return client.calls

    def export(_: int) -> Any:
        def run(s: Session) -> int:
            out, written = io.StringIO(), [0]
            for piece in stream_export(s, "csv", org(s, DIRECT)):
                out.write(piece)
                written[0] += len(piece)
                out.seek(0)  # the output (a file) keeps nothing in this process's memory
                out.truncate()
            return written[0]

        return in_session(run)

    return {
        "status": status,
        "status_customer": status_customer,
        "home_direct": home_for("T00000001", "U001V0"),
        "home_provider": home_for("T00000002", "U002V0"),
        "click": click,
        "accept_tenant": accept("tenant"),
        "accept_profile": accept("profile"),
        "expiry_20": expiry,
        "export": export,
    }


def measure(seeded: Seeded, counter: StatementCounter, name: str, fn: Any, r: int) -> Result:
    result = Result()
    gc.collect()
    if name == "export":
        tracemalloc.start()
    before = counter.count
    start, cpu = time.perf_counter(), time.process_time()
    value = fn(r)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if name == "export":
        result.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    result.latencies.append(elapsed)
    result.cpu.append(cpu)
    result.statements.add(counter.count - before)
    if isinstance(value, dict):
        result.slack_calls = value
    return result


@contextmanager
def database(backend: str, size: int) -> Iterator[str]:
    """A fresh empty database, dropped afterwards (the tests' way: the bench keeps its seeded
    PostgreSQL databases, `_seeded_postgres`)."""
    if backend == "postgresql":
        with fresh_postgres_database() as url:
            yield url
        return
    with sqlite_database(size) as url:
        yield url


@contextmanager
def sqlite_database(size: int) -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix=f"bench-scale-{size}-")
    try:
        yield f"sqlite:///{folder}/scale.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _seed_name(size: int, rounds: int) -> str:
    """The kept seeded database for these parameters: named by what its rows depend on (the
    schema is not part of it: a kept database is migrated, as a production one would be)."""
    key = f"{SEED_VERSION}:{size}:{rounds}"
    return f"bench_scale_{size}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _reserved_json(reserved: dict[str, list[Any]]) -> str:
    return json.dumps({**reserved, "expiry": [d.isoformat() for d in reserved["expiry"]]})


def _reserved_of(text: str) -> dict[str, list[Any]]:
    reserved: dict[str, list[Any]] = json.loads(text)
    reserved["expiry"] = [datetime.fromisoformat(d) for d in reserved["expiry"]]
    return reserved


def _seeded_postgres(size: int, rounds: int, reseed: bool) -> tuple[str, dict[str, list[Any]]]:
    """The kept seeded database for `size` (seeded now when missing, or when `reseed`): its
    name and the invitations the rounds act on. The database's comment, written when its seed
    is complete, holds them: a database without it (an interrupted seed) is seeded again."""
    name = _seed_name(size, rounds)
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        if row is not None and row[0] and not reseed:
            db.upgrade(POSTGRES_URL.format(name=name))
            return name, _reserved_of(row[0])
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = POSTGRES_URL.format(name=name)
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        seeded = Seeded(size, "postgresql", engine, db.make_session_factory(engine))
        start = time.perf_counter()
        seed(seeded, rounds)
        print(f"  postgresql {size:>9,}: seeded in {time.perf_counter() - start:.1f} s", flush=True)
    finally:
        engine.dispose()
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        comment = _reserved_json(seeded.reserved).replace("'", "''")
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
    return name, seeded.reserved


@contextmanager
def postgres_copy(template: str) -> Iterator[str]:
    """A throwaway copy of the kept seeded database `template` (the rounds change invitations)."""
    name = f"mc_bench_{uuid.uuid4().hex[:12]}"
    start = time.perf_counter()
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    print(f"    copied {template} in {time.perf_counter() - start:.1f} s", flush=True)
    try:
        yield POSTGRES_URL.format(name=name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(
    backend: str,
    sizes: list[int],
    rounds: int,
    reseed: bool = False,
    only: list[str] | None = None,
) -> dict[int, dict[str, Result]]:
    results: dict[int, dict[str, Result]] = {size: {} for size in sizes}
    with ExitStack() as stack:
        dbs: list[tuple[Seeded, StatementCounter, dict[str, Callable[[int], Any]]]] = []
        for size in sizes:
            reserved: dict[str, list[Any]] | None = None
            if backend == "postgresql":
                template, reserved = _seeded_postgres(size, rounds + 1, reseed)
                url = stack.enter_context(postgres_copy(template))
            else:
                url = stack.enter_context(sqlite_database(size))
                db.upgrade(url)
            engine = db.make_engine(url)
            stack.callback(engine.dispose)
            seeded = Seeded(size, backend, engine, db.make_session_factory(engine))
            if reserved is None:
                start = time.perf_counter()
                seed(seeded, rounds + 1)
                print(
                    f"  {backend} {size:>9,}: seeded in {time.perf_counter() - start:.1f} s",
                    flush=True,
                )
            else:
                seeded.reserved = reserved
            ops = {k: v for k, v in operations(seeded).items() if only is None or k in only}
            dbs.append((seeded, StatementCounter(engine), ops))
        # Round 0 warms caches (and is not kept); then the sizes alternate operation by
        # operation, so a burst of load elsewhere on the machine hits every size alike.
        for r in range(rounds + 1):
            for seeded, counter, ops in dbs:
                for name, fn in ops.items():
                    if name == "export" and r != 1:  # once per size: 1M takes minutes
                        continue
                    got = measure(seeded, counter, name, fn, r)
                    if r == 0:
                        continue
                    kept = results[seeded.size].setdefault(name, Result())
                    kept.latencies += got.latencies
                    kept.cpu += got.cpu
                    kept.statements |= got.statements
                    kept.slack_calls = got.slack_calls or kept.slack_calls
                    kept.peak_bytes = max(kept.peak_bytes, got.peak_bytes)
    return results


READ_ONLY = ("status", "status_customer", "home_direct", "home_provider")


def _scans(plan: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """Each scan node of a JSON plan: what it read and how many rows it returned in all."""
    kind = plan["Node Type"]
    if "Scan" in kind:
        where = plan.get("Index Name") or plan.get("Relation Name") or ""
        yield f"{kind} {where}".strip(), int(plan["Actual Rows"] * plan["Actual Loops"])
    for child in plan.get("Plans", []):
        yield from _scans(child)


def explain(sizes: list[int], rounds: int) -> None:
    """`EXPLAIN (ANALYZE, BUFFERS)` of every statement of the read-only per-user operations on
    the kept PostgreSQL database of each size: server time, buffers, and the rows each scan
    returned (what grows with history shows here)."""
    captured: list[tuple[str, Any]] = []

    def seen(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    for size in sizes:
        template, reserved = _seeded_postgres(size, rounds + 1, False)
        url = POSTGRES_URL.format(name=template)  # read-only operations: the kept database
        engine = db.make_engine(url)
        seeded = Seeded(size, "postgresql", engine, db.make_session_factory(engine), reserved)
        ops = operations(seeded)
        for name in READ_ONLY:
            ops[name](0)  # warm
            captured.clear()
            event.listen(engine, "before_cursor_execute", seen)
            ops[name](0)
            event.remove(engine, "before_cursor_execute", seen)
            print(f"\n{size:,} {name}: {len(captured)} statements")
            with engine.connect() as connection:
                cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                for statement, parameters in captured:
                    cursor.execute(
                        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
                    )
                    (result,) = cursor.fetchone()
                    top = result[0]["Plan"]
                    buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
                    scans = ", ".join(f"{what}: {rows}" for what, rows in _scans(top))
                    text = " ".join(statement.split())[:60]
                    print(
                        f"  {result[0]['Execution Time']:7.3f} ms {buffers:5} buffers "
                        f"{top['Actual Rows']:4} rows | {text}… | {scans}"
                    )
        engine.dispose()


def _growth(sizes: list[int], values: list[float]) -> list[float]:
    """Growth per 10x of data between consecutive sizes."""
    return [
        (vb / va) ** (1 / math.log10(b / a)) if va > 0 else float("inf")
        for (a, va), (b, vb) in itertools.pairwise(list(zip(sizes, values, strict=True)))
    ]


def report(backend: str, sizes: list[int], results: dict[int, dict[str, Result]]) -> list[str]:
    """Print the table; return the targets missed."""
    missed: list[str] = []
    names = list(results[sizes[0]])
    head = "".join(f"{size:>22,}" for size in sizes)
    print(f"\n{backend}: median latency (ms) / SQL statements per operation{head}   growth/10x")
    for name in names:
        cells, medians = [], []
        for size in sizes:
            res = results[size][name]
            median = statistics.median(res.latencies) * 1000
            medians.append(median)
            statements = "/".join(str(n) for n in sorted(res.statements))
            cells.append(f"{median:>12.2f} ms {statements:>6}")
        growth = _growth(sizes, medians)
        growth_text = " ".join(f"{g:.2f}x" for g in growth)
        print(f"  {name:<17}" + "".join(f"{c:>22}" for c in cells) + f"   {growth_text}")
        if name in PER_USER:
            if any(g > GROWTH_TARGET for g in growth):
                missed.append(f"{backend} {name}: latency grows {growth_text} per 10x")
            counts = {frozenset(results[size][name].statements) for size in sizes}
            if len(counts) > 1 or any(len(c) > 1 for c in counts):
                missed.append(f"{backend} {name}: statement count depends on the size")
    # Less sensitive to the other work on the machine than latency: this process's CPU (on
    # SQLite all of the database's work; on PostgreSQL the server's is not in it). Informative:
    # the target is on latency.
    print(f"{backend}: median CPU of this process (ms) per operation")
    for name in names:
        cpus = [statistics.median(results[size][name].cpu) * 1000 for size in sizes]
        growth_text = " ".join(f"{g:.2f}x" for g in _growth(sizes, cpus))
        cells = "".join(f"{c:>19.2f} ms" for c in cpus)
        print(f"  {name:<17}{cells}   {growth_text}")
    for name in names:
        calls = [results[size][name].slack_calls for size in sizes]
        if any(calls):
            print(f"  {name} Slack calls: " + "; ".join(str(c) for c in calls))
    if "export" in names:
        peaks = [results[size]["export"].peak_bytes for size in sizes]
        text = ", ".join(
            f"{size:,}: {peak / 1e6:.1f} MB" for size, peak in zip(sizes, peaks, strict=True)
        )
        print(f"  export peak Python memory (tracemalloc): {text}")
        # The target holds from 10k on (the "10k to 1M"): below, an export is less
        # than a few pages of PAGE invitations, so its peak is not yet the steady one.
        for (sa, a), (_, b) in itertools.pairwise(list(zip(sizes, peaks, strict=True))):
            if sa >= 10_000 and b > a * MEMORY_TARGET:
                missed.append(f"{backend} export: peak memory grows {b / a:.2f}x from {sa:,}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="SQLite at 1k and 10k only")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--rounds", type=int, default=9, help="measured rounds per operation")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="PostgreSQL: EXPLAIN ANALYZE the read-only operations' statements, no timing",
    )
    parser.add_argument("--ops", help="comma-separated operations to measure (default: all)")
    parser.add_argument(
        "--reseed", action="store_true", help="PostgreSQL: seed the kept databases again"
    )
    args = parser.parse_args(argv)
    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.explain:
        explain(sizes + ([1_000_000] if args.million else []), args.rounds)
        return 0
    plan: list[tuple[str, list[int]]] = []
    if not args.no_sqlite:
        plan.append(("sqlite", sizes))
    if args.postgres or args.million or args.no_sqlite:
        reason = postgres_unavailable()
        if reason is not None:
            print(f"PostgreSQL skipped: {reason}")
        else:
            plan.append(("postgresql", sizes + ([1_000_000] if args.million else [])))
    missed: list[str] = []
    for backend, backend_sizes in plan:
        print(f"{backend}: seeding {', '.join(f'{s:,}' for s in backend_sizes)} invitations")
        ops = args.ops.split(",") if args.ops else None
        results = run_backend(backend, backend_sizes, args.rounds, args.reseed, ops)
        missed += report(backend, backend_sizes, results)
    print()
    if missed:
        print("Targets missed:")
        for line in missed:
            print(f"  - {line}")
        return 1
    print(
        f"All targets met: per-user operations grow <= {GROWTH_TARGET}x per 10x with constant "
        f"statement counts; export memory within {MEMORY_TARGET}x."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
