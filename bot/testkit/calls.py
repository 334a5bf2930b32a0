"""The record of every request the Slack stand-in received, and counts over it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

RESPONSE_URL_METHOD = "response_url"


@dataclass(frozen=True)
class Call:
    """One request as the stand-in received it, and how it was answered.

    `params` merges the query string and the body (JSON, form or multipart), with the
    JSON-encoded form fields (`blocks`, `view`, ...) decoded. `headers` has lower-case
    names. `at` is `time.monotonic()` when the request arrived. `status` is the HTTP
    status answered and `response` the JSON body answered.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    @property
    def ok(self) -> bool:
        """Slack accepted the call: HTTP 200 and `"ok": true`."""
        return self.status == 200 and self.response.get("ok") is True

    @property
    def delivered(self) -> bool:
        """Same as `ok`: the call took effect."""
        return self.ok

    @property
    def ratelimited(self) -> bool:
        return self.status == 429

    @property
    def server_error(self) -> bool:
        return self.status >= 500

    @property
    def error(self) -> str | None:
        """The Slack error code answered (`"ratelimited"`, `"invalid_auth"`, ...), if any."""
        if self.ok:
            return None
        value = self.response.get("error")
        return str(value) if value is not None else f"http_{self.status}"

    @property
    def token(self) -> str | None:
        """The bearer token of the request, or the `token` parameter."""
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        token = self.params.get("token")
        return str(token) if token is not None else None


@dataclass(frozen=True)
class Stats:
    """Counts over recorded calls; `by_method` holds the same counts per method."""

    calls: int = 0
    delivered: int = 0
    ratelimited: int = 0
    server_errors: int = 0
    api_errors: int = 0
    by_method: dict[str, Stats] = field(default_factory=dict)

    @classmethod
    def of(cls, calls: list[Call], *, per_method: bool = True) -> Stats:
        by_method: dict[str, Stats] = {}
        if per_method:
            names = sorted({c.method for c in calls})
            by_method = {
                name: cls.of([c for c in calls if c.method == name], per_method=False)
                for name in names
            }
        return cls(
            calls=len(calls),
            delivered=sum(1 for c in calls if c.delivered),
            ratelimited=sum(1 for c in calls if c.ratelimited),
            server_errors=sum(1 for c in calls if c.server_error),
            api_errors=sum(1 for c in calls if c.status == 200 and not c.ok),
            by_method=by_method,
        )


class CallLog:
    """A thread-safe, append-only list of calls that can be waited on."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._changed = threading.Condition()

    def add(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._calls.clear()
            self._changed.notify_all()

    def select(self, method: str | None = None, *, delivered: bool | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self._calls if _matches(c, method, delivered)]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        delivered: bool | None = None,
    ) -> list[Call]:
        """Block until `count` matching calls were recorded; return them all.

        Raises TimeoutError, naming what did arrive, when `timeout` seconds pass first.
        """
        deadline = time.monotonic() + timeout

        def ready() -> bool:
            return self._count(method, delivered) >= count

        with self._changed:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = self._count(method, delivered)
                    seen = sorted({c.method for c in self._calls})
                    raise TimeoutError(
                        f"waited {timeout:.1f}s for {count} {method!r} call(s)"
                        f"{' delivered' if delivered else ''}, got {got}; methods seen: {seen}"
                    )
                self._changed.wait(remaining)
            return [c for c in self._calls if _matches(c, method, delivered)]

    def _count(self, method: str, delivered: bool | None) -> int:
        return sum(1 for c in self._calls if _matches(c, method, delivered))

    def stats(self) -> Stats:
        return Stats.of(self.select())


def _matches(call: Call, method: str | None, delivered: bool | None) -> bool:
    if method is not None and call.method != method:
        return False
    return delivered is None or call.delivered == delivered
