"""Access tokens from Microsoft Entra ID, cached until shortly before they expire.

Partner Center's relationship-request call needs app+user (delegated) credentials: a
refresh-token grant. Graph's GDAP calls use an app-only client-credentials token with the
legacy settings, and a delegated token from the same refresh token for an organization that
connected through the "Connect Partner Center" flow (docs/partner-center-connection.md).

With a `RefreshTokenStore` (an organization's stored connection), the refresh token lives in
the database only: every grant reads it, a rotated one is written (version-checked) BEFORE the
access token is used, and `invalid_grant` is retried once with a token another replica
rotated meanwhile, else the connection is marked expired.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.partner_center.errors import (
    ConnectionExpired,
    PartnerCenterError,
    PartnerCenterNotConfigured,
)
from bot.core.partner_center.rest import Sleep, json_object, send
from bot.core.partner_center.settings import PartnerCenterSettings

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx

PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_SCOPE = f"{GRAPH_RESOURCE}/.default"
REFRESH_MARGIN_SECONDS = 300.0
REREAD_DELAYS = (0.0, 0.2, 0.5, 1.0)  # seconds before each re-read after an invalid_grant
log = logging.getLogger(__name__)


class Audience(StrEnum):
    PARTNER_CENTER = "partner_center"
    GRAPH = "graph"


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


@dataclass(frozen=True)
class _Answer:
    """The token endpoint's JSON object, its HTTP status, and when the request was sent."""

    body: dict[str, Any]
    status: int
    started: float


@dataclass(frozen=True)
class AppCredentials:
    """Who asks Entra for tokens: the tenant, and the app registration's id and secret."""

    tenant_id: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class StoredToken:
    token: str
    version: int


class RefreshTokenStore(Protocol):
    """Where an organization's refresh token is kept (bot/core/connections.py)."""

    async def load(self) -> StoredToken | None: ...

    async def rotated(self, token: str, seen_version: int) -> bool:
        """Write the rotated token unless another replica wrote one since `seen_version`."""
        ...

    async def refused(self, reason: str, seen_version: int) -> None:
        """Entra refused the token of `seen_version` (expired or revoked)."""
        ...


class TokenProvider:
    def __init__(
        self,
        settings: PartnerCenterSettings,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        app: AppCredentials | None = None,
        store: RefreshTokenStore | None = None,
        graph_delegated: bool = False,
    ) -> None:
        """`app`: default, the legacy settings (PARTNER_TENANT_ID, PARTNER_CENTER_CLIENT_*).
        `store`: the refresh token's home (default: PARTNER_CENTER_REFRESH_TOKEN, rotations
        kept in memory). `graph_delegated`: Graph tokens from the refresh token too."""
        self._settings = settings
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._app = app
        self._store = store
        self._graph_delegated = graph_delegated
        secret = settings.partner_center_refresh_token
        self._refresh_token = secret.get_secret_value() if secret is not None else None
        self._tokens: dict[Audience, _Token] = {}
        self._locks = {audience: asyncio.Lock() for audience in Audience}
        self.requests = 0

    async def partner_center_token(self) -> str:
        return await self._token(Audience.PARTNER_CENTER)

    async def graph_token(self) -> str:
        return await self._token(Audience.GRAPH)

    async def call(
        self,
        http: httpx.AsyncClient,
        audience: Audience,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> dict[str, Any]:
        """An API call with this provider's token for `audience` (Partner Center's REST API or
        Graph); its JSON object. A 401 forgets the cached token, so the next call gets a new
        one."""
        token = await self._token(audience)
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
        try:
            response = await send(
                http,
                method,
                url,
                headers=sent,
                json_body=json_body,
                timeout=self._settings.partner_center_timeout,
                sleep=sleep,
            )
        except PartnerCenterError as exc:
            if exc.status == 401:
                self.invalidate(audience)
            raise
        return json_object(response)

    def invalidate(self, audience: Audience) -> None:
        """Forget a cached token (after the API answered 401)."""
        self._tokens.pop(audience, None)

    async def _token(self, audience: Audience) -> str:
        async with self._locks[audience]:
            cached = self._tokens.get(audience)
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.value
            token = await self._request(audience)
            self._tokens[audience] = token
            return token.value

    async def _request(self, audience: Audience) -> _Token:
        form = self._credentials()
        if audience is Audience.GRAPH and not self._graph_delegated:
            form |= {"grant_type": "client_credentials", "scope": GRAPH_SCOPE}
            return self._token_of(await self._post(form))
        resource = (
            PARTNER_CENTER_RESOURCE if audience is Audience.PARTNER_CENTER else GRAPH_RESOURCE
        )
        form |= {"grant_type": "refresh_token"} | self._audience_field(resource)
        if self._store is None:
            if not self._refresh_token:
                raise PartnerCenterNotConfigured("PARTNER_CENTER_REFRESH_TOKEN")
            answer = await self._post(form | {"refresh_token": self._refresh_token})
            rotated = answer.body.get("refresh_token")
            if isinstance(rotated, str) and rotated:
                self._refresh_token = rotated  # kept in memory only (no ENCRYPTION_KEYS)
            return self._token_of(answer)
        return await self._stored_grant(form)

    async def _stored_grant(self, form: dict[str, str]) -> _Token:
        assert self._store is not None
        stored = await self._store.load()
        for attempt in (1, 2):
            if stored is None:
                raise ConnectionExpired("not connected")
            try:
                answer = await self._post(form | {"refresh_token": stored.token})
            except PartnerCenterError as exc:
                if exc.code != "invalid_grant":
                    raise
                again = await self._newer(stored.version) if attempt == 1 else None
                if again is not None:
                    stored = again  # another replica rotated it meanwhile: its token
                    continue
                reason = _reason(exc)
                await self._store.refused(reason, stored.version)
                raise ConnectionExpired(reason) from None
            rotated = answer.body.get("refresh_token")
            fresh = isinstance(rotated, str) and bool(rotated) and rotated != stored.token
            # written before the access token is used: a crash after this loses nothing
            if fresh and not await self._store.rotated(str(rotated), stored.version):
                log.info("a rotated refresh token was written by another replica first")
            return self._token_of(answer)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _newer(self, seen_version: int) -> StoredToken | None:
        """The stored token, once it is newer than `seen_version`: a replica that redeemed the
        same token a moment earlier writes its rotation right after Entra answers it, so the
        store is read again a few times (REREAD_DELAYS) before the refusal is taken as final."""
        assert self._store is not None
        for delay in REREAD_DELAYS:
            await self._sleep(delay)
            again = await self._store.load()
            if again is None:
                return None  # marked expired, or disconnected, meanwhile
            if again.version != seen_version:
                return again
        return None

    async def _post(self, form: dict[str, str]) -> _Answer:
        self.requests += 1
        started = self._clock()
        response = await send(
            self._http,
            "POST",
            self._settings.token_url(self._app.tenant_id if self._app else None),
            form=form,
            headers={"Accept": "application/json"},
            timeout=self._settings.partner_center_timeout,
            sleep=self._sleep,
        )
        return _Answer(json_object(response), response.status_code, started)

    def _token_of(self, answer: _Answer) -> _Token:
        body = answer.body
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise PartnerCenterError(answer.status, "bad_token_response", "no access_token")
        try:
            lifetime = float(body.get("expires_in", 0))
        except (TypeError, ValueError) as exc:
            raise PartnerCenterError(
                answer.status, "bad_token_response", "expires_in is not a number"
            ) from exc
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
        return _Token(access_token, answer.started + lifetime - margin)

    def _credentials(self) -> dict[str, str]:
        if self._app is not None:
            return {"client_id": self._app.client_id, "client_secret": self._app.client_secret}
        settings = self._settings
        if not settings.partner_tenant_id:
            raise PartnerCenterNotConfigured("PARTNER_TENANT_ID")
        if not settings.partner_center_client_id:
            raise PartnerCenterNotConfigured("PARTNER_CENTER_CLIENT_ID")
        secret = settings.partner_center_client_secret
        if secret is None or not secret.get_secret_value():
            raise PartnerCenterNotConfigured("PARTNER_CENTER_CLIENT_SECRET")
        return {
            "client_id": settings.partner_center_client_id,
            "client_secret": secret.get_secret_value(),
        }

    def _audience_field(self, resource: str) -> dict[str, str]:
        """v2.0 endpoints take a scope; the v1 endpoint takes a resource."""
        if "/v2.0/" in self._settings.azure_ad_token_url:
            return {"scope": f"{resource}/.default offline_access"}
        return {"resource": resource}


def _reason(error: PartnerCenterError) -> str:
    """Entra's error, as we may show and log it: its code and the first line of its
    description (AADSTS number and text; it never contains the token)."""
    first = error.message.strip().splitlines()[0] if error.message.strip() else ""
    return f"{error.code}: {first}"[:300]
