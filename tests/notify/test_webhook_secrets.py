"""Secrets end to end (docs/secrets.md), on SQLite and PostgreSQL: signed deliveries still reach
the organization whose URL they were sent to after its token is encrypted and after a key
rotation; `mcbot secrets reencrypt|status` (and the `mcbot installations reencrypt` alias) print
counts, never a value; planted secret values (Slack tokens and secrets, Partner Center client
secret and refresh token, webhook URL tokens, ENCRYPTION_KEYS, the database password) appear in
no log line, no `mcbot` output (but `mcbot webhook show`'s, the organization's own URL by
design), no export and no /readyz answer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, make_url, select

from bot.core.outbox.routing import org_webhook_path
from bot.core.store.models import Organization
from bot.core.store.secrets import PREFIX, TokenCipher, reencrypt_all
from bot.testkit import notify as tk
from bot.testkit.harness import BOT_TOKEN, ENCRYPTION_KEY, SIGNING_SECRET, BotHarness
from bot.testkit.partner_center import GraphStandIn

from .helpers import fast_settings
from .test_notify_per_org import A, B, event_orgs
from .test_webhook_org_cli import BASE, DIRECTORY, partner_center, run

__all__ = ["partner_center"]  # the fixture, used here too

NEW_KEY = Fernet.generate_key().decode()


def _stored_tokens(bot: BotHarness) -> dict[str, str]:
    with bot.services.sessions() as session:
        rows = session.execute(select(Organization.key, Organization.webhook_token)).all()
    return {key: token for key, token in rows}


def test_deliveries_reach_their_organization_after_encryption_and_a_key_rotation(
    make_bot: Callable[..., BotHarness], database_url: str
) -> None:
    bot = make_bot(database_url=database_url, settings=fast_settings(partner_org_key=A))
    a, b = tk.seed(bot.services.sessions, bot.slack, orgs=2, per_org=1)
    plain = _stored_tokens(bot)  # seeded without a cipher: plaintext, as before revision 0012
    assert not any(token.startswith(PREFIX) for token in plain.values())
    engine = bot.services.sessions.kw["bind"]

    reencrypt_all(engine, TokenCipher([ENCRYPTION_KEY]))
    sealed = _stored_tokens(bot)
    assert all(sealed[k].startswith(PREFIX) and plain[k] not in sealed[k] for k in plain)
    first = bot.webhook(tk.acceptance(a.tenant), path=org_webhook_path(plain[A]))
    assert first.status_code == 200 and first.json()["status"] == "accepted"

    reencrypt_all(engine, TokenCipher([NEW_KEY, ENCRYPTION_KEY]))  # rotation
    rotated = _stored_tokens(bot)
    assert all(rotated[k] != sealed[k] for k in plain)
    assert {k: TokenCipher([NEW_KEY]).decrypt(v) for k, v in rotated.items()} == plain
    second = bot.webhook(tk.acceptance(b.tenant), path=org_webhook_path(plain[B]))
    assert second.status_code == 200 and second.json()["status"] == "accepted"
    assert event_orgs(bot) == [A, B]

    # the stored (encrypted) value is not a URL token; an unknown token is not found
    assert bot.webhook(tk.acceptance(a.tenant), path=org_webhook_path("Z" * 32)).status_code == 404
    # an unsigned delivery at a real URL: refused before any SQL statement (the notification
    # worker's own threads, named outbox-*, keep claiming in the background and are not counted)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        if not threading.current_thread().name.startswith("outbox-"):
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        refused = bot.webhook(tk.acceptance(a.tenant), path=org_webhook_path(plain[A]), headers={})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert refused.status_code == 401 and statements == []


PLANTED = {
    "SLACK_BOT_TOKEN": "xoxb-planted-bot-token-0001",
    "SLACK_SIGNING_SECRET": "planted-signing-secret-0002",
    "SLACK_CLIENT_SECRET": "planted-client-secret-0003",
    "PARTNER_CENTER_CLIENT_SECRET": GraphStandIn.CLIENT_SECRET,
    "PARTNER_CENTER_REFRESH_TOKEN": GraphStandIn.REFRESH_TOKEN,
}


def _with_password(database_url: str) -> str:
    """The URL with a planted password (PostgreSQL on 127.0.0.1 trusts, so it still works;
    SQLite ignores it)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    return url.set(password="planted-db-password-0004").render_as_string(hide_password=False)


def test_mcbot_prints_counts_and_never_a_secret(
    partner_center: GraphStandIn,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ENCRYPTION_KEYS", raising=False)
    url = _with_password(database_url)
    printed: list[str] = []

    def mcbot(*argv: str, code: int = 0) -> str:
        got, out, err = run(capsys, *argv, "--database-url", url)
        assert got == code, (argv, out, err)
        printed.append(out + err)
        return out + err

    mcbot("partners", "import", str(DIRECTORY))  # no ENCRYPTION_KEYS: plaintext tokens
    orgs = 5  # docs/partners.example.yaml
    status = mcbot("secrets", "status")
    assert "ENCRYPTION_KEYS is not set" in status
    webhooks = "Partner Center webhook URL tokens: "
    assert f"{webhooks}0 with the first key, 0 with an older key, {orgs} in plaintext" in status
    assert "run `mcbot secrets reencrypt`" in status
    assert "no key to encrypt with" in mcbot("secrets", "reencrypt", code=2)
    monkeypatch.setenv("ENCRYPTION_KEYS", "not-a-key")
    assert "not a Fernet key" in mcbot("secrets", "reencrypt", code=2)
    assert "not a Fernet key" in mcbot("secrets", "status", code=2)

    monkeypatch.setenv("ENCRYPTION_KEYS", ENCRYPTION_KEY)
    done = mcbot("secrets", "reencrypt")
    assert f"Partner Center webhook URL tokens: {orgs} row(s)" in done
    assert "Slack bots (bot tokens): 0 row(s)" in done
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{NEW_KEY},{ENCRYPTION_KEY}")
    assert f"0 with the first key, {orgs} with an older key" in mcbot("secrets", "status")
    alias = mcbot("installations", "reencrypt")  # the alias: the same command, the same text
    assert alias == done
    status = mcbot("secrets", "status")
    assert f"{orgs} with the first key, 0 with an older key, 0 in plaintext" in status
    assert "the keys after it in ENCRYPTION_KEYS can be removed" in status

    # the organization's own URL, by design, and only with a key that reads its token
    shown = mcbot("webhook", "show", "--org", "fabrikam")
    token = shown.split(f"{BASE}/partner-center/webhooks/")[1].split()[0]
    assert len(token) == 32
    printed.pop()  # the one output allowed to hold a webhook token
    monkeypatch.setenv("ENCRYPTION_KEYS", ENCRYPTION_KEY)  # the old key alone: removed too early
    unreadable = mcbot("webhook", "show", "--org", "fabrikam", code=1)
    assert "no key in ENCRYPTION_KEYS decrypts it" in unreadable
    status = mcbot("secrets", "status", code=1)
    assert f"0 with the first key, 0 with an older key, 0 in plaintext, {orgs} unreadable" in status
    assert "put back the key" in status
    assert "Nothing was changed" in mcbot("secrets", "reencrypt", code=1)
    monkeypatch.setenv("ENCRYPTION_KEYS", NEW_KEY)

    mcbot("partners", "list")
    mcbot("db", "current")
    mcbot("installations", "list")
    export = tmp_path / "export.json"
    mcbot("invitations", "export", "--format", "json", "--output", str(export))
    printed.append(export.read_text())
    mcbot("invitations", "export", "--format", "csv")
    mcbot("webhook", "register", "--org", "contoso-dist")  # Partner Center: token, then POST
    assert partner_center.registration is not None
    # a database that refuses: its error never shows the password
    down = "postgresql+psycopg://mc:planted-db-password-0004@127.0.0.1:1/none"
    got, out, err = run(capsys, "secrets", "status", "--database-url", down)
    assert got == 1 and "the database failed" in err
    printed.append(out + err)

    secrets = [*PLANTED.values(), ENCRYPTION_KEY, NEW_KEY, "planted-db-password-0004", token]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        for text in printed:
            assert secret not in text
        assert secret not in logged


def test_readyz_and_logs_hold_no_secret(
    make_bot: Callable[..., BotHarness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = make_bot(settings=fast_settings(partner_org_key=A))
    a, _ = tk.seed(bot.services.sessions, bot.slack, orgs=2, per_org=1)
    token = _stored_tokens(bot)[A]
    bot.webhook(tk.acceptance(a.tenant), path=org_webhook_path(token))
    bot.command("help")
    ready = bot.http.get(f"{bot.url}/readyz")
    assert ready.status_code in (200, 503)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (BOT_TOKEN, SIGNING_SECRET, ENCRYPTION_KEY, token):
        assert secret not in ready.text
        assert secret not in logged


def test_redaction_keeps_uvicorn_access_lines_and_hides_secrets() -> None:
    from uvicorn.logging import AccessFormatter

    from bot.core.redact import install_token_redaction, redact

    install_token_redaction()
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/partner-center/webhooks/{token}", "1.1", 200),
        None,
    )
    line = AccessFormatter("%(message)s", use_colors=False).format(record)
    assert token not in line and "/partner-center/webhooks/[redacted]" in line and "200" in line
    for secret, text in (
        ("s3cr3t-value", "data: client_secret=s3cr3t-value&grant_type=refresh_token"),
        ("0.AAAA-refresh", "{'refresh_token': '0.AAAA-refresh', 'scope': 'x'}"),
        ("eyJhbGciOi.abc.def", "Authorization: Bearer eyJhbGciOi.abc.def"),
        ("pw-123", "cannot connect to postgresql+psycopg://mc:pw-123@db:5432/mc"),
        ("Zm9vYmFy=", "ENCRYPTION_KEYS=Zm9vYmFy="),
        ("xoxp-1-2-3", "user token xoxp-1-2-3 refused"),
        ("M.C5-auth-code", "GET /partner-center/connect/callback?code=M.C5-auth-code&state=x"),
        ("st4te-value", "GET /partner-center/connect/callback?code=x&state=st4te-value"),
        ("1234.5678.abcd", "GET /slack/oauth_redirect?code=1234.5678.abcd&state=y"),
    ):
        assert secret not in redact(text), text
    assert redact("GET /readyz 200") == "GET /readyz 200"
