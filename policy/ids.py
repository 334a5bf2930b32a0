"""Decision ids: UUID version 7 (RFC 9562), in the usual 8-4-4-4-12 hex form.

A version 7 UUID starts with the Unix time in milliseconds, so ids sort by creation time and a
table keyed by them (the bot's decision log) grows at the end of its index instead of at random
places (bench/ack.py). The other 74 bits are random, from `os.urandom` read in blocks: one system
call per few hundred ids instead of one per id as `uuid.uuid4()` makes. Each thread has its own
block, and a forked child starts a new one, so no two ids share their random bits.
"""

from __future__ import annotations

import os
import re
import threading
import time

_BLOCK = 4000  # random bytes read at once: 400 ids


class _Entropy(threading.local):
    def __init__(self) -> None:
        self.block = b""
        self.offset = 0


_entropy = _Entropy()


def _renew_after_fork() -> None:
    global _entropy
    _entropy = _Entropy()


os.register_at_fork(after_in_child=_renew_after_fork)


def _random10() -> bytes:
    e = _entropy
    start = e.offset
    if start + 10 > len(e.block):
        e.block, start = os.urandom(_BLOCK), 0
    e.offset = start + 10
    return e.block[start : start + 10]


def uuid7(millis: int | None = None) -> str:
    """A version 7 UUID string; `millis` (Unix time in milliseconds) defaults to now."""
    ms = time.time_ns() // 1_000_000 if millis is None else millis
    b = bytearray((ms & 0xFFFF_FFFF_FFFF).to_bytes(6, "big"))
    b += _random10()
    b[6] = 0x70 | (b[6] & 0x0F)  # version 7
    b[8] = 0x80 | (b[8] & 0x3F)  # variant 10 (RFC 9562)
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_decision_id() -> str:
    """A fresh decision id: a version 7 UUID string (lowercase, with hyphens)."""
    return uuid7()


# any UUID in the 8-4-4-4-12 form (decisions logged before ids were version 7 are UUIDs too)
_DECISION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_decision_id(value: str) -> str | None:
    """The decision id `value` names (surrounding spaces and letter case ignored), or None when
    it is not one."""
    candidate = value.strip().lower()
    return candidate if _DECISION_ID.fullmatch(candidate) else None
