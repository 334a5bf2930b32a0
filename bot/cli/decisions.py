"""`mcbot decision show ID`: replay a logged decision; and the decision log of `mcbot assess`.

`mcbot assess` logs each decision it prints to the database (DATABASE_URL, by default the
embedded SQLite file, created and migrated on first use), as the bot logs Slack's, so that any
decision id printed anywhere can be replayed. `--no-log` skips it. A database that cannot take
the row does not stop the answer: a warning on stderr says the decision was not logged and why.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.ui.render import render_text

T = TypeVar("T")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
CLI_USER_PREFIX = "cli:"  # user_id of a decision asked on the command line (team_id is "")

HELP_DECISION = "look up a logged decision"
HELP_SHOW = (
    "replay a decision by its id: who asked, when, the facts, the answer (outcome, steps, rules, "
    "citations) under its edition, and what today's default edition would answer instead"
)


def _database_url(value: str | None) -> str:
    from bot.core.settings import DatabaseSettings

    return value or DatabaseSettings().database_url


def _with_schema(url: str, work: Callable[[Session], T]) -> T:
    """`work(session)` in one transaction on `url`. A database without the schema (the embedded
    default on first use) or behind it is migrated, then the work is done again: the common
    case costs no migration check (Alembic is not even imported)."""
    from bot.core.store import db

    def attempt() -> T:
        engine = db.make_engine(url)
        try:
            with db.make_session_factory(engine).begin() as session:
                return work(session)
        finally:
            engine.dispose()

    try:
        return attempt()
    except (OperationalError, ProgrammingError):
        db.upgrade(url)  # under a lock: safe beside a running bot or another mcbot
        return attempt()


def cli_user() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        name = "unknown"
    return (CLI_USER_PREFIX + name)[:32]


def log_assessed(decision: Any, database_url: str | None) -> None:
    """Log a decision `mcbot assess` printed; on failure, a warning on stderr."""
    from bot.core.store import db
    from bot.core.store.decisions import record_decision

    url = _database_url(database_url)

    def write(session: Session) -> None:
        record_decision(
            session,
            decision_id=decision.decision_id,
            user_id=cli_user(),
            team_id="",
            policy_edition=decision.policy_edition,
            outcome=decision.outcome.value,
            facts=decision.facts.model_dump(mode="json"),
            steps=decision.step_codes(),
        )

    try:
        _with_schema(url, write)
    except (SQLAlchemyError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        sys.stderr.write(_text("not_logged", error=first, url=db.safe_url(url)) + "\n")


def _text(part: str, **values: Any) -> str:
    return render_text("text/replay.txt.j2", part=part, **values).strip("\n")


def _show(args: argparse.Namespace) -> int:
    from bot.core.replay import replay
    from bot.core.settings import PolicySettings
    from bot.core.store import db
    from policy import get_edition
    from policy.ids import parse_decision_id

    decision_id = parse_decision_id(args.id)
    if decision_id is None:
        sys.stderr.write(_text("bad_id", value=args.id) + "\n")
        return EXIT_BAD_INPUT
    url = _database_url(args.database_url)
    edition_today = PolicySettings().policy_edition  # as `mcbot assess` defaults to
    try:
        found = _with_schema(
            url, lambda s: replay(s, decision_id, default_edition=edition_today, viewer=None)
        )
    except (SQLAlchemyError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        sys.stderr.write(_text("database_error", error=first) + "\n")
        return EXIT_FAILED
    if found is None:
        sys.stderr.write(_text("not_found", id=decision_id, url=db.safe_url(url)) + "\n")
        return EXIT_FAILED
    if args.json:
        sys.stdout.write(json.dumps(replay_json(found), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    edition = get_edition(found.decision.policy_edition) if found.decision else None
    sys.stdout.write(
        render_text("text/replay.txt.j2", part="replay", r=found, edition=edition, lang=args.lang)
    )
    return EXIT_OK


def replay_json(found: Any) -> dict[str, Any]:
    """The JSON form of a `bot.core.replay.Replay` (mcbot decision show --json)."""
    return {
        "decision_id": found.decision_id,
        "at": found.at.isoformat(),
        "asked_by": {
            "user_id": found.user_id,
            "team_id": found.team_id or None,
            "organization": found.org_name,
        },
        "customer_name": found.customer_name,
        "policy_edition": found.edition,
        "logged": {"outcome": found.logged_outcome, "steps": list(found.logged_steps)},
        "as_logged": found.as_logged,
        "problem": found.problem,
        "decision": found.decision.model_dump(mode="json") if found.decision else None,
        "today": {
            "policy_edition": found.today_edition,
            "comparison": found.today.model_dump(mode="json") if found.today else None,
        },
    }


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser("decision", help=HELP_DECISION, description=HELP_DECISION)
    decision_sub = parser.add_subparsers(dest="decision_command", metavar="ACTION")
    decision_sub.required = True
    show = decision_sub.add_parser("show", help=HELP_SHOW, description=HELP_SHOW)
    show.add_argument("id", metavar="ID", help="the decision id (as printed under an answer)")
    show.add_argument("--json", action="store_true", help="print the replay as JSON")
    show.add_argument("--lang", default="en", choices=["en", "es"], help="language of the text")
    show.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy database URL (default: $DATABASE_URL, else sqlite:///multichannel.sqlite3)",
    )
    show.set_defaults(func=_show)
