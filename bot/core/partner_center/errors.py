"""Errors from Partner Center, Microsoft Graph and the token endpoint, in one shape."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx


class PartnerCenterError(Exception):
    """A failed call. `status` is the HTTP status (0 when no response arrived); `code` is
    Microsoft's error code when the body had one, else a code of ours."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class PartnerCenterTimeout(PartnerCenterError):
    def __init__(self, url: str) -> None:
        super().__init__(0, "timeout", f"no answer from {url} in time")


class PartnerCenterUnreachable(PartnerCenterError):
    def __init__(self, url: str, cause: str) -> None:
        super().__init__(0, "unreachable", f"cannot reach {url}: {cause}")


class PartnerCenterNotConfigured(PartnerCenterError):
    def __init__(self, missing: str) -> None:
        super().__init__(0, "not_configured", f"missing setting {missing}")


class ConnectionExpired(PartnerCenterError):
    """The organization's Partner Center connection is not usable: Entra refused its refresh
    token (expired or revoked; `message` says why, never the token), or there is none."""

    def __init__(self, reason: str) -> None:
        super().__init__(400, "connection_expired", reason)


class InvalidRequest(ValueError):
    """An argument we refuse to send; `reason` is machine-readable."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def error_from_response(response: httpx.Response) -> PartnerCenterError:
    """Maps Microsoft's error bodies: Partner Center `{"code", "description"}`, Graph
    `{"error": {"code", "message"}}` and Entra ID `{"error", "error_description"}`."""
    status = response.status_code
    fallback = PartnerCenterError(status, f"http_{status}", response.text[:300].strip())
    try:
        body: Any = json.loads(response.content) if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return fallback
    if not isinstance(body, dict):
        return fallback
    error = body.get("error")
    if isinstance(error, dict):
        return PartnerCenterError(
            status, str(error.get("code") or f"http_{status}"), str(error.get("message") or "")
        )
    if isinstance(error, str):
        return PartnerCenterError(status, error, str(body.get("error_description") or ""))
    if "code" in body or "description" in body:
        return PartnerCenterError(
            status,
            str(body.get("code") or f"http_{status}"),
            str(body.get("description") or body.get("message") or ""),
        )
    return fallback
