"""Make user-typed text safe to place inside Slack mrkdwn, and shorten it safely.

Why only ``&``, ``<`` and ``>``: they are the three characters Slack documents as control
characters. Every mention, broadcast and link is written between angle brackets
(``<@U123>``, ``<!channel>``, ``<!subteam^S1>``, ``<#C1>``, ``<https://x|y>``), so once ``<`` and
``>`` are entities, user text can no longer ping anyone or forge a link. ``&`` is escaped first
so that an entity the user typed (``&lt;``) shows up literally instead of being decoded.

Formatting characters (``*bold*``, ``_italic_``, ``~strike~``, backticks, ``>`` quotes at a line
start — the latter already neutralised as ``&gt;``) are deliberately left alone: Slack has no
escape for them, the usual trick (zero-width spaces) corrupts copy/paste and search, and the worst
they do is change how the user's own words look. For text that must not be auto-linked at all
(bare URLs, ``#channel`` names), send the text object with ``"verbatim": true``.
"""

from __future__ import annotations

import re
import unicodedata

_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_ENTITY_MAX_LENGTH = len("&amp;")
_ZWJ = "\u200d"
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_EXTENDERS = {_ZWJ, "\ufe0e", "\ufe0f"}  # joiner, text/emoji variation selectors


def escape(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` as ``&amp;``, ``&lt;``, ``&gt;`` (``&`` first)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """Shorten already-escaped text to at most ``limit`` characters, ending with ``ellipsis``.

    Never cuts an entity (``&amp;`` ...) in half, nor a character from what follows it (a
    combining accent, an emoji skin tone, a ZWJ sequence, the second half of a flag).
    """
    if limit < len(ellipsis):
        raise ValueError(f"limit {limit} is shorter than the ellipsis {ellipsis!r}")
    if len(text) <= limit:
        return text
    cut = limit - len(ellipsis)
    while True:  # both only move back, so this ends; repeat as one may undo the other
        moved = _outside_cluster(text, _outside_entity(text, cut))
        if moved == cut:
            return text[:cut] + ellipsis
        cut = moved


def _outside_entity(text: str, cut: int) -> int:
    """Move ``cut`` back to the ``&`` of an entity that would straddle it."""
    start = text.rfind("&", max(0, cut - _ENTITY_MAX_LENGTH + 1), cut)
    if start != -1:
        match = _ENTITY.match(text, start)
        if match is not None and match.end() > cut:
            return start
    return cut


def _outside_cluster(text: str, cut: int) -> int:
    """Move ``cut`` back until it does not split a user-perceived character."""
    while 0 < cut < len(text) and _joins_previous(text, cut):
        cut -= 1
    return cut


def _joins_previous(text: str, i: int) -> bool:
    """Whether ``text[i]`` belongs to the same visible character as ``text[i - 1]``."""
    char, previous = text[i], text[i - 1]
    if char in _EXTENDERS or previous == _ZWJ:
        return True
    if unicodedata.category(char) in ("Mn", "Me", "Mc"):
        return True
    if 0x1F3FB <= ord(char) <= 0x1F3FF or 0xE0020 <= ord(char) <= 0xE007F:
        return True  # skin-tone modifier, or a tag of a subdivision flag
    if ord(char) in _REGIONAL_INDICATORS and ord(previous) in _REGIONAL_INDICATORS:
        run = 0  # flags are pairs of regional indicators: count the run before ``i``
        while i - run - 1 >= 0 and ord(text[i - run - 1]) in _REGIONAL_INDICATORS:
            run += 1
        return run % 2 == 1
    return False
