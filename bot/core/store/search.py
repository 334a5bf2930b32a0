"""Customer search that an index serves: `invitation_search_keys`.

Each invitation has a few keys, stored when it is created: its customer name normalized
(whitespace collapsed, casefolded) from each word on ("fabrikam via northwind", "via
northwind", "northwind"), and its domain (lowercase). A search term matches the start of a key:
the start of any word of the name and what follows it, or the start of the domain. It is a
prefix search on one B-tree (`key >= term AND key < term || U+10FFFF`): byte order on both
backends (SQLite's BINARY collation; the column is COLLATE "C" on PostgreSQL), so it reads only
the keys that match, however many invitations exist. Our choice over pg_trgm (PostgreSQL only)
and SQLite FTS5: one mechanism on both databases, no extension to install; the cost is that a
term matching the middle of a word ("soft" in "Microsoft") finds nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.sql import Select

from bot.core.store.models import InvitationSearchKey

KEY_LENGTH = 253
HIGHEST = "\U0010ffff"  # sorts after every character: `term + HIGHEST` bounds the prefix


def normalize(text: str | None) -> str:
    """How names and terms are compared: whitespace collapsed, casefolded."""
    return " ".join((text or "").split()).casefold()


def search_keys(customer_name: str, customer_domain: str | None) -> set[str]:
    words = normalize(customer_name).split(" ")
    keys = {" ".join(words[i:])[:KEY_LENGTH] for i in range(len(words)) if words[i]}
    if customer_domain and customer_domain.strip():
        keys.add(customer_domain.strip().lower()[:KEY_LENGTH])
    return keys


def prefix_clause(term: str) -> ColumnElement[bool]:
    prefix = normalize(term)[:KEY_LENGTH]
    return and_(InvitationSearchKey.key >= prefix, InvitationSearchKey.key < prefix + HIGHEST)


def matching_ids(term: str) -> Select[Any]:
    """Ids of invitations with a key starting with `term` (for `id IN (...)`)."""
    return select(InvitationSearchKey.invitation_id).where(prefix_clause(term))


def exact_ids(keys: list[str]) -> Select[Any]:
    """Ids of invitations with one of `keys` exactly (a domain, a whole normalized name)."""
    return select(InvitationSearchKey.invitation_id).where(InvitationSearchKey.key.in_(keys))
