"""The decision log: every policy decision the bot makes, with who asked and the facts
(like Open Policy Agent's decision log).

`record_decision` (one row, ORM) and `record_decisions` (many rows) flush, never commit (the
caller's transaction). `DecisionWriter` is what the bot writes its batched log with: each row
built on the request path as the driver's parameters (SQLAlchemy's bind processing done then,
the JSON of each distinct decision once), a batch written through the driver itself by the
decision log's thread (bot/core/store/decision_log.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, Dialect, Engine, insert, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from bot.core.store.clock import Clock, as_utc, utc_now
from bot.core.store.models import DecisionRecord
from policy import Decision

JSON_COLUMNS = ("facts", "steps")  # the same few values in many rows: serialized once a batch
JSON_CACHE_SIZE = 4096  # distinct decisions whose facts and steps are kept in JSON form
ROWS_PER_STATEMENT = 90  # x 10 columns: under SQLite's oldest limit of 999 parameters
DEFAULT_RECENT = 10


def record_decision(
    session: Session,
    *,
    decision_id: str,
    user_id: str,
    team_id: str,
    policy_edition: str,
    outcome: str,
    facts: Mapping[str, Any],
    steps: Sequence[str],
    org_id: int | None = None,
    customer_name: str | None = None,
    clock: Clock = utc_now,
) -> DecisionRecord:
    """Log one decision. `facts` is the JSON form of the policy input (e.g.
    `decision.facts.model_dump(mode="json")`), `steps` the step codes in order."""
    record = DecisionRecord(
        decision_id=decision_id,
        at=clock(),
        user_id=user_id,
        team_id=team_id,
        org_id=org_id,
        customer_name=customer_name,
        policy_edition=policy_edition,
        outcome=outcome,
        facts=dict(facts),
        steps=list(steps),
    )
    session.add(record)
    session.flush()
    return record


class DecisionRow(NamedTuple):
    """One row of the decision log, in DecisionRecord's column order; `facts` and `steps` in
    JSON form."""

    decision_id: str
    at: datetime
    user_id: str
    team_id: str
    org_id: int | None
    customer_name: str | None
    policy_edition: str
    outcome: str
    facts: Any
    steps: Any


def record_decisions(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log many decisions at once, each row a mapping with DecisionRow's keys."""
    if rows:
        connection = session.connection()
        statement(connection.dialect).execute(connection, [DecisionRow(**row) for row in rows])


class InsertStatement:
    """DecisionRecord's INSERT for one dialect, compiled once and run at the driver level.

    Each value goes through SQLAlchemy's own bind processor for its column and dialect, so a
    row is stored exactly as the ORM stores it (tests read rows back through the ORM), at a
    fraction of the ORM's cost per row. On SQLite, a batch is one INSERT with many rows of
    VALUES: one statement step instead of one per row (about half the time of executemany)."""

    def __init__(self, dialect: Dialect) -> None:
        table = DecisionRecord.__table__
        compiled = _insert_ignoring_duplicates(dialect).compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = dialect.positional
        names = compiled.positiontup if dialect.positional else None
        self.names: tuple[str, ...] = tuple(names or (c.name for c in table.columns))
        if set(self.names) != set(DecisionRow._fields):
            raise RuntimeError(f"DecisionRow {DecisionRow._fields} != columns {self.names}")
        self._order = [DecisionRow._fields.index(name) for name in self.names]
        processors = [
            table.columns[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.names
        ]
        at = self.names.index("at")
        processors[at] = sqlite_datetime(dialect, processors[at])
        json_at = {i for i, name in enumerate(self.names) if name in JSON_COLUMNS}
        self._plain = [(i, p) for i, p in enumerate(processors) if p and i not in json_at]
        self._json_by_name = {self.names[i]: p for i, p in enumerate(processors) if i in json_at}
        self._json_fields = [(DecisionRow._fields.index(n), n) for n in JSON_COLUMNS]
        # SQLite: the driver takes a row as a tuple in DecisionRow's order, and only the time
        # needs processing; DecisionWriter.row then builds it directly (the request path).
        self.at_processor = processors[at]
        self.plain_tuple = (
            self.positional
            and self._order == list(range(len(self.names)))
            and [i for i, _ in self._plain] == ([at] if processors[at] else [])
        )
        self.multirow = dialect.name == "sqlite"
        head, sep, rest = self.sql.rpartition(" VALUES ")
        values_end = rest.index(")") + 1  # "(?, ?, ...)" then e.g. " ON CONFLICT ... NOTHING"
        self._insert_head, self._values, self._tail = (
            head + sep,
            rest[:values_end],
            rest[values_end:],
        )
        self._multirow: dict[int, str] = {}

    def prepare(self, values: Sequence[Any]) -> Any:
        """The driver's parameters for one row in DecisionRow's order whose JSON values are
        already processed (`process_json`): a tuple for a positional paramstyle, else a dict."""
        ordered = [values[i] for i in self._order]
        for i, process in self._plain:
            if ordered[i] is not None:
                ordered[i] = process(ordered[i])
        return tuple(ordered) if self.positional else dict(zip(self.names, ordered, strict=True))

    def process_json(self, name: str, value: Any) -> Any:
        """The driver's form of a JSON column's value."""
        process = self._json_by_name.get(name)
        return process(value) if process is not None and value is not None else value

    def params(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """The driver's parameters for `rows` (each in DecisionRow's order). A JSON value that
        several rows share (the same facts, the same steps) is serialized once."""
        shared: dict[tuple[str, int], Any] = {}  # (column, id(JSON value)) -> processed
        out: list[Any] = []
        for row in rows:
            values = list(row)
            for i, name in self._json_fields:
                value = values[i]
                done = shared.get((name, id(value)))
                if done is None:
                    done = shared[(name, id(value))] = self.process_json(name, value)
                values[i] = done
            out.append(self.prepare(values))
        return out

    def execute(self, connection: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` (each in DecisionRow's order); a decision id already logged is
        skipped (a batch sent again after a crash)."""
        params = self.params(rows)
        if self.multirow:
            for sql, flat in self.multirow_chunks(params):
                connection.exec_driver_sql(sql, tuple(flat))
        else:
            connection.exec_driver_sql(self.sql, params)

    def execute_raw(self, cursor: Any, params: Sequence[Any]) -> None:
        """Insert rows already in the driver's form (`prepare`) with a DBAPI cursor."""
        if self.multirow:
            for sql, flat in self.multirow_chunks(params):
                cursor.execute(sql, flat)
        else:
            cursor.executemany(self.sql, params)

    def multirow_chunks(self, params: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """(INSERT with up to ROWS_PER_STATEMENT rows of VALUES, their flat parameters)."""
        for start in range(0, len(params), ROWS_PER_STATEMENT):
            chunk = params[start : start + ROWS_PER_STATEMENT]
            yield self._multirow_sql(len(chunk)), [v for row in chunk for v in row]

    def _multirow_sql(self, n: int) -> str:
        sql = self._multirow.get(n)
        if sql is None:
            sql = ", ".join([self._values] * n)
            sql = self._multirow[n] = self._insert_head + sql + self._tail
        return sql


SAMPLE_TIMES = (
    datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # microsecond 0: still six digits
    datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),  # a year of three digits
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
)


def sqlite_datetime(dialect: Dialect, processor: Any) -> Any:
    """On SQLite, a faster equal of SQLAlchemy's processor for a UTCDateTime: the same text
    (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`) at a fifth of its cost, which showed in the decision
    log's cost per row (bench/ack.py). Used only when it gives SQLAlchemy's text for
    SAMPLE_TIMES (tests compare many more); anywhere else, SQLAlchemy's processor."""
    if dialect.name != "sqlite" or processor is None:
        return processor

    def process(value: datetime) -> str:
        utc = value if value.tzinfo is UTC else as_utc(value)
        return utc.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"

    return process if all(process(t) == processor(t) for t in SAMPLE_TIMES) else processor


def _insert_ignoring_duplicates(dialect: Dialect) -> Any:
    """INSERT ... ON CONFLICT (decision_id) DO NOTHING on SQLite and PostgreSQL."""
    if dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(DecisionRecord).on_conflict_do_nothing(index_elements=["decision_id"])
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(DecisionRecord).on_conflict_do_nothing(index_elements=["decision_id"])
    return insert(DecisionRecord)


@lru_cache(maxsize=8)
def statement(dialect: Dialect) -> InsertStatement:
    return InsertStatement(dialect)


class DecisionWriter:
    """Writes the bot's decision log in batches: `row` builds a decision's row on the request
    path (the driver's parameters), `write` writes a batch of them in one transaction through
    the driver itself (blocking: the decision log's thread, bot/core/store/decision_log.py)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statement = statement(engine.dialect)
        self._json: dict[tuple[Any, str], tuple[Any, Any]] = {}

    def row(
        self,
        decision: Decision,
        *,
        decision_id: str,
        at: datetime,
        user_id: str,
        team_id: str,
        org_id: int | None,
        customer: str | None,
    ) -> Any:
        """The log's row for `decision` as `decision_id`, as the driver's parameters (a
        tuple on SQLite), so that the writing thread runs hardly any Python (the GIL).
        The facts and steps of each distinct decision are put in the driver's JSON form once
        and shared by its rows (the same few, all day)."""
        key = (decision.facts, decision.policy_edition)
        json = self._json.get(key)
        if json is None:
            if len(self._json) >= JSON_CACHE_SIZE:
                self._json.clear()
            json = self._json[key] = (
                self.statement.process_json("facts", decision.facts.model_dump(mode="json")),
                self.statement.process_json("steps", decision.step_codes()),
            )
        process = self.statement.at_processor
        values = (
            decision_id,
            process(at) if self.statement.plain_tuple and process is not None else at,
            user_id,
            team_id,
            org_id,
            customer,
            decision.policy_edition,
            decision.outcome.value,
            *json,
        )
        return values if self.statement.plain_tuple else self.statement.prepare(values)

    def write(self, rows: Sequence[Any]) -> None:
        """Write `rows` (from `row`) in one transaction, on a pooled connection used through
        the driver (no SQLAlchemy work per row); a decision id already logged is skipped. A
        driver error is raised as SQLAlchemy's (OperationalError: down, locked, read-only),
        and the connection is then dropped from the pool (e.g. a file opened read-only)."""
        dbapi = self.engine.dialect.loaded_dbapi
        raw = None
        try:
            raw = self.engine.raw_connection()
            cursor = raw.cursor()
            try:
                self.statement.execute_raw(cursor, rows)
            finally:
                cursor.close()
            raw.commit()
        except dbapi.Error as exc:
            wrapped = DBAPIError.instance(
                self.statement.sql, None, exc, dbapi.Error, dialect=self.engine.dialect
            )
            if raw is not None and isinstance(wrapped, OperationalError):
                raw.invalidate(exc)
            raise wrapped from exc
        finally:
            if raw is not None:
                raw.close()

    def decision_id(self, row: Any) -> str:
        """The decision id of a row from `row`."""
        value = (
            row["decision_id"]
            if isinstance(row, dict)
            else row[self.statement.names.index("decision_id")]
        )
        return str(value)


def get_decision(session: Session, decision_id: str) -> DecisionRecord | None:
    return session.get(DecisionRecord, decision_id)


def recent_decisions(
    session: Session, user_id: str, limit: int = DEFAULT_RECENT
) -> list[DecisionRecord]:
    """The user's latest decisions, newest first."""
    return list(
        session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.user_id == user_id)
            .order_by(DecisionRecord.at.desc(), DecisionRecord.decision_id.desc())
            .limit(limit)
        )
    )
