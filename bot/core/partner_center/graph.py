"""GDAP relationships through Microsoft Graph (docs/partner-center.md §3)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from bot.core.partner_center.client import require_guid
from bot.core.partner_center.errors import InvalidRequest, PartnerCenterError
from bot.core.partner_center.rest import Sleep
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.tokens import Audience, TokenProvider
from policy.links import gdap_approval_link

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx

GLOBAL_ADMINISTRATOR_ROLE = "62e90394-69f5-4237-9190-012177145e10"
MAX_DISPLAY_NAME = 50
MIN_DURATION_DAYS = 1
MAX_DURATION_DAYS = 730
RELATIONSHIPS_PATH = "/v1.0/tenantRelationships/delegatedAdminRelationships"

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_RELATIONSHIP_ID = re.compile(r"^[0-9A-Za-z-]{1,100}$")


class Relationship(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: str
    display_name: str | None = None


class RelationshipRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    action: str
    status: str


def approval_url(relationship_id: str) -> str:
    """The link the customer's global admin opens to approve the relationship."""
    return gdap_approval_link(_relationship_id(relationship_id))


def duration_days(duration: str) -> int:
    """Days in an ISO 8601 duration made of years, months, weeks and days (P2Y = 730)."""
    match = _DURATION.match(duration)
    if match is None or not any(match.groups()):
        raise InvalidRequest("bad_duration", duration[:40])
    years, months, weeks, days = (int(part) if part else 0 for part in match.groups())
    return years * 365 + months * 30 + weeks * 7 + days


class GraphGdapClient:
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
        self._base = settings.graph_api_url.rstrip("/") + RELATIONSHIPS_PATH

    async def create_relationship(
        self,
        display_name: str,
        customer_tenant_id: str | None,
        role_definition_ids: Sequence[str],
        duration: str = "P730D",
    ) -> Relationship:
        name = display_name.strip()
        if not name:
            raise InvalidRequest("display_name_empty")
        if len(name) > MAX_DISPLAY_NAME:
            raise InvalidRequest("display_name_too_long", f"{len(name)} > {MAX_DISPLAY_NAME}")
        if not role_definition_ids:
            raise InvalidRequest("no_roles")
        roles = [require_guid(role, "invalid_role_definition_id") for role in role_definition_ids]
        days = duration_days(duration)
        if not MIN_DURATION_DAYS <= days <= MAX_DURATION_DAYS:
            raise InvalidRequest("duration_out_of_range", duration)
        payload: dict[str, Any] = {
            "displayName": name,
            "duration": duration,
            "accessDetails": {
                "unifiedRoles": [{"roleDefinitionId": role} for role in dict.fromkeys(roles)]
            },
            # Microsoft refuses auto-extension when Global Administrator is included.
            "autoExtendDuration": "PT0S" if GLOBAL_ADMINISTRATOR_ROLE in roles else "P180D",
        }
        if customer_tenant_id is not None:
            tenant = require_guid(customer_tenant_id, "invalid_customer_tenant_id")
            payload["customer"] = {"tenantId": tenant}
        body = await self._call("POST", "", json_body=payload)
        return _relationship(body)

    async def lock_for_approval(self, relationship_id: str) -> RelationshipRequest:
        path = f"/{_relationship_id(relationship_id)}/requests"
        body = await self._call("POST", path, json_body={"action": "lockForApproval"})
        request_id, action, status = body.get("id"), body.get("action"), body.get("status")
        if not all(isinstance(value, str) and value for value in (request_id, action, status)):
            raise PartnerCenterError(200, "bad_response", "request without id/action/status")
        return RelationshipRequest(id=str(request_id), action=str(action), status=str(status))

    async def get_relationship(self, relationship_id: str) -> Relationship:
        """For polling when a webhook is late or lost."""
        return _relationship(await self._call("GET", f"/{_relationship_id(relationship_id)}"))

    async def _call(self, method: str, path: str, *, json_body: Any = None) -> dict[str, Any]:
        return await self.tokens.call(
            self._http,
            Audience.GRAPH,
            method,
            self._base + path,
            json_body=json_body,
            sleep=self._sleep,
        )


def _relationship_id(value: str) -> str:
    if not _RELATIONSHIP_ID.match(value):
        raise InvalidRequest("invalid_relationship_id", value[:60])
    return value


def _relationship(body: dict[str, Any]) -> Relationship:
    relationship_id, status = body.get("id"), body.get("status")
    if not isinstance(relationship_id, str) or not isinstance(status, str):
        raise PartnerCenterError(200, "bad_response", "relationship without id/status")
    name = body.get("displayName")
    return Relationship(
        id=relationship_id, status=status, display_name=name if isinstance(name, str) else None
    )
