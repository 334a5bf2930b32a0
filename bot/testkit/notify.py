"""Test support for notifications (tests/notify, bench/notify.py): Partner Center event
payloads, a partner directory with invitations whose messages exist in a SlackStandIn, and the
history methods the sender uses to settle rows claimed again after a crash.

Nothing here runs in production.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot.core.store.directory import import_directory, org_by_key
from bot.core.store.invitations import create_invitation
from bot.core.store.messages import record_message
from bot.core.store.models import LinkSource, MessagePurpose
from bot.testkit.partner_center import WebhookSigner
from bot.testkit.slack_api import SlackStandIn
from bot.testkit.workspace import Workspace

PC = "https://api.partnercenter.microsoft.com"
CODE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding this `bot` package
ACCEPTED = "reseller-relationship-accepted-by-customer"
INDIRECT_ACCEPTED = "indirect-reseller-relationship-accepted-by-customer"
GDAP_APPROVED = "granular-admin-relationship-approved"
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"


def acceptance(
    customer_id: str, *, name: str = ACCEPTED, changed_at: datetime | None = None
) -> dict[str, Any]:
    """A reseller-relationship acceptance as Partner Center sends it."""
    moment = changed_at or datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    return {
        "EventName": name,
        "ResourceUri": f"{PC}/v1/customers/{customer_id}",
        "ResourceName": "Customer",
        "AuditUri": None,
        "ResourceChangeUtcDate": moment.isoformat(),
    }


def gdap_event(relationship_id: str, *, name: str = GDAP_APPROVED) -> dict[str, Any]:
    return {
        "EventName": name,
        "ResourceUri": f"{PC}/v1/granularAdminRelationships/{relationship_id}",
        "ResourceName": "GranularAdminRelationship",
        "ResourceChangeUtcDate": "2026-11-24T11:00:00.1234567+00:00",
    }


def install_history(slack: SlackStandIn) -> None:
    """`conversations.history` and `conversations.replies` answered from the stand-in's
    messages (with their metadata), as Slack does with `include_all_metadata`."""

    def history(params: dict[str, Any]) -> dict[str, Any]:
        # `oldest` is ignored: the stand-in's ts are not wall-clock times (they start in 2023).
        channel = str(params.get("channel") or "")
        latest = float(params.get("latest") or "inf")
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        found = [
            m
            for m in slack.messages(channel)
            if float(m["ts"]) < latest or (inclusive and float(m["ts"]) == latest)
        ]
        limit = int(params.get("limit") or 100)
        return {"ok": True, "messages": list(reversed(found))[:limit], "has_more": False}

    def replies(params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        found = [m for m in slack.messages(channel) if ts in (m["ts"], m.get("thread_ts"))]
        return {"ok": True, "messages": found, "has_more": False}

    slack.register("conversations.history", history)
    slack.register("conversations.replies", replies)


def delivery_counts(slack: SlackStandIn, seeded: list[Seeded]) -> Counter[tuple[str, str]]:
    """Delivered notifications per (kind, invitation ref): "update" (chat.update of its
    message), "reply" (in its thread), "dm" (a post elsewhere naming it)."""
    by_ts = {inv.ts: inv.ref for inv in seeded}
    refs = [inv.ref for inv in seeded]
    counts: Counter[tuple[str, str]] = Counter()
    for call in slack.calls(delivered=True):
        if call.method == "chat.update":
            counts[("update", by_ts.get(str(call.params.get("ts")), "?"))] += 1
        elif call.method != "chat.postMessage":
            continue
        elif call.params.get("thread_ts"):
            counts[("reply", by_ts.get(str(call.params["thread_ts"]), "?"))] += 1
        else:
            text = str(call.params.get("text", ""))
            counts[("dm", next((ref for ref in refs if ref in text), "?"))] += 1
    return counts


def lost_and_duplicated(counts: Counter[tuple[str, str]], seeded: list[Seeded]) -> tuple[int, int]:
    """Against one update, one reply and one DM per invitation."""
    lost = duplicated = 0
    for inv in seeded:
        for kind in ("update", "reply", "dm"):
            n = counts[(kind, inv.ref)]
            lost += max(0, 1 - n)
            duplicated += max(0, n - 1)
    return lost, duplicated


# ------------------------------------------------------------------------------ processes
SECRET, TOKEN = "test-signing-secret", "xoxb-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(
    database_url: str,
    slack: SlackStandIn,
    signer: WebhookSigner,
    *,
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[subprocess.Popen[bytes], int]:
    """`mcbot serve` as a subprocess on a free port, pointed at the stand-ins; returns once
    GET /healthz answers."""
    port = free_port()
    environment = {
        **os.environ,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": database_url,
        "SSL_CERT_FILE": str(signer.trust_roots_path),  # the certificate host's TLS
        **signer.env(),
        **(env or {}),
    }
    argv = [
        sys.executable,
        "-m",
        "bot.cli.main",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        # run from the directory holding the `bot` package imported here: `python -m` puts the
        # working directory first on sys.path, so a bench run with PYTHONPATH naming another
        # checkout (a baseline) would otherwise serve this directory's code
        proc = subprocess.Popen(
            argv, env=environment, cwd=CODE_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mcbot serve exited ({proc.returncode}); see {log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"mcbot serve did not start; see {log}")


def post_event(port: int, signer: WebhookSigner, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **signer.headers(body)}
    url = f"http://127.0.0.1:{port}/partner-center/webhooks"
    return httpx.post(url, content=body, headers=headers, timeout=30)


@dataclass(frozen=True)
class Seeded:
    """An invitation created for a test, with its provider message in the stand-in."""

    id: int
    ref: str
    tenant: str
    channel: str
    ts: str
    creator: str
    org_key: str


def directory(orgs: int, *, prefix: str = "bench") -> dict[str, Any]:
    """`orgs` direct-bill partners, each with its own Slack team and notification channel."""
    return {
        "organizations": [
            {
                "key": f"{prefix}-{n:02d}",
                "name": f"Partner {n:02d}",
                "role": "direct",
                "tenant_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{prefix}-{n}")),
                "slack_teams": [f"T0{prefix.upper()[:4]}{n:03d}"],
                "notification_channel": f"C0{prefix.upper()[:4]}{n:03d}",
                "admins": [f"U0{prefix.upper()[:4]}{n:03d}"],
            }
            for n in range(orgs)
        ]
    }


def seed(
    factory: sessionmaker[Session],
    slack: SlackStandIn,
    *,
    orgs: int,
    per_org: int,
    prefix: str = "bench",
    data: dict[str, Any] | None = None,
    install: Callable[[str, str], Any] | None = None,
) -> list[Seeded]:
    """Import the directory (`data`, default `directory(orgs)`), then create `per_org`
    invitations per organization, interleaved, each with its message posted in the stand-in's
    workspace (no Web API call, so no rate limit is spent) and recorded.

    `install` (distributed mode: `BotHarness.install`): each organization's first Slack team
    becomes a workspace of its own in the stand-in, holding its channel and its creator, and
    installs the app (its creator approves); its messages are that workspace's."""
    from bot.core.snapshots import InvitationView
    from bot.core.ui import surfaces

    data = data or directory(orgs, prefix=prefix)
    keys = [entry["key"] for entry in data["organizations"]][:orgs]
    seeded: list[Seeded] = []
    with factory.begin() as session:
        import_directory(session, data)
    # The stand-in creates nothing on first mention: the channels and the people exist first
    # (in the one workspace the single-workspace bot speaks to, or in each organization's).
    workspaces: dict[str, Workspace] = {}
    for index, entry in enumerate(data["organizations"][:orgs]):
        creator = f"U0{prefix.upper()[:4]}C{index:03d}"
        team = (entry.get("slack_teams") or [None])[0] if install is not None else None
        if team is not None:
            workspaces[entry["key"]] = slack.add_team(team, name=entry["name"])
        if entry.get("notification_channel"):
            slack.set_channel(entry["notification_channel"], name=entry["key"], team_id=team)
        slack.set_user(creator, team_id=team)
        if team is not None and install is not None:
            install(team, creator)
    for n in range(per_org):
        with factory.begin() as session:
            for index, key in enumerate(keys):
                org = org_by_key(session, key)
                assert org is not None and org.notification_channel is not None
                creator = f"U0{prefix.upper()[:4]}C{index:03d}"  # one per organization
                tenant = str(uuid.uuid4())
                inv = create_invitation(
                    session,
                    provider=org,
                    customer_name=f"Customer {key} {n:03d}",
                    link=LINK,
                    link_source=LinkSource.documented_format,
                    created_by_user=creator,
                    created_by_team=org.teams[0].team_id if org.teams else "T0NONE",
                    customer_tenant_id=tenant,
                )
                message = surfaces.invitation_message(InvitationView.of(inv), side="provider")
                channel = org.notification_channel
                posted = workspaces.get(key, slack.workspace).post(
                    channel,
                    {"type": "message", "text": message["text"], "blocks": message["blocks"]},
                )
                record_message(session, inv.id, channel, posted["ts"], MessagePurpose.provider)
                seeded.append(Seeded(inv.id, inv.ref, tenant, channel, posted["ts"], creator, key))
    return seeded
