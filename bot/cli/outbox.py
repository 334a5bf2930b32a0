"""`mcbot outbox` (what waits, what is parked, queue it again) and `mcbot webhook register`
(register the callback with Partner Center for the events of partner-center.md §5).

Exit codes: 0 done; 1 the database or Partner Center failed; 2 bad input or not configured.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.core.ui.render import render_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
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
        help="register the callback URL with Partner Center",
        description="Register (or update) the Partner Center webhook: URL is where this bot "
        "serves POST /partner-center/webhooks (https). Needs PARTNER_TENANT_ID, "
        "PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET, PARTNER_CENTER_REFRESH_TOKEN.",
    )
    r.add_argument("url", help="e.g. https://bot.example.com/partner-center/webhooks")
    r.set_defaults(func=_register)


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
    if not settings.configured:
        missing = [env for name, env in REQUIRED.items() if not _present(getattr(settings, name))]
        sys.stderr.write(
            render_text(
                "text/webhook.txt.j2", what="not_configured", missing=missing, events=events
            )
        )
        return EXIT_BAD_INPUT
    return asyncio.run(_register_with(settings, args.url, events))


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
