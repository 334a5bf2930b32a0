"""`mcbot serve`: the bot over HTTP (uvicorn) or Socket Mode."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.core.ui.render import render_text

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A start-up failure the operator must fix: printed as one line naming the setting and
    what to do (templates/text/startup_error.txt.j2, `code` and its parameters), exit status 2,
    no traceback."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def settings_or_exit(cls: type[BaseModel], **overrides: Any) -> Any:
    """Load a settings class; on missing or malformed variables print each one with where to
    find it, and exit 2."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            field = cls.model_fields.get(name)
            problems.append(
                {
                    "variable": name.upper(),
                    "missing": err["type"] == "missing",
                    "message": err["msg"],
                    "where": field.description if field is not None else "",
                }
            )
        sys.stderr.write(render_text("text/settings_error.txt.j2", problems=problems))
        raise SystemExit(2) from None


def _shown_url(database_url: str) -> str:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def open_database(database_url: str, **kwargs: Any) -> Any:
    """Services on the database (migrated, under a lock: replicas may start together); a
    database that cannot be opened or migrated is a StartupError naming DATABASE_URL."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.services import Services
    from bot.core.store.errors import StoreError

    try:
        return Services.from_url(database_url, **kwargs)
    except (SQLAlchemyError, StoreError, OSError, ImportError) as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise StartupError("database", url=_shown_url(database_url), reason=reason) from None


def check_slack_token(slack: Any) -> Any:
    """`auth.test` with SLACK_BOT_TOKEN at start-up: a refused token is a StartupError; Slack
    unreachable is a warning (/readyz then says not ready until auth.test succeeds)."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.core.readiness import check_token

    client = AsyncWebClient(
        token=slack.slack_bot_token.get_secret_value(), base_url=slack.slack_api_url, timeout=10
    )
    check = asyncio.run(check_token(client, timeout=15))
    if check.refused:
        raise StartupError("token", problem=check.problem, fix=check.fix)
    if not check.ok:
        log.warning(
            "SLACK_BOT_TOKEN not checked: %s; starting anyway, /readyz says not ready until "
            "auth.test succeeds (%s)",
            check.problem,
            check.fix,
        )
    return check


def mode_problems_or_exit(slack: Any) -> bool:
    """Print what is missing for single-workspace or distributed mode (and a malformed
    ENCRYPTION_KEYS), as settings errors; True when there was something."""
    from bot.core.settings import SlackSettings
    from bot.core.store.secrets import EncryptionKeyError

    problems = [
        {
            "variable": variable,
            "missing": False,
            "message": message,
            "where": SlackSettings.model_fields[variable.lower()].description,
        }
        for variable, message in slack.mode_problems()
    ]
    if not problems:
        try:
            slack.cipher()  # distributed mode needs it; any mode uses it when it is set
        except EncryptionKeyError as exc:
            problems.append(
                {
                    "variable": "ENCRYPTION_KEYS",
                    "missing": False,
                    "message": str(exc),
                    "where": SlackSettings.model_fields["encryption_keys"].description,
                }
            )
    if problems:
        sys.stderr.write(render_text("text/settings_error.txt.j2", problems=problems))
    return bool(problems)


def build_services(database_url: str) -> Any:
    """Services from the environment: the database (migrated), the invitation expiry, the
    cipher of ENCRYPTION_KEYS (checked by `mode_problems_or_exit`) and Partner Center's
    settings (its clients are built by bot/bootstrap/notify.py and bot/core/connections.py)."""
    from datetime import timedelta

    from bot.core.partner_center.settings import PartnerCenterSettings
    from bot.core.settings import BotSettings, EncryptionSettings, PolicySettings

    bot_settings = settings_or_exit(BotSettings)
    policy_settings = settings_or_exit(PolicySettings)
    pc_settings = settings_or_exit(PartnerCenterSettings)
    return open_database(
        database_url,
        partner_center_settings=pc_settings,
        invitation_expiry=timedelta(days=bot_settings.invitation_expiry_days),
        policy_edition=policy_settings.policy_edition,
        cipher=settings_or_exit(EncryptionSettings).cipher(),
    )


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
MALLOC_ARENAS = 2


def share_malloc_arenas() -> None:
    """Have the server's threads share MALLOC_ARENAS malloc arenas. glibc gives each thread
    that allocates an arena of its own (up to 8 per core), each keeping memory it freed: with
    the event loop, the worker threads of `Services.run` and the decision log's thread, ~2 MB
    more peak memory under load (docs/architecture.md, "Start-up"). Python's small objects
    come from its own allocator under the GIL, so the threads hardly contend for the arenas'
    locks. Called before any thread starts; nothing happens off Linux/glibc, or when
    MALLOC_ARENA_MAX is set (the operator's choice wins)."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(M_ARENA_MAX, MALLOC_ARENAS)


GC_THRESHOLDS = gc.get_threshold()  # the collector's own (700, 10, 10 on CPython 3.11)
NO_FULL_COLLECTION = 1_000_000  # young collections between two full ones, while starting


def collect_no_garbage_while_starting() -> None:
    """No full collection while the server imports and builds itself (`serving_from_now`
    restores the thresholds). The start imports ~1,000 modules; as their objects accumulate,
    full collections walked all of them again and again (about 60 ms of the start). Young
    collections still run: the garbage the imports leave behind is freed as it goes (with the
    collector off altogether, peak memory grew by ~0.5 MB)."""
    gc.set_threshold(GC_THRESHOLDS[0], GC_THRESHOLDS[1], NO_FULL_COLLECTION)


def serving_from_now() -> None:
    """What was built so far lives as long as the process: freeze it, so that the collector's
    full collections never walk it again (under load they are rare anyway: a run of 20,000
    commands triggered about 30 young collections and no full one), and collect as usual
    what requests leave behind. (A full collection before freezing cost 70 ms, for a few
    dozen objects.)"""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _serve(args: argparse.Namespace) -> int:
    collect_no_garbage_while_starting()
    share_malloc_arenas()
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return _start(args)
    except StartupError as exc:
        line = render_text("text/startup_error.txt.j2", code=exc.code, p=exc.params)
        sys.stderr.write(line.strip() + "\n")
        return 2
    finally:
        gc.set_threshold(*GC_THRESHOLDS)  # a start that failed (or a caller in the process)


def _start(args: argparse.Namespace) -> int:
    from bot.core.settings import DatabaseSettings, SlackSettings
    from bot.slack.app import build_app

    slack = settings_or_exit(SlackSettings)
    database = settings_or_exit(DatabaseSettings)
    if args.socket_mode and slack.slack_app_token is None:
        sys.stderr.write(
            render_text(
                "text/settings_error.txt.j2",
                problems=[
                    {
                        "variable": "SLACK_APP_TOKEN",
                        "missing": True,
                        "message": "",
                        "where": SlackSettings.model_fields["slack_app_token"].description,
                    }
                ],
            )
        )
        return 2
    if mode_problems_or_exit(slack):
        return 2
    services = build_services(database.database_url)
    token = None if slack.distributed else check_slack_token(slack)
    app = build_app(slack, services)
    from bot.bootstrap.notify import notifications
    from bot.core.settings import BotSettings

    webhooks, background = notifications(
        services,
        slack_token=None if slack.distributed else slack.slack_bot_token.get_secret_value(),
        slack_api_url=slack.slack_api_url,
        bot_settings=settings_or_exit(BotSettings),
        worker=False if args.no_outbox_worker else None,
    )
    from bot.core.invitations import Maintenance

    background.append(
        Maintenance(
            services, app.client, settings_or_exit(BotSettings).maintenance_interval_seconds
        )
    )

    if args.socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, slack.slack_app_token.get_secret_value())

        async def socket_mode() -> None:
            for job in background:  # the outbox worker runs in Socket Mode too
                await job.start()
            try:
                await handler.start_async()
            finally:
                for job in reversed(background):
                    await job.stop()
                await services.drain()

        serving_from_now()
        asyncio.run(socket_mode())
        return 0

    import uvicorn

    from bot.core.readiness import Readiness, check_database
    from bot.http.asgi import build_web_app

    readiness = Readiness(
        services.sessions.kw["bind"],
        None if slack.distributed else app.client,
        installations=slack.distributed,
    )
    if token is not None:
        readiness.record_token(token)
    database_check = check_database(readiness.engine)
    if not database_check.ok:
        log.warning(
            "%s; starting anyway, /readyz says not ready until it accepts writes (%s)",
            database_check.problem,
            database_check.fix,
        )
    web = build_web_app(
        app,
        services,
        signing_secret=slack.slack_signing_secret.get_secret_value(),
        webhooks=webhooks,
        background=background,
        readiness=readiness,
    )
    serving_from_now()
    uvicorn.run(
        web,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        loop="asyncio",
        # No WebSocket route is served (Socket Mode is a client): uvicorn's default ("auto")
        # would import the websockets package at start (~0.6 MB, 20 modules) for nothing.
        ws="none",
    )
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the Slack bot (HTTP or Socket Mode)",
        description="Run the Slack bot. HTTP mode serves POST /slack/events, "
        "POST /partner-center/webhooks, GET /healthz (liveness) and GET /readyz (readiness) on "
        "uvicorn, and runs the notification "
        "worker (docs/webhooks.md); --socket-mode connects to Slack instead (development: no "
        "public URL needed). "
        "Settings come from the environment or a .env file: SLACK_SIGNING_SECRET, and "
        "SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID + SLACK_CLIENT_SECRET + "
        "ENCRYPTION_KEYS (distributed: each workspace installs the app at GET /slack/install, "
        "GET /slack/oauth_redirect), SLACK_APP_TOKEN (Socket Mode), SLACK_API_URL, "
        "DATABASE_URL (see docs/settings.md). The database is migrated at start (under a "
        "lock: replicas may start together) and a single workspace's bot token is checked with "
        "auth.test; a start-up failure is one "
        "line naming the setting to fix, exit status 2.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    p.add_argument("--socket-mode", action="store_true", help="use Socket Mode instead of HTTP")
    p.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level (default info)",
    )
    p.add_argument("--access-log", action="store_true", help="log every HTTP request")
    p.add_argument(
        "--no-outbox-worker",
        action="store_true",
        help="do not send notifications from this process (another one does; OUTBOX_WORKER)",
    )
    p.set_defaults(func=_serve)
