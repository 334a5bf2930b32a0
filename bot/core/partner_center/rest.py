"""One HTTP call to a Microsoft API: timeouts, one retry on 429, errors mapped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from bot.core.partner_center.errors import (
    PartnerCenterError,
    PartnerCenterTimeout,
    PartnerCenterUnreachable,
    error_from_response,
)

if TYPE_CHECKING:  # httpx is imported when a Partner Center call is made
    import httpx

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 60.0


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    sleep: Sleep = asyncio.sleep,
) -> httpx.Response:
    """The successful (2xx) response, or `PartnerCenterError`. A 429 is retried once after
    its Retry-After (capped); a second 429 is raised."""
    import httpx

    for attempt in (1, 2):
        try:
            response = await http.request(
                method,
                url,
                headers=headers,
                json=json_body,
                data=form,
                params=params,
                timeout=timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise PartnerCenterTimeout(url) from exc
        except httpx.TransportError as exc:
            raise PartnerCenterUnreachable(url, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 and attempt == 1:
            delay = retry_after_seconds(response.headers.get("retry-after"))
            if delay is not None:
                await sleep(delay)
                continue
        if response.is_success:
            return response
        raise error_from_response(response)
    raise AssertionError("unreachable")  # pragma: no cover


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait, or None when the wait is longer than we are willing to hold a request."""
    if value is None or not value.strip():
        return DEFAULT_RETRY_AFTER
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if seconds <= MAX_RETRY_AFTER else None


def json_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PartnerCenterError(
            response.status_code, "bad_response", f"not JSON: {response.text[:200]}"
        ) from exc


def json_object(response: httpx.Response) -> dict[str, Any]:
    body = json_of(response)
    if not isinstance(body, dict):
        raise PartnerCenterError(response.status_code, "bad_response", "expected a JSON object")
    return body
