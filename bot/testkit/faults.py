"""Failures the stand-in can be told to answer: scripted faults and per-channel rate limits."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """An HTTP status and JSON body to answer, with Retry-After for a 429."""

    status: int
    body: dict[str, Any]
    retry_after: int | None = None

    @classmethod
    def ratelimited(cls, retry_after: int) -> Answer:
        return cls(429, {"ok": False, "error": "ratelimited"}, retry_after)


@dataclass
class _Fault:
    answer: Answer
    remaining: int


class FaultPlan:
    """Scripted answers, consumed in order per method, each `times` times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Fault]] = {}

    def add(self, method: str, answer: Answer, times: int) -> None:
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        with self._lock:
            self._queues.setdefault(method, deque()).append(_Fault(answer, times))

    def take(self, method: str) -> Answer | None:
        """The next scripted answer for `method`, if any (it is used up)."""
        with self._lock:
            queue = self._queues.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.popleft()
            return fault.answer

    def pending(self, method: str) -> int:
        with self._lock:
            return sum(f.remaining for f in self._queues.get(method, ()))

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per (method, channel): `rate` tokens a second, at most `burst` saved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, tuple[float, float]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def limit(self, method: str, per_channel_per_second: float, burst: int) -> None:
        if per_channel_per_second <= 0:
            raise ValueError("per_channel_per_second must be > 0")
        if burst < 1:
            raise ValueError("burst must be >= 1")
        with self._lock:
            self._limits[method] = (per_channel_per_second, float(burst))
            for key in [k for k in self._buckets if k[0] == method]:
                del self._buckets[key]

    def unlimit(self, method: str | None = None) -> None:
        with self._lock:
            if method is None:
                self._limits.clear()
                self._buckets.clear()
                return
            self._limits.pop(method, None)
            for key in [k for k in self._buckets if k[0] == method]:
                del self._buckets[key]

    def admit(self, method: str, channel: str, now: float | None = None) -> Answer | None:
        """Take a token for this call, or say how long to wait (whole seconds, >= 1)."""
        with self._lock:
            limit = self._limits.get(method)
            if limit is None:
                return None
            rate, burst = limit
            now = time.monotonic() if now is None else now
            bucket = self._buckets.get((method, channel))
            if bucket is None:
                bucket = self._buckets[(method, channel)] = _Bucket(burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            wait = (1.0 - bucket.tokens) / rate
            return Answer.ratelimited(max(1, math.ceil(wait - 1e-9)))
