"""The whole bot on loopback: uvicorn serving the real app, pointed at a SlackStandIn, on a real
database. Used by the end-to-end tests, `mcbot try` and the benchmarks.

    with BotHarness() as bot:
        response = bot.command("assess ea:license as direct")
        bot.slack.wait_for("views.open")
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal, Self

import httpx
import uvicorn

from bot.testkit.identity import DEFAULT_CHANNEL_ID, DEFAULT_TEAM_ID, DEFAULT_USER_ID
from bot.testkit.payloads import new_trigger_id
from bot.testkit.signing import event_body, interactivity_body, sign, slash_command_body
from bot.testkit.slack_api import SlackStandIn

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "test-client-secret"
# A fixed Fernet key for tests only (never a real deployment's).
ENCRYPTION_KEY = "yjbyYOBcWWbVEyWYjBWnmGQ3EZLwvWlvY4BQvVOXU0Y="


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1 (free port) in a daemon thread."""

    def __init__(
        self, asgi_app: Any, *, port: int = 0, lifespan: Literal["auto", "on", "off"] = "off"
    ) -> None:
        config = uvicorn.Config(
            asgi_app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            loop="asyncio",
            lifespan=lifespan,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = 0

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class BotHarness:
    def __init__(
        self,
        *,
        database_url: str | None = None,
        slack: SlackStandIn | None = None,
        signing_secret: str = SIGNING_SECRET,
        outbox: bool = False,
        signer: Any = None,
        bot_settings: Any = None,
        services_options: dict[str, Any] | None = None,
        distributed: bool = False,
        encryption_keys: str = ENCRYPTION_KEY,
        partner_center: dict[str, Any] | None = None,
    ) -> None:
        """`outbox`: run the ASGI lifespan with the notification worker (docs/webhooks.md).
        `signer`: a `bot.testkit.partner_center.WebhookSigner` whose deliveries the webhook
        endpoint trusts. `bot_settings`: a `BotSettings` (worker options, PARTNER_ORG_KEY).
        `services_options`: more `Services` fields (partner_center, graph, clock...).
        `distributed`: no bot token; each workspace installs the app through /slack/install
        (`install(team_id, user_id)`), tokens in the installation store. `partner_center`: more
        PartnerCenterSettings fields (e.g. a GraphStandIn's `partner_center_overrides()`)."""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if database_url is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mcbot-")
            database_url = f"sqlite:///{Path(self._tmp.name) / 'bot.sqlite3'}"
        self.database_url = database_url
        self._own_slack = slack is None
        self.slack = slack or SlackStandIn()
        self.signing_secret = signing_secret
        self.http = httpx.Client(timeout=10)
        self._server: ServerThread | None = None
        self.services: Any = None
        self.outbox = outbox
        self.signer = signer
        self.bot_settings = bot_settings
        self.services_options = dict(services_options or {})
        self.worker: Any = None
        self.distributed = distributed
        self.encryption_keys = encryption_keys
        self.partner_center = dict(partner_center or {})

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        from bot.core.services import Services
        from bot.core.settings import SlackSettings
        from bot.core.store.secrets import TokenCipher
        from bot.http.asgi import build_web_app
        from bot.slack.app import build_app

        if self._own_slack:
            self.slack.start()
        # No "any token is fine": the bot's own flows must use a token Slack issued — the
        # configured one (single workspace) or one from an installation (distributed).
        self.slack.set_tokens([] if self.distributed else [BOT_TOKEN])
        # Nothing created on first mention: the default workspace holds the default user and
        # channel (bot/testkit/identity.py); a test declares anyone and anything else.
        self.slack.workspace.strict = True
        self.slack.set_user(DEFAULT_USER_ID)
        self.slack.set_channel(DEFAULT_CHANNEL_ID, name="partner-desk")
        if self.distributed:
            self.slack.set_app_credentials(CLIENT_ID, CLIENT_SECRET)
            settings = SlackSettings(
                _env_file=None,
                slack_signing_secret=self.signing_secret,
                slack_client_id=CLIENT_ID,
                slack_client_secret=CLIENT_SECRET,
                encryption_keys=self.encryption_keys,
                slack_api_url=self.slack.base_url,
            )
        else:
            settings = SlackSettings(
                _env_file=None,
                slack_signing_secret=self.signing_secret,
                slack_bot_token=BOT_TOKEN,
                slack_api_url=self.slack.base_url,
            )
        options = {"cipher": TokenCipher.from_setting(self.encryption_keys)}
        self.services = Services.from_url(self.database_url, **options | self.services_options)
        app = build_app(settings, self.services)
        if not (self.outbox or self.signer is not None):
            self._server = ServerThread(
                build_web_app(app, self.services, signing_secret=self.signing_secret)
            )
        else:
            webhooks, background = self._notifications()
            web = build_web_app(
                app,
                self.services,
                signing_secret=self.signing_secret,
                webhooks=webhooks,
                background=background,
            )
            self._server = ServerThread(web, lifespan="on" if self.outbox else "off")
        self._server.start()
        return self

    def _notifications(self) -> tuple[Any, list[Any]]:
        from bot.bootstrap.notify import notifications
        from bot.core.outbox.worker import OutboxWorker
        from bot.core.partner_center.settings import PartnerCenterSettings
        from bot.core.partner_center.signature import WebhookVerifier
        from bot.core.settings import BotSettings

        overrides = self.signer.settings_overrides() if self.signer is not None else {}
        overrides |= self.partner_center
        pc_settings = PartnerCenterSettings(_env_file=None, **overrides)
        verifier = None
        if self.signer is not None:
            verifier = WebhookVerifier(pc_settings, http=self.signer.http_client())
        webhooks, background = notifications(
            self.services,
            slack_token=None if self.distributed else BOT_TOKEN,
            slack_api_url=self.slack.base_url,
            bot_settings=self.bot_settings or BotSettings(_env_file=None),
            partner_center=pc_settings,
            verifier=verifier,
            worker=self.outbox,
        )
        self.worker = next((job for job in background if isinstance(job, OutboxWorker)), None)
        return webhooks, background

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.http.close()
        if self._own_slack:
            self.slack.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.port}"

    # -- installing (distributed mode) -------------------------------------------------------
    def install(self, team_id: str, user_id: str) -> httpx.Response:
        """A user of `team_id` installs the app as in a browser: GET /slack/install (a state
        and its cookie), approves in Slack (the stand-in's code), and Slack redirects to
        GET /slack/oauth_redirect. Returns the redirect's answer (the result page)."""
        page = self.http.get(f"{self.url}/slack/install")
        assert page.status_code == 200, page.text
        state = install_state(page.text)
        code = self.slack.authorization_code(team_id, user_id)
        return self.http.get(
            f"{self.url}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"cookie": f"slack-app-oauth-state={state}"},
        )

    # -- requests as Slack sends them --------------------------------------------------------
    def post(
        self, body: bytes, *, timestamp: int | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        signed = sign(self.signing_secret, body, timestamp)
        signed.update(headers or {})
        return self.http.post(f"{self.url}/slack/events", content=body, headers=signed)

    def command(
        self,
        text: str,
        *,
        user_id: str = DEFAULT_USER_ID,
        team_id: str = DEFAULT_TEAM_ID,
        channel_id: str = DEFAULT_CHANNEL_ID,
        response_url: str | None = None,
    ) -> httpx.Response:
        body = slash_command_body(
            text=text,
            user_id=user_id,
            team_id=team_id,
            channel_id=channel_id,
            trigger_id=new_trigger_id(),
            response_url=response_url or self.slack.response_url(),
        )
        return self.post(body)

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(interactivity_body(payload))

    def event(self, event: dict[str, Any], *, team_id: str = DEFAULT_TEAM_ID) -> httpx.Response:
        return self.post(event_body(event, team_id=team_id))

    # -- Partner Center deliveries ------------------------------------------------------------
    def webhook(
        self,
        payload: dict[str, Any] | bytes,
        *,
        headers: dict[str, str] | None = None,
        path: str = "/partner-center/webhooks",
    ) -> httpx.Response:
        """POST a Partner Center event, signed by `signer` unless `headers` are given, to `path`
        (default: the legacy URL; an organization's own: /partner-center/webhooks/{token})."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if headers is None:
            assert self.signer is not None, "BotHarness(signer=...) to sign deliveries"
            headers = self.signer.headers(body)
        headers = {"Content-Type": "application/json", **headers}
        return self.http.post(f"{self.url}{path}", content=body, headers=headers)


def install_state(page: str) -> str:
    """The OAuth `state` in the "Add to Slack" link of an install page."""
    import html
    import re
    from urllib.parse import parse_qs, urlparse

    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize[^"]+)"', page)
    assert link is not None, "no Add to Slack link"
    return parse_qs(urlparse(html.unescape(link.group(1))).query)["state"][0]


def ack_json(response: httpx.Response) -> dict[str, Any]:
    """The acknowledgement's JSON body ({} when empty)."""
    return json.loads(response.text) if response.text else {}
