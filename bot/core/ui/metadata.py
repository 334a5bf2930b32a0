"""Context that travels with a button (`value`, ≤ 2000 chars) or a modal (`private_metadata`,
≤ 3000 chars), typed. Everything that arrives is validated; a forged or stale value is refused
(MetadataError), never trusted."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policy import Facts

T = TypeVar("T", bound=BaseModel)
#: a database id or version: what a BIGINT holds (a larger one is tampered with, and refused
#: here instead of overflowing in the database driver)
DbInt = Annotated[int, Field(ge=0, le=2**63 - 1)]


class MetadataError(ValueError):
    """A button value or private_metadata that does not parse."""


class _Meta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def dump(self) -> str:
        return self.model_dump_json(exclude_defaults=True)


def load(model: type[T], raw: str | None) -> T:
    try:
        return model.model_validate_json(raw or "{}")
    except ValidationError as exc:
        raise MetadataError(f"{model.__name__}: {exc.error_count()} invalid field(s)") from exc


class AssessOrigin(_Meta):
    """Where an assessment was asked: the modal carries it to the submission."""

    channel_id: str | None = None
    response_url: str | None = Field(default=None, max_length=1000)


class DecisionRef(_Meta):
    """A decision shown to a user: enough to render it again (Share in channel) or to compare
    it with the other edition (What would the other edition say?) — the engine is
    deterministic for a given edition, and the decision id is kept. The edition is a dated
    name (an edition this version does not have is refused by the listener, as out of date);
    the decision id is letters, digits and '-' (the bot's are UUIDs)."""

    decision_id: str = Field(pattern=r"^[0-9A-Za-z-]{1,64}$")
    edition: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    facts: Facts
    customer: str | None = Field(default=None, max_length=100)


class InvitationButton(_Meta):
    """A button on an invitation message: which invitation, at which version (a click on an
    outdated message is refused as a conflict instead of undoing someone else's change)."""

    i: DbInt
    v: DbInt


class JoinButton(_Meta):
    """Approve / Decline on a reseller's join request: which request, at which version."""

    r: DbInt
    v: DbInt


class InviteContext(_Meta):
    """Carried by the "Create invitation" / "Ask my provider" buttons and their modals."""

    customer: str | None = Field(default=None, max_length=100)
    decision_id: str | None = None
    channel_id: str | None = None
    provider_key: str | None = None


class GdapContext(_Meta):
    """Carried by the modal where a partner records a GDAP relationship it created in its own
    Partner Center (no Microsoft Graph for it here): the invitation and version clicked, where,
    and what the form was opened for (`k`, a surfaces.GdapOffer: a different answer at
    submission is refused as stale)."""

    i: DbInt
    v: DbInt
    channel_id: str | None = None
    k: Literal["own", "for_reseller", "reseller_own"] | None = None


class LinkChoice(BaseModel):
    """An option of the unmatched-acceptance select: event `e`, invitation `i` (≤ 75 chars)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    e: DbInt
    i: DbInt

    def dump(self) -> str:
        return self.model_dump_json()
