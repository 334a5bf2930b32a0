"""Invitation references: short codes people can read aloud and quote (`INV-7K3Q9`)."""

from __future__ import annotations

import secrets

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bot.core.store.errors import StoreError
from bot.core.store.models import Invitation

REF_PREFIX = "INV-"
REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
REF_LENGTH = 5  # 32**5: about 33 million


def new_ref() -> str:
    return REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def normalize_ref(text: str) -> str:
    """`inv-7k3q9`, ` 7K3Q9 ` → `INV-7K3Q9`."""
    ref = text.strip().upper()
    return ref if ref.startswith(REF_PREFIX) else REF_PREFIX + ref


def unique_ref(session: Session) -> str:
    """A reference no invitation has yet (the unique constraint guards the rare race)."""
    for _ in range(20):
        ref = new_ref()
        if not session.scalar(select(exists().where(Invitation.ref == ref))):
            return ref
    raise StoreError("could not draw an unused invitation reference", code="ref_exhausted")
