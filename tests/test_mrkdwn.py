"""bot.core.ui.mrkdwn: escaping user-typed text and truncating it without breaking entities."""

from __future__ import annotations

import html
import re

import pytest

from bot.core.ui.mrkdwn import escape, truncate

ENTITY_FRAGMENT = re.compile(r"&(a|am|amp|l|lt|g|gt)?…$")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<#C123|general>", "&lt;#C123|general&gt;"),
        ("<https://x|y>", "&lt;https://x|y&gt;"),
        ("<!subteam^S1>", "&lt;!subteam^S1&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("a<b>c", "a&lt;b&gt;c"),
    ],
)
def test_escape_neutralises_control_sequences(typed: str, expected: str) -> None:
    assert escape(typed) == expected
    assert "<" not in escape(typed) and ">" not in escape(typed)


def test_escape_ampersand_first_so_typed_entities_stay_literal() -> None:
    # A user who types "&lt;" must see "&lt;", not "<": the & is escaped, not left as an entity.
    assert escape("&lt;") == "&amp;lt;"
    assert escape("&amp;") == "&amp;amp;"
    assert escape("<&>") == "&lt;&amp;&gt;"


def test_escape_round_trips_through_an_html_unescape() -> None:
    typed = "Contoso & Fabrikam <!channel> <@U1|bob> ->  🇪🇸 ñandú"
    assert html.unescape(escape(typed)) == typed


def test_escape_leaves_other_text_alone() -> None:
    typed = "*bold* _it_ ~s~ `code` :tada: ¿Qué tal? 日本語 👩🏽‍💻 \"q\" 'a'"
    assert escape(typed) == typed
    assert escape("") == ""


def test_truncate_leaves_short_text_untouched() -> None:
    assert truncate("hello", 5) == "hello"
    assert truncate("", 3) == ""


def test_truncate_respects_the_limit_including_the_ellipsis() -> None:
    out = truncate("abcdefghij", 5)
    assert out == "abcd…"
    assert len(out) == 5
    assert truncate("abcdefghij", 6, ellipsis="...") == "abc..."


@pytest.mark.parametrize("limit", range(1, 20))
def test_truncate_never_cuts_an_entity(limit: int) -> None:
    text = escape("a&b<c>d&&e<<f>>g")
    out = truncate(text, limit)
    assert len(out) <= limit
    assert ENTITY_FRAGMENT.search(out) is None, out
    # What is left before the ellipsis decodes to a prefix of what the user typed.
    kept = out.removesuffix("…")
    assert "a&b<c>d&&e<<f>>g".startswith(html.unescape(kept))


def test_truncate_backs_up_to_before_a_straddling_entity() -> None:
    text = escape("ab&cd")  # "ab&amp;cd"
    assert truncate(text, 5) == "ab…"  # "ab&a…" would show a broken "&a"
    assert truncate(text, 8) == "ab&amp;…"  # the whole entity fits, so it stays


def test_truncate_does_not_mistake_a_plain_ampersand_run() -> None:
    # Not an entity at the cut (text that was never escaped): cut exactly at the limit.
    assert truncate("x&ampy z", 5) == "x&am…"


def test_truncate_keeps_emoji_whole() -> None:
    family = "👨‍👩‍👧"  # three people joined by ZWJ: 5 code points, one glyph
    text = "hi " + family + " there"
    for limit in range(4, 9):
        out = truncate(text, limit)
        assert len(out) <= limit
        kept = out.removesuffix("…")
        assert kept in ("hi ", "hi " + family), (limit, kept)


def test_truncate_keeps_skin_tone_and_flags_whole() -> None:
    thumbs = "👍🏽"  # base + modifier
    assert truncate("ok" + thumbs + "yes", 4) == "ok…"
    flags = "🇪🇸🇲🇽🇺🇸"  # three flags, six regional indicators
    for limit in range(2, 7):
        kept = truncate(flags, limit).removesuffix("…")
        assert len(kept) % 2 == 0, (limit, kept)


def test_truncate_keeps_combining_accents_with_their_letter() -> None:
    decomposed = "cafe\u0301 au lait"  # é as e + combining acute
    assert truncate(decomposed, 5) == "caf…"  # "cafe…" would drop the accent
    assert truncate(decomposed, 6) == "cafe\u0301…"


def test_truncate_combining_mark_after_an_entity_does_not_split_the_entity() -> None:
    text = escape(">\u0301xyz")  # "&gt;" + combining acute: the mark joins the entity's ";"
    assert truncate(text, 6) == "&gt;\u0301…"
    out = truncate(text, 5)  # cut before the mark, which backs into the entity: drop both
    assert ENTITY_FRAGMENT.search(out) is None, out
    assert out == "…"


def test_truncate_very_long_text() -> None:
    typed = ("Contoso & <Fabrikam> ñ 🇪🇸 " * 20_000)[:400_000]
    text = escape(typed)
    out = truncate(text, 3000)
    assert len(out) <= 3000
    assert out.endswith("…")
    assert ENTITY_FRAGMENT.search(out) is None
    assert typed.startswith(html.unescape(out.removesuffix("…")))


def test_truncate_rejects_a_limit_shorter_than_the_ellipsis() -> None:
    with pytest.raises(ValueError, match="shorter than the ellipsis"):
        truncate("abcdef", 2, ellipsis="...")
    assert truncate("abcdef", 3, ellipsis="...") == "..."
