"""The edition quotes the seed page verbatim, and every sentence of the page maps to a rule."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from policy import get_edition

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "multichannel.es.md"
# Labels of the page, not statements: the table's row headers and the box title.
LABELS = {
    "Servicios basados en licencias",
    "Servicios basados en el uso",
    "Revendedores indirectos en CSP",
    "Importante",
}


def normalize(text: str) -> str:
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # [text](target.md) → text
    text = re.sub(r"<[^>]+>", " ", text)  # HTML tags (<strong>, <td>, <br>...)
    text = text.replace("**", " ")
    text = re.sub(r"^\s*[-*]\s+", " ", text, flags=re.M)  # list bullets
    text = re.sub(r"^\s*>", " ", text, flags=re.M)  # block quotes
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def seed_body() -> str:
    if not SEED.exists():
        pytest.skip(f"seed page not found at {SEED} (CI puts ../shared beside the checkout)")
    text = SEED.read_text("utf-8")
    body = text.split("---", 2)[2]  # drop the front matter
    body = re.sub(r"^# .*$", "", body, flags=re.M)  # the title
    return normalize(body)


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.:])\s+(?=[A-ZÁÉÍÓÚ¿])", text)
    return [p.strip() for p in parts if p.strip()]


def seed_rules() -> list[Any]:
    """The rules that quote the seed page itself (the others quote pages it links, and name
    them in `source`)."""
    return [r for r in get_edition("2017-03").rules if r.source is None]


def rule_quotes() -> list[str]:
    quotes = []
    for rule in seed_rules():
        quotes.extend(normalize(q) for q in rule.text_es.split("; "))
    return quotes


def test_every_citation_quotes_the_seed() -> None:
    body = seed_body()
    for rule in seed_rules():
        for quote in rule.text_es.split("; "):
            if rule.id == "applies-to":  # a list in the page: "Se aplica a" + its items
                assert all(part in body for part in ("Se aplica a", normalize(quote)[-30:]))
            assert normalize(quote) in body or rule.id == "applies-to", rule.id


def test_every_sentence_of_the_seed_maps_to_a_rule() -> None:
    body = seed_body()
    quotes = " ".join(rule_quotes())
    for label in LABELS:
        body = body.replace(label, " ")
    body = re.sub(r"\s+", " ", body)
    uncovered = [s for s in sentences(body) if s not in quotes]
    # "Se aplica a" and its two list items are one statement, quoted as one rule
    uncovered = [s for s in uncovered if not s.startswith("Se aplica a")]
    assert uncovered == []


def test_applies_to_lists_both_consoles() -> None:
    body = seed_body()
    assert "Centro de partners para Microsoft Cloud Alemania" in body
    assert get_edition("2017-03").applies_to_clouds == ("global", "germany")


def test_quotations_are_plain_text_and_links_apart() -> None:
    """F13: the page's markup (<strong>, [text](page.md)) is not part of a quotation; the link
    is a separate field, pointing at a page, not at a relative .md path."""
    rules = {r.id: r for r in get_edition("2017-03").rules}
    for rule in rules.values():
        assert "<" not in rule.text_es and "](" not in rule.text_es, rule.id
    link = rules["table-license"].links[0]
    assert link.text_es in rules["table-license"].text_es
    assert link.url.startswith("https://") and not link.url.endswith(".md")
