"""Distributed mode: Bolt's own OAuth flow (`GET /slack/install`, `GET /slack/oauth_redirect`)
on slack_sdk's SQLAlchemy installation and state stores in the project's database.

What is ours: the pages (templates/web/, English and Spanish, instead of Bolt's English-only
HTML) and the wiring of the stores (bot/core/installations.py: encrypted tokens, worker
threads, a bounded TTL cache). The flow itself — state issued and consumed once, the browser
cookie check, `oauth.v2.access`, `auth.test`, saving the installation — is Bolt's
`AsyncOAuthFlow`, and authorization of each request is Bolt's `AsyncInstallationStoreAuthorize`
(with token rotation)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.core.installations import AsyncInstallations, AsyncStateStore, LockedTokenRotator
from bot.core.settings import SlackSettings
from bot.core.store.installations import EncryptedInstallationStore
from bot.core.ui.i18n import DEFAULT_LANGUAGE
from bot.core.ui.render import environment

log = logging.getLogger(__name__)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600
HTML = {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
AUTHORIZE_CACHE_SIZE = 10_000


def page_language(request: AsyncBoltRequest) -> str:
    """`?lang=es|en`, else the browser's first language when it is Spanish, else English."""
    asked = (request.query.get("lang") or [""])[0]
    if asked in ("en", "es"):
        return asked
    accept = (request.headers.get("accept-language") or [""])[0]
    first = accept.split(",")[0].strip().lower()
    return "es" if first.startswith("es") else DEFAULT_LANGUAGE


def render_page(name: str, lang: str, **context: Any) -> str:
    return environment(lang).get_template(name).render(lang=lang, **context)


class MultichannelOAuthFlow(AsyncOAuthFlow):
    """Bolt's flow with our install page (templates/web/install.html.j2)."""

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        return render_page("web/install.html.j2", page_language(request), url=url)


OnInstalled = Callable[[str], Awaitable[int]]


def _success_page(on_installed: OnInstalled | None) -> Callable[[AsyncSuccessArgs], Any]:
    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        resumed = 0
        if on_installed is not None and installation.team_id:
            resumed = await on_installed(installation.team_id)
        log.info(
            "installed in Slack workspace %s (%s); %d parked notification(s) queued again",
            installation.team_id,
            installation.team_name or "",
            resumed,
        )
        return _success(args)

    return success


def _success(args: AsyncSuccessArgs) -> BoltResponse:
    installation = args.installation
    html = render_page(
        "web/install_result.html.j2",
        page_language(args.request),
        ok=True,
        team=installation.team_name or "",
        reason="",
        install_path=INSTALL_PATH,
    )
    return BoltResponse(status=200, body=html, headers=dict(HTML))


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("an installation failed: %s", args.reason)
    html = render_page(
        "web/install_result.html.j2",
        page_language(args.request),
        ok=False,
        team="",
        reason=args.reason,
        install_path=INSTALL_PATH,
    )
    return BoltResponse(status=args.suggested_status_code, body=html, headers=dict(HTML))


class _Bounded(OrderedDict[str, Any]):
    """Bolt's authorize-result cache (keyed by token), bounded: oldest entries go first."""

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > AUTHORIZE_CACHE_SIZE:
            self.popitem(last=False)


def installations_for(settings: SlackSettings, engine: Engine) -> AsyncInstallations:
    """The installation store of distributed mode, on the project's database."""
    cipher = settings.cipher()
    assert settings.slack_client_id is not None and cipher is not None
    store = EncryptedInstallationStore(settings.slack_client_id, engine, cipher)
    return AsyncInstallations(store, ttl=settings.token_cache_seconds)


def oauth_flow(
    settings: SlackSettings,
    engine: Engine,
    client: AsyncWebClient,
    installations: AsyncInstallations,
    rotator: LockedTokenRotator,
    on_installed: OnInstalled | None = None,
) -> MultichannelOAuthFlow:
    """Bolt's OAuth flow for `AsyncApp(oauth_flow=...)`. `client` (base URL SLACK_API_URL)
    makes its `oauth.v2.access` and `auth.test` calls; `rotator` refreshes expiring tokens
    (token rotation) under the workspace's lock, for Bolt's authorization as for deferred
    work. `on_installed`: called with the team id after an installation was saved (resumes
    parked notifications)."""
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=settings.slack_scopes,
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        callback_options=AsyncCallbackOptions(
            success=_success_page(on_installed), failure=_failure
        ),
        installation_store=installations,
        state_store=AsyncStateStore(
            SQLAlchemyOAuthStateStore(
                expiration_seconds=STATE_SECONDS,
                engine=engine,
                table_name="slack_oauth_states",
            )
        ),
        state_expiration_seconds=STATE_SECONDS,
        logger=logging.getLogger("bot.bolt.oauth"),
    )
    # Bolt authorizes every request with the installation store (cached in
    # AsyncInstallations) and then calls auth.test, unless its result is cached: cache it,
    # bounded. Token rotation: ours, with the lock (it calls oauth.v2.access through `client`).
    authorize: Any = oauth_settings.authorize
    authorize.cache_enabled = True
    authorize.authorize_result_cache = _Bounded()
    authorize.token_rotator = rotator
    return MultichannelOAuthFlow(client=client, settings=oauth_settings)
