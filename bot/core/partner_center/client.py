"""Partner Center REST calls Multichannel needs (docs/partner-center.md §3-§5)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from bot.core.partner_center.errors import InvalidRequest, PartnerCenterError
from bot.core.partner_center.rest import Sleep
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.tokens import Audience, TokenProvider

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
INDIRECT_RESELLER_TYPE = "is_indirect_cloud_solution_provider_of"


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    company_name: str | None
    domain: str | None


class IndirectReseller(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None
    mpn_id: str | None
    state: str | None
    relationship_type: str | None


def require_guid(value: str, reason: str) -> str:
    if not GUID.match(value):
        raise InvalidRequest(reason, value[:60])
    return value.lower()


class PartnerCenterClient:
    def __init__(
        self,
        settings: PartnerCenterSettings,
        http: httpx.AsyncClient,
        *,
        tokens: TokenProvider | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._http = http
        self._sleep = sleep
        self.tokens = tokens if tokens is not None else TokenProvider(settings, http, sleep=sleep)
        self._base = settings.partner_center_api_url.rstrip("/")

    async def relationship_request_url(self) -> str:
        """The partner's reseller-relationship invitation link."""
        body = await self._call("GET", "/v1/customers/relationshiprequests")
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise PartnerCenterError(200, "bad_response", "relationship request without url")
        return url

    async def get_customer(self, customer_id: str) -> Customer:
        customer_id = require_guid(customer_id, "invalid_customer_id")
        body = await self._call("GET", f"/v1/customers/{customer_id}")
        profile = body.get("companyProfile")
        profile = profile if isinstance(profile, dict) else {}
        return Customer(
            id=str(body.get("id") or customer_id),
            company_name=_text(profile.get("companyName")),
            domain=_text(profile.get("domain")),
        )

    async def indirect_resellers_of_customer(self, customer_id: str) -> list[IndirectReseller]:
        customer_id = require_guid(customer_id, "invalid_customer_id")
        body = await self._call("GET", f"/v1/customers/{customer_id}/relationships")
        items = body.get("items")
        resellers: list[IndirectReseller] = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not _text(item.get("id")):
                continue
            kind = _text(item.get("relationshipType"))
            if kind is not None and kind.lower() != INDIRECT_RESELLER_TYPE:
                continue
            resellers.append(
                IndirectReseller(
                    id=str(item["id"]),
                    name=_text(item.get("name")),
                    mpn_id=_text(item.get("mpnId")),
                    state=_text(item.get("state")),
                    relationship_type=kind,
                )
            )
        return resellers

    async def register_webhook(self, url: str, events: Sequence[str]) -> dict[str, Any]:
        """Registers the callback; when one is already registered, updates it instead."""
        if not url.startswith("https://"):
            raise InvalidRequest("webhook_url_not_https", url[:100])
        if not events:
            raise InvalidRequest("no_events")
        payload = {"WebhookUrl": url, "WebhookEvents": list(events)}
        try:
            return await self._call("POST", "/webhooks/v1/registration", json_body=payload)
        except PartnerCenterError as exc:
            if not _already_registered(exc):
                raise
        return await self._call("PUT", "/webhooks/v1/registration", json_body=payload)

    async def _call(self, method: str, path: str, *, json_body: Any = None) -> dict[str, Any]:
        request_ids = {"MS-RequestId": str(uuid.uuid4()), "MS-CorrelationId": str(uuid.uuid4())}
        return await self.tokens.call(
            self._http,
            Audience.PARTNER_CENTER,
            method,
            self._base + path,
            json_body=json_body,
            headers=request_ids,
            sleep=self._sleep,
        )


def _already_registered(error: PartnerCenterError) -> bool:
    if error.status == 409:
        return True
    return error.status == 400 and "already" in error.message.lower()


def _text(value: object) -> str | None:
    if isinstance(value, str | int) and str(value).strip():
        return str(value).strip()
    return None
