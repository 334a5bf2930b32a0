"""Access tokens from Microsoft Entra ID, cached until shortly before they expire.

Partner Center's relationship-request call needs app+user (delegated) credentials: a
refresh-token grant. Graph's GDAP calls use an app-only client-credentials token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from bot.core.partner_center.errors import PartnerCenterError, PartnerCenterNotConfigured
from bot.core.partner_center.rest import Sleep, json_object, send
from bot.core.partner_center.settings import PartnerCenterSettings

PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
REFRESH_MARGIN_SECONDS = 300.0


class Audience(StrEnum):
    PARTNER_CENTER = "partner_center"
    GRAPH = "graph"


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float


class TokenProvider:
    def __init__(
        self,
        settings: PartnerCenterSettings,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        on_refresh_token: Callable[[str], None] | None = None,
    ) -> None:
        """`on_refresh_token` receives a rotated refresh token so the caller can persist it."""
        self._settings = settings
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._on_refresh_token = on_refresh_token
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
        if audience is Audience.PARTNER_CENTER:
            if not self._refresh_token:
                raise PartnerCenterNotConfigured("PARTNER_CENTER_REFRESH_TOKEN")
            form |= {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
            form |= self._audience_field(PARTNER_CENTER_RESOURCE)
        else:
            form |= {"grant_type": "client_credentials", "scope": GRAPH_SCOPE}
        url = self._settings.token_url()
        self.requests += 1
        started = self._clock()
        response = await send(
            self._http,
            "POST",
            url,
            form=form,
            headers={"Accept": "application/json"},
            timeout=self._settings.partner_center_timeout,
            sleep=self._sleep,
        )
        body = json_object(response)
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise PartnerCenterError(response.status_code, "bad_token_response", "no access_token")
        try:
            lifetime = float(body.get("expires_in", 0))
        except (TypeError, ValueError) as exc:
            raise PartnerCenterError(
                response.status_code, "bad_token_response", "expires_in is not a number"
            ) from exc
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            if self._on_refresh_token is not None:
                self._on_refresh_token(rotated)
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
        return _Token(access_token, started + lifetime - margin)

    def _credentials(self) -> dict[str, str]:
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
