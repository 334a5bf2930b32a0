"""`mcbot outbox` and `mcbot webhook register`: plain messages, exit codes, no tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.cli.main import main
from bot.core.outbox import queue
from bot.core.partner_center.events import SUBSCRIBED_EVENTS, parse_event
from bot.core.store import db
from bot.core.store.clock import utc_now
from bot.core.store.models import OutboxEffect
from bot.testkit.harness import ServerThread

TENANT = "11111111-2222-3333-4444-555555555555"
CREDENTIALS = (
    "PARTNER_TENANT_ID",
    "PARTNER_CENTER_CLIENT_ID",
    "PARTNER_CENTER_CLIENT_SECRET",
    "PARTNER_CENTER_REFRESH_TOKEN",
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_outbox_lists_counts_rows_and_events(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "outbox", "--database-url", database_url)
    assert code == 0 and "0 pending, 0 parked, 0 done" in out and "Nothing is waiting." in out
    engine = db.make_engine(database_url)
    body = json.dumps(
        {
            "EventName": "granular-admin-relationship-approved",
            "ResourceUri": "/v1/granularAdminRelationships/rel-1",
        }
    ).encode()
    with db.make_session_factory(engine).begin() as session:
        effect = queue.Effect("k1", OutboxEffect.dm, "U0SOMEONE1", {"message": {}})
        queue.enqueue(session, [effect], now=utc_now())
        queue.record_event(session, parse_event(body), now=utc_now())
    engine.dispose()
    code, out, _ = run(capsys, "outbox", "--database-url", database_url)
    assert code == 0 and "1 pending, 0 parked, 0 done" in out
    assert "U0SOMEONE1" in out and "dm" in out
    code, out, _ = run(capsys, "outbox", "--database-url", database_url, "--events")
    assert code == 0 and "granular-admin-relationship-approved" in out and "rel-1" in out
    code, out, _ = run(capsys, "outbox", "--database-url", database_url, "--parked")
    assert code == 0 and "Nothing is parked." in out


def test_outbox_on_a_database_not_migrated_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "outbox", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert code == 1 and "mcbot db upgrade" in err and "Traceback" not in err


def test_register_without_credentials_lists_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "webhook", "register", "https://bot.example/partner-center/webhooks")
    assert code == 2
    assert all(name in err for name in CREDENTIALS)
    assert all(event in err for event in SUBSCRIBED_EVENTS)


class PartnerCenter:
    """Token endpoint and webhook registration, on loopback."""

    def __init__(self) -> None:
        self.registrations: list[tuple[str, Any]] = []
        self.already = False

        async def token(request: Request) -> JSONResponse:
            return JSONResponse({"access_token": "token-1", "expires_in": 3600})

        async def registration(request: Request) -> JSONResponse:
            body = json.loads(await request.body())
            self.registrations.append((request.method, body))
            if request.method == "POST" and self.already:
                return JSONResponse({"code": 409, "description": "already registered"}, 409)
            return JSONResponse(body)

        app = Starlette(
            routes=[
                Route(f"/{TENANT}/oauth2/v2.0/token", token, methods=["POST"]),
                Route("/pc/webhooks/v1/registration", registration, methods=["POST", "PUT"]),
            ]
        )
        self.server = ServerThread(app)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
def partner_center(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[PartnerCenter]:
    standin = PartnerCenter()
    standin.server.start()
    monkeypatch.chdir(tmp_path)
    env = {
        "PARTNER_CENTER_API_URL": f"{standin.origin}/pc",
        "AZURE_AD_TOKEN_URL": f"{standin.origin}/{{tenant}}/oauth2/v2.0/token",
        "PARTNER_TENANT_ID": TENANT,
        "PARTNER_CENTER_CLIENT_ID": "client",
        "PARTNER_CENTER_CLIENT_SECRET": "secret",
        "PARTNER_CENTER_REFRESH_TOKEN": "refresh",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield standin
    standin.server.stop()


def test_register_sends_every_event_and_updates_an_existing_registration(
    partner_center: PartnerCenter, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://bot.example/partner-center/webhooks"
    code, out, _ = run(capsys, "webhook", "register", url)
    assert code == 0 and url in out
    ((method, body),) = partner_center.registrations
    assert method == "POST"
    assert body == {"WebhookUrl": url, "WebhookEvents": list(SUBSCRIBED_EVENTS)}
    partner_center.already = True
    code, _, _ = run(capsys, "webhook", "register", url)
    assert code == 0 and [m for m, _ in partner_center.registrations] == ["POST", "POST", "PUT"]


def test_register_refuses_a_plain_http_url(
    partner_center: PartnerCenter, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "webhook", "register", "http://bot.example/partner-center/webhooks")
    assert code == 2 and "https" in err and partner_center.registrations == []
