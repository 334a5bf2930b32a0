"""`mcbot outbox` (what waits, what is parked, queue it again) and `mcbot webhook register`
(register the callback with Partner Center for the events of partner-center.md §5).

Exit codes: 0 done; 1 the database or Partner Center failed; 2 bad input or not configured.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.cli.secrets import keys_or_exit
from bot.core.ui.render import render_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_BY_HAND = 0, 1, 2, 3
DEFAULT_LIMIT = 50


def register(sub: Any) -> None:
    p = sub.add_parser(
        "outbox",
        help="notifications waiting, parked or failed; queue parked ones again",
        description="Show the notification outbox (Slack messages to send) and the Partner "
        "Center event inbox: counts, then the rows still pending or parked. A row that keeps "
        "failing is parked, never dropped, with its reason: fix the cause (e.g. invite the bot "
        "to a private channel of its workspace; in distributed mode, have a workspace whose "
        "reason says 'the app was uninstalled from ...' or 'not installed' install the app "
        "again, which queues its notifications again by itself) and queue it again with "
        "--retry ID.",
    )
    p.add_argument("--database-url", metavar="URL", help="default: $DATABASE_URL")
    p.add_argument("--parked", action="store_true", help="only parked rows")
    p.add_argument("--events", action="store_true", help="the event inbox instead of the outbox")
    p.add_argument(
        "--retry",
        action="append",
        type=int,
        metavar="ID",
        help="queue this parked row again, now (repeatable; with --events: an event)",
    )
    p.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"rows shown (default {DEFAULT_LIMIT})"
    )
    p.set_defaults(func=_outbox)

    w = sub.add_parser(
        "webhook",
        help="Partner Center webhooks",
        description="Partner Center webhook registration (docs/webhooks.md).",
    )
    wsub = w.add_subparsers(dest="webhook_command", required=True, metavar="COMMAND")
    r = wsub.add_parser(
        "register",
        help="register a callback URL with Partner Center",
        description="With --org KEY: register that organization's own callback URL "
        "({PUBLIC_BASE_URL}/partner-center/webhooks/{its token}, see `mcbot webhook show`) "
        "with Partner Center, through that organization's own Partner Center connection "
        "(connected from Slack: Home tab, Connect Partner Center; the legacy settings "
        "PARTNER_TENANT_ID, PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET and "
        "PARTNER_CENTER_REFRESH_TOKEN are the connection of the organization PARTNER_ORG_KEY "
        "names). Stored connections are read with ENCRYPTION_KEYS. An organization without a "
        "working connection gets the URL and events to register by hand in its Partner "
        "Center, exit 3; once done, record it with --registered-by-hand. With URL instead of "
        "--org: register that URL as before (the legacy single-partner form).",
        epilog="Exit codes: 0 registered (or recorded); 1 the database or Partner Center "
        "failed; 2 bad input or not configured; 3 nothing registered: register by hand.",
    )
    r.add_argument(
        "url", nargs="?", help="legacy form: e.g. https://bot.example.com/partner-center/webhooks"
    )
    r.add_argument("--org", metavar="KEY", help="the organization (mcbot partners list)")
    r.add_argument(
        "--base-url",
        metavar="URL",
        help="the https origin Partner Center reaches (default: $PUBLIC_BASE_URL)",
    )
    r.add_argument(
        "--registered-by-hand",
        action="store_true",
        help="with --org: record that you registered the organization's URL yourself; no call",
    )
    r.add_argument("--database-url", metavar="URL", help="default: $DATABASE_URL")
    r.set_defaults(func=_register)
    s_ = wsub.add_parser(
        "show",
        help="print an organization's callback URL and its state",
        description="Print the organization's own webhook URL "
        "({PUBLIC_BASE_URL}/partner-center/webhooks/{its token}) and whether it is registered. "
        "The URL's token is a secret: share it only with that organization's Partner Center.",
    )
    s_.add_argument("--org", metavar="KEY", required=True, help="the organization")
    s_.add_argument(
        "--base-url",
        metavar="URL",
        help="the https origin Partner Center reaches (default: $PUBLIC_BASE_URL)",
    )
    s_.add_argument("--database-url", metavar="URL", help="default: $DATABASE_URL")
    s_.set_defaults(func=_show)


# ------------------------------------------------------------------------------ outbox
def _outbox(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.outbox import queue
    from bot.core.settings import DatabaseSettings
    from bot.core.store import db
    from bot.core.store.clock import utc_now
    from bot.core.store.errors import SetupError
    from bot.core.store.models import InboxEvent, JobStatus, OutboxMessage

    url = args.database_url or DatabaseSettings().database_url
    model: queue.JobModel = InboxEvent if args.events else OutboxMessage
    engine = None
    try:
        db.check_schema(url)
        engine = db.make_engine(url)
        factory = db.make_session_factory(engine)
        if args.retry:
            with factory.begin() as session:
                requeued = queue.retry(session, model, args.retry, now=utc_now())
            refused = sorted(set(args.retry) - set(requeued))
            sys.stdout.write(
                render_text("text/outbox.txt.j2", what="retry", requeued=requeued, refused=refused)
            )
            return EXIT_BAD_INPUT if refused else EXIT_OK
        statuses = [JobStatus.parked] if args.parked else [JobStatus.pending, JobStatus.parked]
        with factory() as session:
            counts = {
                "outbox": queue.counts(session, OutboxMessage),
                "inbox": queue.counts(session, InboxEvent),
            }
            rows = queue.list_jobs(session, model, statuses=statuses, limit=max(1, args.limit))
            table = _table(rows, events=args.events)
    except (SetupError, SQLAlchemyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        sys.stderr.write(f"error: {first}\n")
        return EXIT_FAILED
    finally:
        if engine is not None:
            engine.dispose()
    sys.stdout.write(
        render_text(
            "text/outbox.txt.j2",
            what="list",
            counts=counts,
            rows=rows,
            table_text=table,
            parked_only=args.parked,
            limit=max(1, args.limit),
        )
    )
    return EXIT_OK


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"


def _table(rows: list[Any], *, events: bool) -> str:
    header: tuple[str, ...]
    cells: list[tuple[str, ...]]
    if events:
        header = ("ID", "STATUS", "EVENT", "RESOURCE", "TRIES", "NEXT TRY (UTC)", "LAST ERROR")
        cells = [
            (
                str(r.id),
                r.status.value,
                r.event_name,
                r.relationship_id or r.customer_id or "-",
                str(r.attempts),
                _when(r.available_at),
                (r.last_error or "-")[:80],
            )
            for r in rows
        ]
    else:
        header = ("ID", "STATUS", "EFFECT", "CHANNEL", "TRIES", "429S", "NEXT TRY (UTC)", "ERROR")
        cells = [
            (
                str(r.id),
                r.status.value,
                r.effect.value,
                r.channel,
                str(r.attempts),
                str(r.ratelimited),
                _when(r.available_at),
                (r.last_error or "-")[:80],
            )
            for r in rows
        ]
    table = [header, *cells]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


# ------------------------------------------------------------------------------ webhook
REQUIRED = {
    "partner_tenant_id": "PARTNER_TENANT_ID",
    "partner_center_client_id": "PARTNER_CENTER_CLIENT_ID",
    "partner_center_client_secret": "PARTNER_CENTER_CLIENT_SECRET",
    "partner_center_refresh_token": "PARTNER_CENTER_REFRESH_TOKEN",
}


def _register(args: argparse.Namespace) -> int:
    from bot.bootstrap.serve import settings_or_exit
    from bot.core.partner_center.events import SUBSCRIBED_EVENTS
    from bot.core.partner_center.settings import PartnerCenterSettings

    settings = settings_or_exit(PartnerCenterSettings)
    events = list(SUBSCRIBED_EVENTS)
    if (args.org is None) == (args.url is None):
        sys.stderr.write(render_text("text/webhook.txt.j2", what="org_or_url"))
        return EXIT_BAD_INPUT
    if args.org is not None:
        return _register_org(args, settings, events)
    if args.registered_by_hand:
        sys.stderr.write(render_text("text/webhook.txt.j2", what="org_or_url"))
        return EXIT_BAD_INPUT
    if not settings.configured:
        missing = [env for name, env in REQUIRED.items() if not _present(getattr(settings, name))]
        sys.stderr.write(
            render_text(
                "text/webhook.txt.j2", what="not_configured", missing=missing, events=events
            )
        )
        return EXIT_BAD_INPUT
    return asyncio.run(_register_with(settings, args.url, events))


class _Target:
    """An organization's webhook facts, read from the database."""

    def __init__(
        self, key: str, url: str, connected: bool, state: str, org_id: int, base: str
    ) -> None:
        self.key, self.url, self.connected, self.state = key, url, connected, state
        self.org_id, self.base = org_id, base


def _target(args: argparse.Namespace, settings: Any) -> _Target | int:
    """The organization's URL (or an exit code, its message written)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.outbox.routing import org_webhook_url, webhook_state
    from bot.core.settings import BotSettings, DatabaseSettings
    from bot.core.store import db
    from bot.core.store.directory import org_by_key, self_org_id
    from bot.core.store.errors import SetupError
    from bot.core.store.secrets import TokenUnreadable, unseal

    base = args.base_url or settings.public_base_url
    if not base or not base.startswith("https://"):
        sys.stderr.write(render_text("text/webhook.txt.j2", what="no_base_url", base=base or ""))
        return EXIT_BAD_INPUT
    key = BotSettings().partner_org_key or None
    cipher = keys_or_exit()  # the token is stored encrypted (docs/secrets.md)
    url = args.database_url or DatabaseSettings().database_url
    engine = None
    try:
        db.check_schema(url)
        engine = db.make_engine(url)
        with db.make_session_factory(engine)() as session:
            org = org_by_key(session, args.org)
            if org is None or not org.webhook_token:
                sys.stderr.write(
                    render_text("text/webhook.txt.j2", what="unknown_org", key=args.org)
                )
                return EXIT_BAD_INPUT
            legacy = self_org_id(session, key)
            try:
                token = unseal(cipher, org.webhook_token)
            except TokenUnreadable:
                sys.stderr.write(
                    render_text("text/webhook.txt.j2", what="token_unreadable", key=org.key)
                )
                return EXIT_FAILED
            return _Target(
                org.key,
                org_webhook_url(base, token),
                org.id == legacy,
                webhook_state(org, legacy).value,
                org.id,
                base,
            )
    except (SetupError, SQLAlchemyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        sys.stderr.write(f"error: {first}\n")
        return EXIT_FAILED
    finally:
        if engine is not None:
            engine.dispose()


def _record(args: argparse.Namespace, key: str, webhook_url: str) -> None:
    from sqlalchemy import update

    from bot.core.settings import DatabaseSettings
    from bot.core.store import db
    from bot.core.store.clock import utc_now
    from bot.core.store.models import Organization

    url = args.database_url or DatabaseSettings().database_url
    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine).begin() as session:
            session.execute(
                update(Organization)
                .where(Organization.key == key)
                .values(webhook_registered_url=webhook_url, webhook_registered_at=utc_now())
            )
    finally:
        engine.dispose()


def _show(args: argparse.Namespace) -> int:
    from bot.bootstrap.serve import settings_or_exit
    from bot.core.partner_center.settings import PartnerCenterSettings

    target = _target(args, settings_or_exit(PartnerCenterSettings))
    if isinstance(target, int):
        return target
    sys.stdout.write(
        render_text(
            "text/webhook.txt.j2",
            what="show",
            key=target.key,
            url=target.url,
            state=target.state,
            connected=target.connected,
        )
    )
    return EXIT_OK


def _register_org(args: argparse.Namespace, settings: Any, events: list[str]) -> int:
    target = _target(args, settings)
    if isinstance(target, int):
        return target
    if args.registered_by_hand:
        _record(args, target.key, target.url)
        sys.stdout.write(
            render_text("text/webhook.txt.j2", what="recorded", key=target.key, url=target.url)
        )
        return EXIT_OK
    return asyncio.run(_through_connection(args, settings, target, events))


async def _through_connection(
    args: argparse.Namespace, settings: Any, target: _Target, events: list[str]
) -> int:
    """Through the organization's own connection (bot/core/connections.py), as the Home
    tab's Register webhook button does."""
    import httpx

    from bot.cli.secrets import keys_or_code
    from bot.core.connections import legacy_tokens
    from bot.core.outbox.options import NotifyOptions
    from bot.core.partner_center.client import PartnerCenterClient
    from bot.core.partner_center.errors import InvalidRequest, PartnerCenterError
    from bot.core.services import Services
    from bot.core.settings import BotSettings, DatabaseSettings
    from bot.core.webhook_registration import register_org_webhook

    cipher = keys_or_code()  # None without ENCRYPTION_KEYS: only the legacy settings work
    if isinstance(cipher, int):
        return cipher  # malformed: said on stderr
    url = args.database_url or DatabaseSettings().database_url
    services = Services.from_url(
        url, migrate=False, partner_center_settings=settings, cipher=cipher
    )
    services.notify = NotifyOptions(partner_org_key=BotSettings().partner_org_key or None)
    async with httpx.AsyncClient() as http:
        if target.connected and settings.configured:
            tokens = legacy_tokens(services, settings, http)
            services.partner_center = PartnerCenterClient(settings, http, tokens=tokens)
        try:
            done = await register_org_webhook(services, target.org_id, target.base)
        except InvalidRequest as exc:
            text = render_text(
                "text/webhook.txt.j2", what="invalid", url=target.url, reason=exc.reason
            )
            sys.stderr.write(text)
            return EXIT_BAD_INPUT
        except PartnerCenterError as exc:
            sys.stderr.write(render_text("text/webhook.txt.j2", what="refused", reason=str(exc)))
            return EXIT_FAILED
        finally:
            resolver = services.connections
            if resolver is not None and resolver.http is not None:
                await resolver.http.aclose()
            services.sessions.kw["bind"].dispose()
    if done.outcome == "no_connection":
        sys.stdout.write(
            render_text(
                "text/webhook.txt.j2",
                what="by_hand",
                key=target.key,
                url=target.url,
                events=events,
            )
        )
        return EXIT_BY_HAND
    sys.stdout.write(
        render_text("text/webhook.txt.j2", what="registered", url=done.url, events=events)
    )
    return EXIT_OK


async def _register_with(settings: Any, url: str, events: list[str]) -> int:
    import httpx

    from bot.core.partner_center.client import PartnerCenterClient
    from bot.core.partner_center.errors import InvalidRequest, PartnerCenterError

    async with httpx.AsyncClient() as http:
        client = PartnerCenterClient(settings, http)
        try:
            await client.register_webhook(url, events)
        except InvalidRequest as exc:
            text = render_text("text/webhook.txt.j2", what="invalid", url=url, reason=exc.reason)
            sys.stderr.write(text)
            return EXIT_BAD_INPUT
        except PartnerCenterError as exc:
            sys.stderr.write(render_text("text/webhook.txt.j2", what="refused", reason=str(exc)))
            return EXIT_FAILED
    sys.stdout.write(render_text("text/webhook.txt.j2", what="registered", url=url, events=events))
    return EXIT_OK


def _present(value: Any) -> bool:
    if value is None:
        return False
    secret = getattr(value, "get_secret_value", None)
    return bool(secret() if secret is not None else value)
