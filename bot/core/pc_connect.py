"""The "Connect Partner Center" flow (docs/partner-center-connection.md): Microsoft Entra ID's
authorization-code flow with a state and PKCE (S256), started by a directory admin from the
Home tab and finished at `GET /partner-center/connect/callback` (bot/http/pc_connect.py).

Authentication of the callback is the state: `finish` consumes it first (one indexed read);
a forged, replayed or expired state, or none, ends there: no outgoing call, no write. With a
valid state, the code is redeemed (with the PKCE verifier kept server-side), the tenant of the
consent is checked (`tid` of the id_token received directly from the token endpoint) against
the organization's, and the refresh token is stored encrypted.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from bot.core.connections import forget
from bot.core.org_admin import admin_org
from bot.core.partner_center.errors import PartnerCenterError
from bot.core.partner_center.rest import json_object, send
from bot.core.partner_center.tokens import GRAPH_RESOURCE, PARTNER_CENTER_RESOURCE
from bot.core.services import Services
from bot.core.store.connections import (
    ConsumedState,
    StateProblem,
    consume_state,
    load_connection,
    new_state,
    org_tenant,
    save_connected,
)

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx

log = logging.getLogger(__name__)
CALLBACK_PATH = "/partner-center/connect/callback"
# Consent asked at sign-in: Partner Center as the signed-in partner admin (app+user), Graph's
# GDAP relationships, a refresh token (offline_access) and an id_token (openid: its `tid`).
AUTHORIZE_SCOPES = (
    "openid",
    "offline_access",
    f"{PARTNER_CENTER_RESOURCE}/user_impersonation",
    f"{GRAPH_RESOURCE}/DelegatedAdminRelationship.ReadWrite.All",
)
# The code is redeemed for Partner Center (a token request names one resource).
CODE_SCOPES = f"openid offline_access {PARTNER_CENTER_RESOURCE}/user_impersonation"
MAX_PARAM = 2048  # longer query values are not Entra's


class ConnectRefused(Exception):
    """Why a connect click cannot start; `code` selects the notice (templates/slack)."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def redirect_uri(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + CALLBACK_PATH


@dataclass(frozen=True)
class ConnectStart:
    url: str  # Entra's authorize URL, with the state and the PKCE challenge
    org: str


async def start(services: Services, *, team_id: str, user_id: str) -> ConnectStart:
    """A directory admin's click: a single-use state bound to the organization, workspace and
    user, and the authorize URL. Raises AdminRefused (not an admin) or ConnectRefused."""
    settings = services.partner_center_settings
    cipher = services.cipher
    if cipher is None:
        raise ConnectRefused("pc_connect_no_keys")
    if settings is None or not settings.public_base_url:
        raise ConnectRefused("pc_connect_no_public_url")
    deployment_app = settings.partner_center_client_id
    now = services.clock()

    def make(session: Session) -> tuple[str, str, str, Any]:
        org = admin_org(session, team_id, user_id)
        stored = load_connection(session, org.id, cipher)
        client_id = stored.client_id if stored and stored.client_id else deployment_app
        if not client_id:
            raise ConnectRefused("pc_connect_no_app")
        made = new_state(
            session, org_id=org.id, team_id=team_id, user_id=user_id, cipher=cipher, now=now
        )
        return org.name, org.tenant_id, client_id, made

    name, tenant, client_id, made = await services.run(make)
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri(settings.public_base_url),
            "response_mode": "query",
            "scope": " ".join(AUTHORIZE_SCOPES),
            "state": made.state,
            "code_challenge": made.code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return ConnectStart(f"{settings.authorize_url(tenant)}?{query}", name)


@dataclass
class Finished:
    """The callback's outcome: the page to show (`code`, its `params`, HTTP `status`), and on
    success whom to tell in Slack."""

    code: str
    status: int = 400
    params: dict[str, str] = field(default_factory=dict)
    org_id: int | None = None
    team_id: str | None = None
    user_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == "connected"


async def finish(services: Services, query: Mapping[str, str], http: httpx.AsyncClient) -> Finished:
    """The browser is back from Entra. The state first; nothing else happens without it."""
    state = query.get("state", "")
    if not state or len(state) > MAX_PARAM:
        return Finished("state_missing")
    cipher = services.cipher
    settings = services.partner_center_settings
    if cipher is None or settings is None or not settings.public_base_url:
        return Finished("not_configured", status=503)
    now = services.clock()
    consumed = await services.run(lambda s: consume_state(s, state, cipher=cipher, now=now))
    if isinstance(consumed, StateProblem):
        log.warning("Partner Center connect callback refused: state %s", consumed.value)
        return Finished(f"state_{consumed.value}")
    if query.get("error"):
        error = query["error"][:100]
        description = query.get("error_description", "")[:300].splitlines()
        log.info("Partner Center connect: Entra answered %s", error)
        return Finished(
            "entra_error",
            params={"error": error, "description": description[0] if description else ""},
        )
    code = query.get("code", "")
    if not code or len(code) > MAX_PARAM:
        return Finished("code_missing")
    return await _redeem(services, consumed, code, http)


async def _redeem(
    services: Services, consumed: ConsumedState, code: str, http: httpx.AsyncClient
) -> Finished:
    settings = services.partner_center_settings
    cipher = services.cipher
    assert settings is not None and settings.public_base_url and cipher is not None

    def read(session: Session) -> tuple[tuple[str, str, str | None] | None, Any]:
        return org_tenant(session, consumed.org_id), load_connection(
            session, consumed.org_id, cipher
        )

    org, stored = await services.run(read)
    if org is None:
        return Finished("org_gone")
    name, tenant, _channel = org
    if stored is not None and stored.client_id:
        client_id, secret = stored.client_id, stored.client_secret or ""
    else:
        deployment_secret = settings.partner_center_client_secret
        client_id = settings.partner_center_client_id or ""
        secret = deployment_secret.get_secret_value() if deployment_secret else ""
    form = {
        "client_id": client_id,
        "client_secret": secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(settings.public_base_url),
        "code_verifier": consumed.code_verifier,
        "scope": CODE_SCOPES,
    }
    try:
        response = await send(
            http,
            "POST",
            settings.token_url(tenant),
            form=form,
            headers={"Accept": "application/json"},
            timeout=settings.partner_center_timeout,
        )
        body = json_object(response)
    except PartnerCenterError as exc:
        first = exc.message.strip().splitlines()[0][:300] if exc.message.strip() else ""
        log.warning("Partner Center connect for %s: the code was refused (%s)", name, exc.code)
        return Finished("token_refused", params={"error": exc.code, "description": first})
    used = _tenant_of(body.get("id_token"))
    if used is None:
        return Finished("no_tenant", status=502)
    if used.lower() != tenant.lower():
        log.warning("Partner Center connect for %s refused: consent in tenant %s", name, used)
        return Finished(
            "wrong_tenant", status=403, params={"used": used, "expected": tenant, "org": name}
        )
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        return Finished("no_refresh_token", status=502)
    now = services.clock()
    await services.run(
        lambda s: save_connected(
            s,
            org_id=consumed.org_id,
            tenant_id=tenant,
            refresh_token=refresh_token,
            cipher=cipher,
            user_id=consumed.user_id,
            team_id=consumed.team_id,
            now=now,
        )
    )
    forget(services, consumed.org_id)
    log.info("Partner Center connected for %s by %s", name, consumed.user_id)
    return Finished(
        "connected",
        status=200,
        params={"org": name},
        org_id=consumed.org_id,
        team_id=consumed.team_id,
        user_id=consumed.user_id,
    )


def _tenant_of(id_token: object) -> str | None:
    """The `tid` claim of an id_token received directly from the token endpoint over TLS (its
    signature need not be checked then: OpenID Connect Core 1.0 §3.1.3.7 allows TLS server
    validation instead)."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return None
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    return tid if isinstance(tid, str) and tid else None
