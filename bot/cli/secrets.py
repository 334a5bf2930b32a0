"""`mcbot secrets reencrypt|status`: the one key-rotation command for every secret the bot
stores in its database (bot/core/store/secrets.py SECRET_COLUMNS; docs/secrets.md), and the
report of which key each stored secret needs. Values are never printed: counts only.

`mcbot installations reencrypt` is an alias of `mcbot secrets reencrypt` (the same function)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.core.ui.render import render_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

REENCRYPT_HELP = "encrypt every stored secret with the first key of ENCRYPTION_KEYS"
REENCRYPT_DESCRIPTION = (
    "Key rotation (docs/secrets.md): put the new Fernet key first in ENCRYPTION_KEYS (keep "
    "the old ones after it) and restart the bot, run this, check `mcbot secrets status`, then "
    "remove the old keys. Every secret stored in the database (Slack tokens, Partner Center "
    "webhook URL tokens, and any stored in plaintext before ENCRYPTION_KEYS was set) is "
    "encrypted again with the first key, in one transaction: all or nothing. Prints counts "
    "per kind, never a value. Exit status: 0 done; 1 a stored secret cannot be decrypted with "
    "any key, or the database failed (nothing was changed); 2 ENCRYPTION_KEYS is unset or "
    "malformed."
)
STATUS_HELP = "how many stored secrets each key of ENCRYPTION_KEYS is needed for"
STATUS_DESCRIPTION = (
    "Per kind of secret: how many stored values are encrypted with the first key of "
    "ENCRYPTION_KEYS, with an older key, stored in plaintext, or unreadable with the current "
    "keys. A key after the first can be removed once no value needs it (older: 0) and none "
    "is in plaintext or unreadable. Changes no secret (the schema is migrated on first use, "
    "as `mcbot serve` does); never prints a value. Exit status: 0 reported; 1 some value is "
    "unreadable with the current keys, or the database failed; 2 ENCRYPTION_KEYS is "
    "malformed."
)


def _msg(part: str, **values: Any) -> str:
    return render_text("text/secrets.txt.j2", part=part, **values).rstrip("\n")


def keys_or_code(*, required: bool = False) -> Any:
    """The cipher of ENCRYPTION_KEYS (None when unset, unless `required`), or, after one line
    on stderr saying what is wrong with the setting (never a key), exit status 2."""
    from bot.core.settings import EncryptionSettings
    from bot.core.store.secrets import EncryptionKeyError

    try:
        cipher = EncryptionSettings().cipher()
    except EncryptionKeyError as exc:
        print(_msg("bad_keys", error=str(exc)), file=sys.stderr)
        return EXIT_BAD_INPUT
    if cipher is None and required:
        print(_msg("no_keys"), file=sys.stderr)
        return EXIT_BAD_INPUT
    return cipher


def keys_or_exit() -> Any:
    """`keys_or_code()`, exiting with its status when ENCRYPTION_KEYS is malformed."""
    cipher = keys_or_code()
    if isinstance(cipher, int):
        raise SystemExit(cipher)
    return cipher


def engine_for(args: argparse.Namespace) -> Any:
    """The engine of --database-url (default DATABASE_URL), migrated on first use as
    `mcbot serve` does."""
    from bot.core.settings import DatabaseSettings
    from bot.core.store import db

    url = args.database_url or DatabaseSettings().database_url
    db.upgrade(url)
    return db.make_engine(url)


def _database_failed(exc: Exception) -> int:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    print(_msg("database_error", error=first), file=sys.stderr)
    return EXIT_FAILED


def reencrypt(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.store.errors import StoreError
    from bot.core.store.secrets import TokenUnreadable, reencrypt_all

    cipher = keys_or_code(required=True)
    if isinstance(cipher, int):
        return cipher
    try:
        engine = engine_for(args)
        try:
            done = reencrypt_all(engine, cipher)
        finally:
            engine.dispose()
    except TokenUnreadable:
        print(_msg("unreadable"), file=sys.stderr)
        return EXIT_FAILED
    except (SQLAlchemyError, StoreError) as exc:
        return _database_failed(exc)
    print(_msg("reencrypted", done=done))
    return EXIT_OK


def status(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.store.errors import StoreError
    from bot.core.store.secrets import KeyState, secret_status

    cipher = keys_or_code()
    if isinstance(cipher, int):
        return cipher
    try:
        engine = engine_for(args)
        try:
            found = secret_status(engine, cipher)
        finally:
            engine.dispose()
    except (SQLAlchemyError, StoreError) as exc:
        return _database_failed(exc)
    total = {state: sum(counts[state] for counts in found.values()) for state in KeyState}
    print(_msg("status", found=found, total=total, keys=cipher is not None))
    return EXIT_FAILED if total[KeyState.UNREADABLE] else EXIT_OK


def add_reencrypt(sub: Any, name: str, **extra: str) -> None:
    """The `reencrypt` command (under `mcbot secrets`, and its alias under `mcbot
    installations`)."""
    parser = sub.add_parser(
        name,
        help=extra.get("help", REENCRYPT_HELP),
        description=extra.get("prefix", "") + REENCRYPT_DESCRIPTION,
    )
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: the DATABASE_URL setting)")
    parser.set_defaults(func=reencrypt)


def register(sub: Any) -> None:
    help_text = "the secrets stored in the database: key rotation and its state (docs/secrets.md)"
    parser = sub.add_parser("secrets", help=help_text, description=help_text)
    inner = parser.add_subparsers(dest="secrets_command", required=True, metavar="COMMAND")
    add_reencrypt(inner, "reencrypt")
    shown = inner.add_parser("status", help=STATUS_HELP, description=STATUS_DESCRIPTION)
    shown.add_argument("--database-url", help="SQLAlchemy URL (default: the DATABASE_URL setting)")
    shown.set_defaults(func=status)
