"""`mcbot` subcommands for the store: `db upgrade|current`, `partners import|list`,
`invitations export`. `register(subparsers)` adds them to the main CLI parser; each leaf
parser sets `func(args) -> exit code`.

Exit codes: 0 done; 1 the database is unreachable, failing or not migrated; 2 bad input
(missing or invalid file, unknown organization). Errors go to stderr as one plain message,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.secrets import keys_or_code, keys_or_exit
from bot.core.channels import HostedChannel, hosted_channel_problems
from bot.core.outbox.routing import webhook_state
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.settings import BotSettings, DatabaseSettings, SlackSettings
from bot.core.store import db
from bot.core.store.connections import connection_label, set_app, statuses
from bot.core.store.directory import (
    import_directory,
    list_orgs,
    org_by_key,
    providers_of,
    self_org_id,
)
from bot.core.store.directory_file import parse_entries, read_directory_file
from bot.core.store.errors import DirectoryError, SetupError, StoreError
from bot.core.store.export import FORMATS, ExportFormat, stream_export
from bot.core.store.models import Organization
from bot.core.ui.render import render_text

# Argument help (like every mcbot command); the output text is in templates/text/store.txt.j2.
HELP_DATABASE_URL = (
    "SQLAlchemy database URL (default: $DATABASE_URL, else sqlite:///multichannel.sqlite3)"
)
HELP_DB = "create or update the database schema"
HELP_DB_UPGRADE = "migrate the database to the newest schema (safe to run again)"
HELP_DB_REVISION = "target revision (default: head, the newest)"
HELP_DB_CURRENT = "show the database's schema revision and the newest one"
HELP_PARTNERS = "the partner directory: organizations, their Slack teams and admins"
HELP_PARTNERS_IMPORT = (
    "import (create or update, by key) organizations from a YAML file; each organization "
    "created or changed is recorded in the directory's audit trail (table directory_events), "
    "as changes made in Slack are"
)
HELP_PARTNERS_FILE = "YAML file, see docs/partners.example.yaml"
HELP_PARTNERS_LIST = (
    "list the organizations; WEBHOOK is the state of the organization's Partner Center "
    "webhook URL: registered (its own URL, see mcbot webhook show), legacy (the organization "
    "PARTNER_ORG_KEY names: /partner-center/webhooks reaches it) or not registered; PARTNER "
    "CENTER is its Partner Center connection: connected (from Slack, Home tab), expired "
    "(expired or revoked: an admin reconnects it), environment (the legacy "
    "PARTNER_CENTER_* settings, not stored) or not connected"
)
HELP_CONNECTION_APP = (
    "set the Entra app registration an organization connects its Partner Center with: its "
    "own (--client-id, the client secret read from standard input; needs ENCRYPTION_KEYS) or "
    "the deployment's (--deployment: PARTNER_CENTER_CLIENT_ID / _SECRET). A change of app "
    "drops the stored connection: an admin connects again from Slack"
)
HELP_INVITATIONS = "invitations and their audit trail"
HELP_EXPORT = "export invitations with their audit trail"
HELP_EXPORT_FORMAT = "csv (one row per audit event) or json"
HELP_EXPORT_OUTPUT = "write to this file instead of standard output"
HELP_EXPORT_ORG = "only the invitations this organization (key) can see"

LIST_HEADER = (
    "KEY",
    "ROLE",
    "NAME",
    "TENANT",
    "PARTNER ID",
    "TEAMS",
    "CHANNEL",
    "PROVIDERS",
    "WEBHOOK",
    "PARTNER CENTER",
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `db`, `partners` and `invitations` commands to `mcbot`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", metavar="URL", help=HELP_DATABASE_URL)

    db_parser = subparsers.add_parser("db", help=HELP_DB, description=HELP_DB)
    db_sub = db_parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = _leaf(db_sub, "upgrade", HELP_DB_UPGRADE, common, _db_upgrade)
    upgrade.add_argument("--revision", default="head", help=HELP_DB_REVISION)
    _leaf(db_sub, "current", HELP_DB_CURRENT, common, _db_current)

    partners = subparsers.add_parser("partners", help=HELP_PARTNERS, description=HELP_PARTNERS)
    partners_sub = partners.add_subparsers(
        dest="partners_command", required=True, metavar="COMMAND"
    )
    imp = _leaf(partners_sub, "import", HELP_PARTNERS_IMPORT, common, _partners_import)
    imp.add_argument("file", type=Path, metavar="FILE.yaml", help=HELP_PARTNERS_FILE)
    _leaf(partners_sub, "list", HELP_PARTNERS_LIST, common, _partners_list)
    app = _leaf(partners_sub, "connection-app", HELP_CONNECTION_APP, common, _connection_app)
    app.add_argument("--org", metavar="KEY", required=True, help="the organization")
    which = app.add_mutually_exclusive_group(required=True)
    which.add_argument("--client-id", metavar="ID", help="its own app's application (client) id")
    which.add_argument(
        "--deployment", action="store_true", help="use the deployment's app registration again"
    )

    invitations = subparsers.add_parser(
        "invitations", help=HELP_INVITATIONS, description=HELP_INVITATIONS
    )
    inv_sub = invitations.add_subparsers(
        dest="invitations_command", required=True, metavar="COMMAND"
    )
    export = _leaf(inv_sub, "export", HELP_EXPORT, common, _invitations_export)
    export.add_argument("--format", required=True, choices=FORMATS, help=HELP_EXPORT_FORMAT)
    export.add_argument("--output", type=Path, metavar="FILE", help=HELP_EXPORT_OUTPUT)
    export.add_argument("--org", metavar="KEY", help=HELP_EXPORT_ORG)


def _leaf(
    sub: argparse._SubParsersAction[Any],
    name: str,
    help_text: str,
    common: argparse.ArgumentParser,
    handler: Handler,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text, parents=[common]
    )
    parser.set_defaults(func=_guarded(handler))
    return parser


def _guarded(handler: Handler) -> Handler:
    """Turn the errors a user can fix into a message on stderr and an exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DirectoryError as error:
            return _fail(_msg("error", message=error.message), EXIT_BAD_INPUT)
        except SetupError as error:
            return _fail(_msg("error", message=error.message), EXIT_FAILED)
        except StoreError as error:
            return _fail(_msg("error", message=error.message), EXIT_BAD_INPUT)
        except SQLAlchemyError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            return _fail(_msg("database_error", error=first_line), EXIT_FAILED)

    run.__doc__ = handler.__doc__
    return run


def _msg(part: str, **values: Any) -> str:
    return render_text("text/store.txt.j2", part=part, **values).rstrip("\n")


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _url(args: argparse.Namespace) -> str:
    url: str | None = args.database_url
    return url if url else DatabaseSettings().database_url


def _db_upgrade(args: argparse.Namespace) -> int:
    url = _url(args)
    db.upgrade(url, args.revision)
    print(_msg("upgraded", revision=db.current_revision(url)))
    return EXIT_OK


def _db_current(args: argparse.Namespace) -> int:
    current, head = db.current_revision(_url(args)), db.head_revision()
    print(_msg("current", current=current, head=head))
    if current != head:
        print(_msg("behind"))
    return EXIT_OK


def _partners_import(args: argparse.Namespace) -> int:
    data = read_directory_file(args.file)  # before touching the database
    cipher = keys_or_exit()  # new organizations' webhook URL tokens are sealed with it
    hosted = [
        HostedChannel(entry.key, entry.notification_channel, entry.notification_channel_host)
        for entry in parse_entries(data)
        if entry.notification_channel and entry.notification_channel_host
    ]
    url = _url(args)
    # Migrate on first use, as `mcbot serve` does (under the migration lock; nothing to do on
    # a database already at head): the README loads the directory before anything else.
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        if hosted and (refused := _check_hosted(hosted, engine)) is not None:
            return refused
        with db.make_session_factory(engine).begin() as session:
            result = import_directory(session, data, cipher=cipher)
    finally:
        engine.dispose()
    created, updated, same = len(result.created), len(result.updated), len(result.unchanged)
    total = created + updated + same
    print(_msg("imported", total=total, created=created, updated=updated, same=same))
    return EXIT_OK


def _check_hosted(hosted: list[HostedChannel], engine: Engine) -> int | None:
    """A channel another workspace hosts is checked with Slack, with that workspace's token,
    before anything is written (bot/core/channels.py); None when every one is usable."""
    try:
        settings = SlackSettings()
    except ValidationError:
        return _fail(_msg("hosted_needs_slack"), EXIT_BAD_INPUT)
    if settings.mode_problems():
        return _fail(_msg("hosted_needs_slack"), EXIT_BAD_INPUT)
    problems = asyncio.run(_hosted_problems(settings, engine, hosted))
    for item, why in problems:
        print(
            _msg(
                "hosted_refused", key=item.org, channel=item.channel, host=item.host_team, why=why
            ),
            file=sys.stderr,
        )
    return EXIT_BAD_INPUT if problems else None


async def _hosted_problems(
    settings: SlackSettings, engine: Engine, hosted: list[HostedChannel]
) -> list[tuple[HostedChannel, str]]:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.core.installations import Tokens

    token = settings.slack_bot_token
    client = AsyncWebClient(
        token=token.get_secret_value() if token is not None else None,
        base_url=settings.slack_api_url,
        timeout=10,
    )
    if settings.distributed:
        from bot.slack.oauth import installations_for

        tokens = Tokens(installations=installations_for(settings, engine))
    else:
        assert token is not None
        tokens = Tokens(token=token.get_secret_value())
    return await hosted_channel_problems(tokens, client, hosted)


def _partners_list(args: argparse.Namespace) -> int:
    url = _url(args)
    db.check_schema(url)
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine)() as session:
            legacy = self_org_id(session, BotSettings().partner_org_key or None)
            environment = PartnerCenterSettings().configured
            connections = statuses(session)
            rows = [
                (
                    org.key,
                    org.role.value,
                    org.name,
                    org.tenant_id,
                    org.partner_id or "-",
                    ",".join(sorted(team.team_id for team in org.teams)) or "-",
                    _channel(org),
                    ",".join(p.key for p in providers_of(session, org)) or "-",
                    webhook_state(org, legacy).value,
                    connection_label(
                        connections.get(org.id, (None, None))[0],
                        legacy=environment and org.id == legacy,
                    ),
                )
                for org in list_orgs(session)
            ]
    finally:
        engine.dispose()
    if not rows:
        print(_msg("no_orgs"))
        return EXIT_OK
    print(_table([LIST_HEADER, *rows]))
    return EXIT_OK


def _channel(org: Organization) -> str:
    """Its notification channel; `C…@T…` when another workspace hosts it (Slack Connect)."""
    if not org.notification_channel:
        return "-"
    host = org.notification_channel_team
    return f"{org.notification_channel}@{host}" if host else org.notification_channel


def _connection_app(args: argparse.Namespace) -> int:
    secret = None
    cipher = None
    if args.client_id is not None:
        client_id = args.client_id.strip()
        if not client_id or len(client_id) > 100:
            return _fail(_msg("bad_client_id"), EXIT_BAD_INPUT)
        cipher = keys_or_code(required=True)  # a missing or malformed key: said on stderr
        if isinstance(cipher, int):
            return cipher
        secret = sys.stdin.readline().strip()
        if not secret:
            return _fail(_msg("no_secret"), EXIT_BAD_INPUT)
    url = _url(args)
    db.check_schema(url)
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine).begin() as session:
            org = org_by_key(session, args.org)
            if org is None:
                return _fail(_msg("unknown_org", key=args.org), EXIT_BAD_INPUT)
            set_app(
                session,
                org_id=org.id,
                client_id=args.client_id.strip() if args.client_id else None,
                client_secret=secret,
                cipher=cipher,
            )
    finally:
        engine.dispose()
    print(_msg("connection_app", key=args.org, client_id=args.client_id or ""))
    return EXIT_OK


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _invitations_export(args: argparse.Namespace) -> int:
    url = _url(args)
    db.check_schema(url)
    fmt: ExportFormat = args.format
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine)() as session:
            org = None
            if args.org is not None:
                org = org_by_key(session, args.org)
                if org is None:
                    return _fail(_msg("unknown_org", key=args.org), EXIT_BAD_INPUT)
            pieces = stream_export(session, fmt, org)  # written as read: flat memory
            if args.output is None:
                for piece in pieces:
                    sys.stdout.write(piece)
                return EXIT_OK
            try:
                with args.output.open("w", encoding="utf-8") as out:
                    for piece in pieces:
                        out.write(piece)
            except OSError as error:
                return _fail(_msg("cannot_write", path=args.output, error=error), EXIT_BAD_INPUT)
    finally:
        engine.dispose()
    print(_msg("exported", path=args.output), file=sys.stderr)
    return EXIT_OK
