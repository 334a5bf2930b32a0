"""The `mcbot db|partners|invitations` commands, run in-process through their parsers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.store import register
from bot.core.store import db
from bot.core.store.directory import org_by_key
from bot.core.store.invitations import create_invitation
from bot.core.store.models import DirectoryAction, DirectoryEvent, LinkSource
from bot.core.store.testing import Database

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "partners.example.yaml"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mcbot")
    register(root.add_subparsers(dest="command", required=True))
    return root


def mcbot(*argv: str) -> int:
    args = parser().parse_args(argv)
    code = args.func(args)
    assert isinstance(code, int)
    return code


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'mc.sqlite3'}"


def test_db_upgrade_and_current(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert mcbot("db", "current", "--database-url", sqlite_url) == 0
    assert "none (empty database)" in capsys.readouterr().out
    assert mcbot("db", "upgrade", "--database-url", sqlite_url) == 0
    assert capsys.readouterr().out == f"Database at revision {db.head_revision()}.\n"
    assert mcbot("db", "current", "--database-url", sqlite_url) == 0
    out = capsys.readouterr().out
    assert f"revision: {db.head_revision()}" in out and "upgrade" not in out


def test_database_url_comes_from_the_environment(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert mcbot("db", "upgrade") == 0
    assert db.current_revision(sqlite_url) == db.head_revision()


def test_partners_import_list_and_export(
    store: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ("--database-url", store.url)
    assert mcbot("partners", "list", *url) == 0
    assert "No organizations yet" in capsys.readouterr().out
    assert mcbot("partners", "import", str(EXAMPLE), *url) == 0
    assert "5 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert mcbot("partners", "import", str(EXAMPLE), *url) == 0
    assert "0 created, 0 updated, 5 unchanged" in capsys.readouterr().out
    with store.factory() as session:  # the directory's audit trail: one row per creation
        trail = session.execute(select(DirectoryEvent.action, DirectoryEvent.source)).all()
        assert sorted(trail) == [(DirectoryAction.create, "import")] * 5

    assert mcbot("partners", "list", *url) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["KEY", "ROLE", "NAME"]
    fabrikam = next(line for line in lines if line.startswith("fabrikam "))
    assert "indirect_reseller" in fabrikam and "contoso-dist,northwind-dist" in fabrikam
    assert len(lines) == 6

    with store.factory.begin() as session:
        contoso = org_by_key(session, "contoso-dist")
        assert contoso is not None
        create_invitation(
            session, provider=contoso, customer_name="Litware", link="https://x.example/i",
            link_source=LinkSource.api, created_by_user="U1", created_by_team="T0PROVIDER",
        )  # fmt: skip
    out_file = tmp_path / "audit.json"
    assert mcbot("invitations", "export", "--format", "json", "--output", str(out_file), *url) == 0
    assert str(out_file) in capsys.readouterr().err
    exported = json.loads(out_file.read_text(encoding="utf-8"))
    assert [record["customer_name"] for record in exported["invitations"]] == ["Litware"]

    assert mcbot("invitations", "export", "--format", "csv", "--org", "fabrikam", *url) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("ref,provider,reseller,")
    assert mcbot("invitations", "export", "--format", "csv", "--org", "contoso-dist", *url) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2  # header and one audit event


@pytest.fixture
def migrated(sqlite_url: str) -> str:
    db.upgrade(sqlite_url)
    return sqlite_url


def _fails(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 2) -> str:
    assert mcbot(*argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err
    return captured.err


def test_missing_file(migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, "partners", "import", str(tmp_path / "nope.yaml"),
                 "--database-url", migrated)  # fmt: skip
    assert "nope.yaml" in err and "no such file" in err


def test_invalid_yaml(migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("organizations:\n  - key: [unclosed\n", encoding="utf-8")
    err = _fails(capsys, "partners", "import", str(bad), "--database-url", migrated)
    assert "not valid YAML" in err


def test_invalid_directory_names_org_and_field(
    migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    bad = tmp_path / "partners.yaml"
    bad.write_text(
        text.replace("9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d", "not-a-guid").replace(
            "notification_channel: C0ADATUMNOT", "notification_channel: '#general'"
        ),
        encoding="utf-8",
    )
    err = _fails(capsys, "partners", "import", str(bad), "--database-url", migrated)
    assert "2 problem(s)" in err
    assert "fabrikam: tenant_id: 'not-a-guid' is not a tenant GUID" in err
    assert "adatum: notification_channel: '#general' is not a Slack channel id" in err
    assert mcbot("partners", "list", "--database-url", migrated) == 0
    assert "No organizations yet" in capsys.readouterr().out  # nothing imported


def test_unknown_org_for_export(migrated: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, "invitations", "export", "--format", "csv", "--org", "wingtip",
                 "--database-url", migrated)  # fmt: skip
    assert "wingtip" in err and "mcbot partners list" in err


def test_unwritable_output(
    migrated: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "out.csv"
    err = _fails(capsys, "invitations", "export", "--format", "csv", "--output", str(target),
                 "--database-url", migrated)  # fmt: skip
    assert "cannot write" in err and "out.csv" in err


def test_partners_import_migrates_a_fresh_database(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README loads the directory first: on a fresh database `partners import` migrates
    it (as `mcbot serve` does) instead of failing."""
    assert db.current_revision(sqlite_url) is None
    assert mcbot("partners", "import", str(EXAMPLE), "--database-url", sqlite_url) == 0
    assert db.current_revision(sqlite_url) == db.head_revision()
    assert "created" in capsys.readouterr().out
    assert mcbot("partners", "list", "--database-url", sqlite_url) == 0
    assert "contoso" in capsys.readouterr().out


def test_database_not_migrated(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, "partners", "list", "--database-url", sqlite_url, code=1)
    assert "run: mcbot db upgrade" in err


def test_database_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, "db", "upgrade", "--database-url",
                 "postgresql://postgres@127.0.0.1:1/nowhere", code=1)  # fmt: skip
    assert "the database failed" in err and "DATABASE_URL" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["db", "--help"], "create or update the database schema"),
        (["db", "upgrade", "--help"], "--revision"),
        (["db", "current", "--help"], "--database-url"),
        (["partners", "--help"], "partner directory"),
        (["partners", "import", "--help"], "FILE.yaml"),
        (["partners", "list", "--help"], "list the organizations"),
        (["invitations", "--help"], "audit trail"),
        (["invitations", "export", "--help"], "--format {csv,json}"),
    ],
)
def test_every_command_has_help(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    assert exited.value.code == 0
    assert expected in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["invitations", "export"], ["invitations", "export", "--format", "xml"]):
        with pytest.raises(SystemExit) as exited:
            parser().parse_args(argv)
        assert exited.value.code == 2
    assert "--format" in capsys.readouterr().err
