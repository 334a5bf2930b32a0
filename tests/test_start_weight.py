"""What `mcbot serve` imports before it answers: modules it needs only later (or never, on a
migrated database) stay out of the process, for a faster start and a smaller process
(docs/architecture.md, "Start-up"). Counted, not timed: a fresh interpreter imports the serve
path and reports which of the given modules are in sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

SERVE_PATH = (
    "bot.cli.main",
    "bot.bootstrap.serve",
    "bot.slack.app",
    "bot.bootstrap.notify",
    "bot.http.asgi",
    "uvicorn",
)
# module -> when it is imported instead
LATER = {
    "alembic": "only when the database is not at the shipped revision",
    "mako": "with Alembic",
    "cryptography": "ENCRYPTION_KEYS set, or the first Partner Center webhook to verify",
    "httpx": "Partner Center configured, or the first Partner Center call or webhook",
    "pygments": "never: httpx's command-line client is skipped (bot/__init__.py)",
    "rich": "never",
    "sqlalchemy.dialects.postgresql": "a PostgreSQL DATABASE_URL",
    "psycopg": "a PostgreSQL DATABASE_URL",
    "babel.messages": "the first answer in a language other than English",
}


def imported_after_serve_path(modules: list[str], then: str = "") -> list[str]:
    code = (
        "import json, sys\n"
        f"for name in {list(SERVE_PATH)!r}: __import__(name)\n"
        f"{then}\n"
        f"print(json.dumps([m for m in {modules!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_serve_path_leaves_out_what_it_does_not_need_yet() -> None:
    present = imported_after_serve_path(sorted(LATER))
    assert present == [], {name: LATER[name] for name in present}


def test_the_check_sees_what_is_imported() -> None:
    """The same check finds modules the serve path does import (it is not vacuous)."""
    assert imported_after_serve_path(["sqlalchemy", "jinja2", "slack_bolt", "pydantic"]) == [
        "sqlalchemy",
        "jinja2",
        "slack_bolt",
        "pydantic",
    ]


def test_the_benchmarks_floor_imports_only_libraries_ours_imports_at_start() -> None:
    """bench/ack.py's floor (bare Bolt that first imports bench/bare_bolt.py OUR_LIBRARIES)
    says what ours' start cannot go below: only if ours imports every one of them at start."""
    import ast
    from pathlib import Path

    source = (Path(__file__).parents[1] / "bench" / "bare_bolt.py").read_text()
    (libraries,) = [
        ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["OUR_LIBRARIES"]
    ]
    # at start: the serve path's imports, and the engine of the default database (SQLite)
    engine = "import sqlalchemy; sqlalchemy.create_engine('sqlite://')"
    assert libraries
    assert imported_after_serve_path(list(libraries), then=engine) == list(libraries)


def test_the_start_runs_no_full_garbage_collection_and_serves_with_its_objects_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mcbot serve` builds itself with no full collection of the cyclic collector (they
    walked every imported object, ~60 ms of the start), then serves with what it built frozen
    and the collector's usual thresholds."""
    import gc

    import uvicorn

    import bot.slack.app
    from bot.cli.main import main
    from bot.testkit import SlackStandIn

    seen: dict[str, object] = {}
    build_app = bot.slack.app.build_app

    def building(*args: Any, **kwargs: Any) -> Any:
        seen["thresholds while building"] = gc.get_threshold()
        return build_app(*args, **kwargs)

    def run(*args: Any, **kwargs: Any) -> None:
        seen["thresholds while serving"] = gc.get_threshold()
        seen["frozen objects"] = gc.get_freeze_count()

    monkeypatch.setattr(bot.slack.app, "build_app", building)
    monkeypatch.setattr(uvicorn, "run", run)
    with SlackStandIn() as slack:
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-start")
        monkeypatch.setenv("SLACK_API_URL", slack.base_url)
        usual = gc.get_threshold()
        try:
            assert main(["serve", "--no-outbox-worker", "--log-level", "warning"]) == 0
        finally:
            gc.unfreeze()
    young, middle, _ = usual
    assert seen["thresholds while building"] == (young, middle, 1_000_000)  # no full collection
    assert seen["thresholds while serving"] == usual
    assert isinstance(seen["frozen objects"], int) and seen["frozen objects"] > 10_000
    assert gc.isenabled() and gc.get_threshold() == usual  # and after the server stopped
