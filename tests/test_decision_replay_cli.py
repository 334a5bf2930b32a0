"""`mcbot decision show ID`: every decision `mcbot assess` prints is logged (the embedded SQLite
default, created on first use) and can be replayed: who asked, when, the facts, the answer under
its edition, and what today's default edition answers instead."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from bot.cli.main import main

ID = re.compile(r"Decision ([0-9a-f-]{36}) ·")


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "replay.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("POLICY_EDITION", raising=False)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def assess(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code, out, err = run(
        capsys, "assess", "--role", "direct", "--subscription", "ea:license", *extra
    )
    assert code == 0 and err == ""
    found = ID.search(out)
    assert found, out
    return found.group(1)


def test_a_printed_decision_is_logged_and_replayed(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    decision_id = assess(capsys, "--edition", "2017-03")
    assert database.exists()  # created on first use
    code, out, err = run(capsys, "decision", "show", decision_id.upper())  # case ignored
    assert code == 0, err
    assert out.startswith(f"Decision {decision_id}\n")
    assert "on the command line" in out
    assert "Policy edition: 2017-03" in out
    assert out.count("SUPPORTED:") == 1
    assert "Rule table-license" in out  # steps with their citations
    # today's default (current = 2026-11) answers differently, rule by rule
    assert "Today's default edition is 2026-11." in out
    assert "Under edition 2026-11 this answer differs because:" in out
    assert "Rule gdap-separate (2026-11)" in out
    assert "Not the answer given then" not in out


def test_the_json_replay(capsys: pytest.CaptureFixture[str]) -> None:
    decision_id = assess(capsys, "--edition", "current")
    code, out, _ = run(capsys, "decision", "show", decision_id, "--json")
    assert code == 0
    replay = json.loads(out)
    assert replay["decision_id"] == decision_id
    assert replay["asked_by"]["user_id"].startswith("cli:")
    assert replay["asked_by"]["team_id"] is None
    assert replay["policy_edition"] == "2026-11"
    assert replay["as_logged"] is True
    assert replay["decision"]["decision_id"] == decision_id
    assert replay["decision"]["outcome"] == replay["logged"]["outcome"]
    assert replay["today"] == {"policy_edition": "2026-11", "comparison": None}


def test_a_replay_under_todays_edition_says_it_answers_the_same(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_EDITION", "2017-03")
    decision_id = assess(capsys)
    code, out, _ = run(capsys, "decision", "show", decision_id, "--lang", "es")
    assert code == 0
    assert "La edición predeterminada de hoy es esta misma (2017-03)" in out


def test_no_log_leaves_nothing_to_replay(capsys: pytest.CaptureFixture[str]) -> None:
    decision_id = assess(capsys, "--no-log")
    code, _, err = run(capsys, "decision", "show", decision_id)
    assert code == 1
    assert f"No decision {decision_id}" in err


def test_a_bad_id_exits_2_with_what_an_id_looks_like(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "decision", "show", "not-an-id")
    assert code == 2 and out == ""
    assert "'not-an-id' is not a decision id" in err


def test_a_database_that_cannot_log_warns_but_still_answers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    unwritable = f"sqlite:///{tmp_path / 'a-file' / 'db.sqlite3'}"
    code, out, err = run(
        capsys,
        "assess",
        "--role",
        "direct",
        "--subscription",
        "ea:license",
        "--database-url",
        unwritable,
    )
    assert code == 0
    assert out.startswith("SUPPORTED:")
    assert err.startswith("Warning: this decision was not logged")
    assert "Traceback" not in err


def test_an_answer_changed_since_is_not_passed_off_as_the_one_given(
    capsys: pytest.CaptureFixture[str], database: Path
) -> None:
    decision_id = assess(capsys, "--edition", "2017-03")
    with sqlite3.connect(database) as db:  # as if the edition's data had been corrected since
        db.execute(
            "UPDATE decision_records SET outcome = 'needs_review', steps = '[\"escalate\"]'"
            " WHERE decision_id = ?",
            (decision_id,),
        )
    code, out, _ = run(capsys, "decision", "show", decision_id)
    assert code == 0
    assert "Not the answer given then: it was Needs review with the steps escalate." in out

    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE decision_records SET policy_edition = '1999-01' WHERE decision_id = ?",
            (decision_id,),
        )
    code, out, _ = run(capsys, "decision", "show", decision_id, "--json")
    assert json.loads(out)["problem"] == "edition_unknown"
    code, out, _ = run(capsys, "decision", "show", decision_id)
    assert "Edition 1999-01 is not in this version of Multichannel" in out
