"""`mcbot webhook show|register --org KEY` and the WEBHOOK column of `mcbot partners list`,
against the strict Partner Center stand-in (bot/testkit/partner_center.py) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.main import main
from bot.core.partner_center.events import SUBSCRIBED_EVENTS
from bot.core.store import db
from bot.core.store.models import Organization
from bot.testkit.partner_center import GraphStandIn

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"
BASE = "https://bot.example.com"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def partner_center(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[GraphStandIn]:
    monkeypatch.chdir(tmp_path)  # no .env
    with GraphStandIn() as server:
        for name, value in server.partner_center_overrides().items():
            monkeypatch.setenv(name.upper(), str(value))
        monkeypatch.setenv("PARTNER_ORG_KEY", "contoso-dist")
        monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
        yield server


def token(database_url: str, key: str) -> str:
    engine = db.make_engine(database_url)
    try:
        with db.make_session_factory(engine)() as session:
            found = session.scalar(
                select(Organization.webhook_token).where(Organization.key == key)
            )
    finally:
        engine.dispose()
    assert found is not None
    return found


def states(capsys: pytest.CaptureFixture[str], database_url: str) -> dict[str, str]:
    code, out, _ = run(capsys, "partners", "list", "--database-url", database_url)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.endswith("WEBHOOK         PARTNER CENTER")
    start, end = header.index("WEBHOOK"), header.index("PARTNER CENTER")
    assert {row[end:].strip() for row in rows} <= {"environment", "not connected"}
    return {row.split()[0]: row[start:end].strip() for row in rows}


def test_register_show_and_the_partners_list_column(
    partner_center: GraphStandIn, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "partners", "import", str(DIRECTORY), "--database-url", database_url)[0] == 0
    before = states(capsys, database_url)
    assert before["contoso-dist"] == "legacy"
    assert before["northwind-dist"] == before["fabrikam"] == "not registered"

    contoso = f"{BASE}/partner-center/webhooks/{token(database_url, 'contoso-dist')}"
    code, out, _ = run(
        capsys, "webhook", "show", "--org", "contoso-dist", "--database-url", database_url
    )
    assert code == 0 and contoso in out and "legacy" in out

    # PARTNER_ORG_KEY's organization: registered through the deployment's credentials
    code, out, err = run(
        capsys, "webhook", "register", "--org", "contoso-dist", "--database-url", database_url
    )
    assert code == 0, err
    assert contoso in out
    assert partner_center.registration is not None
    assert partner_center.registration["WebhookUrl"] == contoso
    assert partner_center.registration["WebhookEvents"] == list(SUBSCRIBED_EVENTS)
    # again: Partner Center refuses a second POST (409); the client updates with PUT
    assert (
        run(capsys, "webhook", "register", "--org", "contoso-dist", "--database-url", database_url)[
            0
        ]
        == 0
    )
    methods = [c.method for c in partner_center.calls if c.path == "/pc/webhooks/v1/registration"]
    assert methods == ["POST", "POST", "PUT"]

    # another organization: never with the deployment's credentials; the URL to register by hand
    northwind = f"{BASE}/partner-center/webhooks/{token(database_url, 'northwind-dist')}"
    code, out, _ = run(
        capsys, "webhook", "register", "--org", "northwind-dist", "--database-url", database_url
    )
    assert code == 3 and northwind in out and "by hand" in out
    assert partner_center.registration["WebhookUrl"] == contoso  # untouched
    code, out, _ = run(
        capsys,
        "webhook",
        "register",
        "--org",
        "northwind-dist",
        "--registered-by-hand",
        "--database-url",
        database_url,
    )
    assert code == 0 and northwind in out

    after = states(capsys, database_url)
    assert after["contoso-dist"] == after["northwind-dist"] == "registered"
    assert after["fabrikam"] == "not registered"


def test_bad_input_is_told_plainly(
    partner_center: GraphStandIn,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(capsys, "partners", "import", str(DIRECTORY), "--database-url", database_url)[0] == 0
    code, _, err = run(capsys, "webhook", "show", "--org", "nobody", "--database-url", database_url)
    assert code == 2 and "nobody" in err and "mcbot partners list" in err
    code, _, err = run(capsys, "webhook", "register", "--database-url", database_url)
    assert code == 2 and "--org" in err
    monkeypatch.delenv("PUBLIC_BASE_URL")
    code, _, err = run(
        capsys, "webhook", "show", "--org", "fabrikam", "--database-url", database_url
    )
    assert code == 2 and "PUBLIC_BASE_URL" in err and "Traceback" not in err
    code, _, err = run(
        capsys,
        "webhook",
        "show",
        "--org",
        "fabrikam",
        "--base-url",
        "http://plain.example",
        "--database-url",
        database_url,
    )
    assert code == 2 and "https" in err
    assert partner_center.calls == []
