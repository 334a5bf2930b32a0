"""`mcbot serve` as a user runs it: a real process, real uvicorn, settings from the environment."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.testkit import SlackStandIn, sign, slash_command_body

MCBOT = str(Path(sys.executable).with_name("mcbot"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_missing_settings_are_named_with_where_to_find_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    out = subprocess.run(
        [MCBOT, "serve"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 2
    assert "SLACK_SIGNING_SECRET: not set" in out.stderr
    assert "Signing Secret" in out.stderr and "Traceback" not in out.stderr
    # with the signing secret: neither mode is configured, both are named
    env["SLACK_SIGNING_SECRET"] = "serve-secret"
    out = subprocess.run(
        [MCBOT, "serve"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SLACK_BOT_TOKEN: set SLACK_BOT_TOKEN (one workspace), or SLACK_CLIENT_ID" in out.stderr
    # distributed mode without ENCRYPTION_KEYS, then with a malformed one
    env |= {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret"}
    out = subprocess.run(
        [MCBOT, "serve"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 2 and "ENCRYPTION_KEYS: distributed mode stores tokens" in out.stderr
    env["ENCRYPTION_KEYS"] = "not-a-key-secret-value"
    out = subprocess.run(
        [MCBOT, "serve"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 2 and "key number 1 is not a Fernet key" in out.stderr
    assert "not-a-key-secret-value" not in out.stderr and "client-secret" not in out.stderr


def test_serve_answers_health_and_signed_commands(tmp_path: Path) -> None:
    port = free_port()
    with SlackStandIn() as slack:
        env = {
            **os.environ,
            "SLACK_SIGNING_SECRET": "serve-secret",
            "SLACK_BOT_TOKEN": "xoxb-serve",
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        }
        proc = subprocess.Popen(
            [MCBOT, "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            assert health.json() == {"status": "ok", "database": "ok"}
            body = slash_command_body(text="assess ea:license as direct")
            answer = httpx.post(
                f"http://127.0.0.1:{port}/slack/events",
                content=body,
                headers=sign("serve-secret", body),
            )
            assert answer.status_code == 200
            assert "Request a reseller relationship" in answer.text
            forged = httpx.post(
                f"http://127.0.0.1:{port}/slack/events", content=body, headers=sign("wrong", body)
            )
            assert forged.status_code == 401
        finally:
            proc.terminate()
            # uvicorn shuts down gracefully, then re-raises SIGTERM so the status says why
            assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
            output = proc.stdout.read().decode() if proc.stdout else ""
            assert "Traceback" not in output, output
    # The decision log's writer thread wrote the decision before the server exited.
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        logged = db.execute("SELECT decision_id, outcome FROM decision_records").fetchall()
    assert len(logged) == 1 and logged[0][0] in answer.text


def test_serve_in_distributed_mode_installs_and_is_ready(tmp_path: Path) -> None:
    """`mcbot serve` with SLACK_CLIENT_ID/SECRET and ENCRYPTION_KEYS (no bot token): the install
    routes on the same port as /slack/events, /readyz checks the installation store, and a
    workspace that installed gets its commands answered with its own token."""
    from cryptography.fernet import Fernet

    from bot.testkit.harness import install_state

    port = free_port()
    with SlackStandIn(tokens=[]) as slack:
        slack.add_team("T0MCTEST01", name="Test").set_user("U0MCUSER01", team_id="T0MCTEST01")
        slack.set_app_credentials("111.222", "serve-client-secret")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
            "SLACK_SIGNING_SECRET": "serve-secret",
            "SLACK_CLIENT_ID": "111.222",
            "SLACK_CLIENT_SECRET": "serve-client-secret",
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        }
        proc = subprocess.Popen(
            [MCBOT, "serve", "--port", str(port), "--log-level", "debug"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    ready = httpx.get(f"{base}/readyz", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"database", "installation_store"}
            page = httpx.get(f"{base}/slack/install")
            state = install_state(page.text)
            code = slack.authorization_code("T0MCTEST01", "U0MCUSER01")
            done = httpx.get(
                f"{base}/slack/oauth_redirect",
                params={"code": code, "state": state},
                headers={"cookie": f"slack-app-oauth-state={state}"},
            )
            assert done.status_code == 200 and "Multichannel is installed" in done.text
            body = slash_command_body(text="assess ea:license as direct")
            answer = httpx.post(
                f"{base}/slack/events", content=body, headers=sign("serve-secret", body)
            )
            assert answer.status_code == 200 and "Request a reseller relationship" in answer.text
        finally:
            proc.terminate()
            assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
            output = proc.stdout.read().decode() if proc.stdout else ""
        assert "Traceback" not in output, output
        (token,) = slack.tokens_of("T0MCTEST01")
        assert token not in output and "serve-client-secret" not in output  # DEBUG logs too
