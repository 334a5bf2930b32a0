"""`mcbot installations list|reencrypt`: the Slack workspaces that installed the app
(distributed mode), and re-encryption of their stored tokens after a key rotation.

Tokens are never printed: `list` shows workspaces, `reencrypt` counts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.core.ui.render import render_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _msg(part: str, **values: Any) -> str:
    return render_text("text/installations.txt.j2", part=part, **values).rstrip("\n")


def _engine(args: argparse.Namespace) -> Any:
    from bot.core.settings import DatabaseSettings
    from bot.core.store import db

    url = args.database_url or DatabaseSettings().database_url
    db.upgrade(url)  # migrate on first use, as `mcbot serve` does
    return db.make_engine(url)


def _cipher() -> Any:
    import os

    from bot.core.store.secrets import TokenCipher

    value = os.environ.get("ENCRYPTION_KEYS", "")
    if not value.strip():
        from pydantic_settings import BaseSettings, SettingsConfigDict

        class _Keys(BaseSettings):  # also read from .env, as the other settings
            model_config = SettingsConfigDict(
                env_file=".env", env_file_encoding="utf-8", extra="ignore"
            )
            encryption_keys: str = ""

        value = _Keys().encryption_keys
    return TokenCipher.from_setting(value)


def _reencrypt(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.store.secrets import EncryptionKeyError, TokenUnreadable, reencrypt_all

    try:
        cipher = _cipher()
    except EncryptionKeyError as exc:
        print(_msg("bad_keys", error=str(exc)), file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = _engine(args)
    try:
        done = reencrypt_all(engine, cipher)
    except TokenUnreadable as exc:
        print(_msg("unreadable", error=str(exc)), file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        print(_msg("database_error", error=first), file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    print(_msg("reencrypted", installations=done["Slack installations"], bots=done["Slack bots"]))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.core.store.models import SLACK_BOTS

    engine = _engine(args)
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
    again = inner.add_parser(
        "reencrypt",
        parents=[common],
        help="encrypt every stored token with the first key of ENCRYPTION_KEYS",
        description="After a key rotation: put the new Fernet key first in ENCRYPTION_KEYS "
        "(keep the old ones after it), run this, then remove the old keys. Every stored token "
        "(and any stored before encryption was configured) is encrypted again with the first "
        "key. Prints counts only. Exit 1 when a token cannot be decrypted with any key.",
    )
    again.set_defaults(func=_reencrypt)
