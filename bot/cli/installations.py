"""`mcbot installations list|reencrypt`: the Slack workspaces that installed the app
(distributed mode); `reencrypt` is an alias of `mcbot secrets reencrypt` (bot/cli/secrets.py),
which re-encrypts every stored secret after a key rotation.

Tokens are never printed: `list` shows workspaces, `reencrypt` counts."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.secrets import EXIT_OK, add_reencrypt, engine_for
from bot.core.ui.render import render_text


def _msg(part: str, **values: Any) -> str:
    return render_text("text/installations.txt.j2", part=part, **values).rstrip("\n")


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.core.store.models import SLACK_BOTS

    engine = engine_for(args)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    SLACK_BOTS.c.team_id,
                    SLACK_BOTS.c.team_name,
                    SLACK_BOTS.c.enterprise_id,
                    SLACK_BOTS.c.installed_at,
                    SLACK_BOTS.c.bot_token_expires_at,
                )
                .order_by(SLACK_BOTS.c.team_id, SLACK_BOTS.c.installed_at.desc())
                .limit(10_000)
            ).all()
    finally:
        engine.dispose()
    latest: dict[tuple[Any, Any], Any] = {}
    for row in rows:
        latest.setdefault((row.enterprise_id, row.team_id), row)
    print(_msg("list", rows=list(latest.values())))
    return EXIT_OK


def register(sub: Any) -> None:
    help_text = "Slack workspaces that installed the app (distributed mode) and their tokens"
    parser = sub.add_parser("installations", help=help_text, description=help_text)
    inner = parser.add_subparsers(dest="installations_command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="SQLAlchemy URL (default: the DATABASE_URL setting)")
    listing = inner.add_parser(
        "list",
        parents=[common],
        help="the installed workspaces (team id, name, when; never a token)",
        description="The workspaces that installed the app through /slack/install: team id, "
        "name, enterprise, when, and when the bot token expires (token rotation). Tokens are "
        "never shown.",
    )
    listing.set_defaults(func=_list)
    add_reencrypt(
        inner,
        "reencrypt",
        help="alias of `mcbot secrets reencrypt`: encrypt every stored secret with the first "
        "key of ENCRYPTION_KEYS",
        prefix="Alias of `mcbot secrets reencrypt` (the same command: it re-encrypts every "
        "stored secret, Slack tokens included). ",
    )
