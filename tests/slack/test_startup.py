"""`mcbot serve` started as an operator starts it (a real process): every start-up failure is
one line naming the setting, exit status 2, no traceback; `/readyz` tells a broken deployment
from a working one; a storage fault that ends is recovered from without a restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.store import db
from bot.core.store.testing import (
    make_read_only,
    make_writable,
    postgres_unavailable,
)
from bot.testkit import SlackStandIn, sign, slash_command_body

MCBOT = str(Path(sys.executable).with_name("mcbot"))
SECRET = "startup-secret"
TOKEN = "xoxb-startup"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(slack_api_url: str, database_url: str, token: str = TOKEN) -> dict[str, str]:
    return {
        **os.environ,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": token,
        "SLACK_API_URL": slack_api_url,
        "DATABASE_URL": database_url,
    }


def run_serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`mcbot serve` expected to give up at start-up."""
    return subprocess.run(
        [MCBOT, "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def assert_one_clear_line(out: subprocess.CompletedProcess[str], setting: str) -> str:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    errors = [line for line in out.stderr.splitlines() if "cannot start" in line]
    assert len(errors) == 1, out.stderr
    assert setting in errors[0]
    return errors[0]


@contextmanager
def serving(env: dict[str, str], cwd: Path) -> Iterator[tuple[str, list[str]]]:
    """A running `mcbot serve`: (its URL, its output once it stopped)."""
    port = free_port()
    proc = subprocess.Popen(
        [MCBOT, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        yield url, output
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        output.append(proc.stdout.read() if proc.stdout else "")


def readyz(url: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{url}/readyz", timeout=30)
    return answer.status_code, answer.json()


def wait_until_ready(url: str) -> dict[str, Any]:
    """/readyz polled until ready (recovery is the bot's own doing: nothing is restarted)."""
    deadline = time.monotonic() + 60
    while True:
        status, body = readyz(url)
        if status == 200:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


# ------------------------------------------------------------------ start-up failures
def test_an_unreachable_postgresql_is_one_line_naming_database_url(tmp_path: Path) -> None:
    with SlackStandIn() as slack:
        url = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{free_port()}/nowhere"
        out = run_serve(environment(slack.base_url, url), tmp_path)
    line = assert_one_clear_line(out, "DATABASE_URL")
    assert "hunter2" not in line  # the password is not printed


def test_a_missing_postgresql_database_is_one_line_naming_database_url(tmp_path: Path) -> None:
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with SlackStandIn() as slack:
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/mc_no_such_database"
        out = run_serve(environment(slack.base_url, url), tmp_path)
    assert "mc_no_such_database" in assert_one_clear_line(out, "DATABASE_URL")


def test_a_sqlite_file_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with SlackStandIn() as slack:
        out = run_serve(environment(slack.base_url, f"sqlite:///{blocker}/bot.sqlite3"), tmp_path)
    assert_one_clear_line(out, "DATABASE_URL")


def test_a_refused_bot_token_is_one_line_naming_slack_bot_token(tmp_path: Path) -> None:
    with SlackStandIn(tokens=["xoxb-the-right-one"]) as slack:
        database = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        out = run_serve(environment(slack.base_url, database, token="xoxb-wrong"), tmp_path)
        assert slack.calls("auth.test")
    assert "invalid_auth" in assert_one_clear_line(out, "SLACK_BOT_TOKEN")


# ------------------------------------------------------------------ /readyz
def test_readyz_is_ready_when_the_database_and_the_token_are(tmp_path: Path) -> None:
    with SlackStandIn(tokens=[TOKEN]) as slack:
        env = environment(slack.base_url, f"sqlite:///{tmp_path / 'bot.sqlite3'}")
        with serving(env, tmp_path) as (url, _):
            assert readyz(url) == (
                200,
                {
                    "status": "ready",
                    "checks": {"database": {"ok": True}, "slack_token": {"ok": True}},
                },
            )


def test_slack_unreachable_at_start_is_a_warning_and_not_ready(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    env = environment(nowhere, f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    with serving(env, tmp_path) as (url, output):
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200  # alive
        status, body = readyz(url)
        assert status == 503 and body["status"] == "not ready"
        assert body["checks"]["database"] == {"ok": True}
        token = body["checks"]["slack_token"]
        assert token["ok"] is False and "unreachable" in token["problem"] and token["fix"]
    assert "SLACK_BOT_TOKEN not checked" in output[0]


def test_a_held_write_lock_is_not_ready(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with (
        SlackStandIn() as slack,
        serving(environment(slack.base_url, f"sqlite:///{path}"), tmp_path) as (url, _),
    ):
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            status, body = readyz(url)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert status == 503
        database = body["checks"]["database"]
        assert "locked" in database["problem"] and "write lock" in database["fix"]
        wait_until_ready(url)


def test_a_read_only_database_is_not_ready_and_recovered_from_without_a_restart(
    tmp_path: Path,
) -> None:
    """Item 9: started on a read-only file, the bot says so on /readyz; once the file is
    writable it is ready again by itself, and the decisions answered meanwhile are logged, none
    lost at shutdown."""
    path = tmp_path / "bot.sqlite3"
    db.upgrade(f"sqlite:///{path}")
    try:
        make_read_only(path)
    except OSError as exc:
        pytest.skip(f"cannot make a file read-only here: {exc}")
    answers = []
    try:
        with SlackStandIn() as slack:
            env = environment(slack.base_url, f"sqlite:///{path}")
            with serving(env, tmp_path) as (url, output):
                status, body = readyz(url)
                assert status == 503
                assert "readonly" in body["checks"]["database"]["problem"]
                for _ in range(3):
                    command = slash_command_body(
                        text="assess ea:license as direct", user_id="U0READONLY"
                    )
                    answer = httpx.post(
                        f"{url}/slack/events", content=command, headers=sign(SECRET, command)
                    )
                    assert answer.status_code == 200 and "Request a reseller" in answer.text
                    answers.append(answer.text)
                make_writable(path)
                wait_until_ready(url)
    finally:
        make_writable(path)
    assert "lost" not in output[0], output[0]
    with sqlite3.connect(path) as connection:
        logged = connection.execute(
            "SELECT decision_id FROM decision_records WHERE user_id = 'U0READONLY'"
        ).fetchall()
    assert len(logged) == 3 and all(any(d in a for a in answers) for (d,) in logged)
