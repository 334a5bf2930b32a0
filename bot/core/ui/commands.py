"""Parse `/multichannel` text into typed commands. Pure: no Slack calls, no text for users
(errors are codes with parameters; templates/slack/usage_error.json.j2 words them)."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from policy import (
    Cloud,
    Commerce,
    EditionError,
    Facts,
    Kind,
    Role,
    Source,
    Subscription,
    edition_names,
    resolve_edition,
)
from policy.ids import parse_decision_id

SUBCOMMANDS: tuple[str, ...] = (
    "help",
    "assess",
    "invite",
    "status",
    "decision",
    "language",
    "edition",
    "admin",
)
LANGUAGE_CHOICES: tuple[str, ...] = ("en", "es", "auto")
#: `/multichannel edition default`: the workspace follows the POLICY_EDITION setting again
EDITION_DEFAULT = "default"
CUSTOMER_MAX = 100

ROLE_ALIASES: dict[str, Role] = {
    "direct": Role.direct,
    "direct_bill": Role.direct,
    "indirect_provider": Role.indirect_provider,
    "provider": Role.indirect_provider,
    "distributor": Role.indirect_provider,
    "indirect_reseller": Role.indirect_reseller,
    "reseller": Role.indirect_reseller,
}
MAX_SUBSCRIPTIONS = 20
CACHE_SIZE = 1024  # distinct command texts (and facts) remembered: a desk types the same few


class HelpCommand(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: Literal["help"] = "help"


class AssessCommand(BaseModel):
    """`assess` with no arguments opens the modal (`subscriptions` empty)."""

    model_config = ConfigDict(frozen=True)
    name: Literal["assess"] = "assess"
    subscriptions: tuple[Subscription, ...] = ()
    role: Role | None = None
    cloud: Cloud = Cloud.global_
    customer_is_csp_partner: bool = False
    customer_non_csp_tenant: bool = False
    ea_transfer_eligible: bool = False
    #: `edition 2017-03`: this answer's edition (a dated name), else the one in force
    edition: str | None = None

    def facts(self, role: Role | None) -> Facts:
        """The policy's facts for these arguments, with `role` when the command names none.
        Memoized like `parse`: the same command and role give the same (frozen) Facts, which
        the engine's own cache then finds by identity."""
        return _facts(self, self.role or role)


@lru_cache(maxsize=CACHE_SIZE)
def _facts(command: AssessCommand, role: Role | None) -> Facts:
    return Facts(
        role=role,
        cloud=command.cloud,
        customer_is_csp_partner=command.customer_is_csp_partner,
        customer_non_csp_tenant=command.customer_non_csp_tenant,
        ea_transfer_eligible=command.ea_transfer_eligible,
        subscriptions=command.subscriptions,
    )


class InviteCommand(BaseModel):
    """`invite [customer]`: create an invitation (a reseller asks its provider instead)."""

    model_config = ConfigDict(frozen=True)
    name: Literal["invite"] = "invite"
    customer: str | None = None


class StatusCommand(BaseModel):
    """`status [customer]`: the invitations the user's organization may see."""

    model_config = ConfigDict(frozen=True)
    name: Literal["status"] = "status"
    customer: str | None = None


class AdminCommand(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: Literal["admin"] = "admin"


class LanguageCommand(BaseModel):
    """`language` (show), `language en|es|auto` (mine), `language workspace en|es|auto`."""

    model_config = ConfigDict(frozen=True)
    name: Literal["language"] = "language"
    workspace: bool = False
    choice: Literal["en", "es", "auto"] | None = None


class DecisionCommand(BaseModel):
    """`decision ID`: replay a logged decision of the user's organization."""

    model_config = ConfigDict(frozen=True)
    name: Literal["decision"] = "decision"
    decision_id: str


class EditionCommand(BaseModel):
    """`edition` (show the edition in force), `edition 2026-11|2017-03|current|default`
    (the workspace's edition, admins; `default`: the POLICY_EDITION setting again). The word
    `workspace` may come first, as in `language workspace es`."""

    model_config = ConfigDict(frozen=True)
    name: Literal["edition"] = "edition"
    choice: str | None = None  # an edition name as accepted by resolve_edition, or "default"


Command = (
    HelpCommand
    | AssessCommand
    | InviteCommand
    | StatusCommand
    | AdminCommand
    | LanguageCommand
    | DecisionCommand
    | EditionCommand
)


class UsageError(ValueError):
    """Malformed input. `code` selects the message; `params` fill it."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}")


#: control characters (tab, newline and carriage return aside): nothing a person types, and a
#: NUL is refused by PostgreSQL's text columns
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _norm(token: str) -> str:
    return token.strip().lower().replace("-", "_")


@lru_cache(maxsize=CACHE_SIZE)
def parse(text: str) -> Command:
    """The command in `text`, or UsageError. Memoized (commands are frozen, so sharing them is
    safe): every `/multichannel` passes here, mostly with the same few texts (bench/ack.py)."""
    if CONTROL_CHARACTERS.search(text):
        raise UsageError("control_character")
    tokens = text.split()
    if not tokens:
        return HelpCommand()
    head, args = _norm(tokens[0]), tokens[1:]
    if head in ("help", "?"):
        return HelpCommand()
    if head == "assess":
        return _parse_assess(args)
    if head in ("invite", "status"):
        customer = " ".join(args) or None
        if customer is not None and len(customer) > CUSTOMER_MAX:
            raise UsageError("customer_too_long", limit=CUSTOMER_MAX)
        return (
            InviteCommand(customer=customer)
            if head == "invite"
            else StatusCommand(customer=customer)
        )
    if head == "admin":
        return AdminCommand()
    if head in ("language", "idioma", "lang"):
        return _parse_language(args)
    if head in ("decision", "decisión", "replay"):
        return _parse_decision(args)
    if head in ("edition", "edicion", "edición"):
        return _parse_edition_command(args)
    close = difflib.get_close_matches(head, SUBCOMMANDS, n=1, cutoff=0.5)
    raise UsageError("unknown_subcommand", value=tokens[0], suggestion=close[0] if close else None)


def _parse_assess(args: list[str]) -> AssessCommand:
    subs: list[Subscription] = []
    role: Role | None = None
    cloud = Cloud.global_
    csp = non_csp_tenant = ea_eligible = False
    edition: str | None = None
    i = 0
    while i < len(args):
        token = _norm(args[i])
        if token == "as":
            if i + 1 >= len(args):
                raise UsageError("missing_role")
            named = _role(args[i + 1])
            if role is not None and named is not role:  # `as reseller as direct`: refused
                raise UsageError("conflicting_roles", roles=[role.value, named.value])
            role = named
            i += 2
            continue
        if token in ("cloud", "in"):
            if i + 1 >= len(args):
                raise UsageError("missing_cloud")
            cloud = _cloud(args[i + 1])
            i += 2
            continue
        if token in ("edition", "__edition"):
            if i + 1 >= len(args):
                raise UsageError("missing_edition", valid=edition_names())
            dated = _edition(args[i + 1])
            if edition is not None and dated != edition:
                raise UsageError("conflicting_editions", editions=[edition, dated])
            edition = dated
            i += 2
            continue
        if token in CSP_PARTNER_FLAGS:
            csp = True
            i += 1
            continue
        if token in NON_CSP_TENANT_FLAGS:
            non_csp_tenant = True
            i += 1
            continue
        if token in EA_TRANSFER_FLAGS:
            ea_eligible = True
            i += 1
            continue
        subs.append(parse_subscription(args[i]))
        i += 1
    if (role is not None or edition is not None) and not subs:
        raise UsageError("no_subscription")
    if len(subs) > MAX_SUBSCRIPTIONS:
        raise UsageError("too_many_subscriptions", limit=MAX_SUBSCRIPTIONS)
    if non_csp_tenant and not csp:
        raise UsageError("non_csp_tenant_needs_csp_partner")
    if not subs and (csp or ea_eligible):  # facts without a subscription: nothing to assess
        raise UsageError("no_subscription")
    return AssessCommand(
        subscriptions=tuple(subs),
        role=role,
        cloud=cloud,
        customer_is_csp_partner=csp,
        customer_non_csp_tenant=non_csp_tenant,
        ea_transfer_eligible=ea_eligible,
        edition=edition,
    )


#: the words that set a fact of `assess` (after _norm: lower case, `-` → `_`); the CLI's
#: option names work too
CSP_PARTNER_FLAGS = ("csp_partner_customer", "customer_is_csp_partner", "__customer_is_csp_partner")
NON_CSP_TENANT_FLAGS = ("non_csp_tenant", "customer_non_csp_tenant", "__customer_non_csp_tenant")
EA_TRANSFER_FLAGS = ("ea_transfer_eligible", "__ea_transfer_eligible")


def _edition(value: str) -> str:
    """The dated name of the edition `value` names (`current` → its dated edition)."""
    try:
        return resolve_edition(value.strip().lower())
    except EditionError:
        raise UsageError("bad_edition", value=value, valid=edition_names()) from None


def _parse_edition_command(args: list[str]) -> EditionCommand:
    words = [a.strip().lower() for a in args]
    if words and _norm(words[0]) in ("workspace", "team"):
        words = words[1:]
        if not words:
            raise UsageError("bad_edition", value="", valid=[*edition_names(), EDITION_DEFAULT])
    if not words:
        return EditionCommand()
    if len(words) > 1:
        raise UsageError(
            "bad_edition", value=" ".join(args), valid=[*edition_names(), EDITION_DEFAULT]
        )
    if words[0] in (EDITION_DEFAULT, "auto"):
        return EditionCommand(choice=EDITION_DEFAULT)
    if words[0] not in edition_names():
        raise UsageError("bad_edition", value=args[-1], valid=[*edition_names(), EDITION_DEFAULT])
    return EditionCommand(choice=words[0])


def _parse_language(args: list[str]) -> LanguageCommand:
    words = [_norm(a) for a in args]
    workspace = bool(words) and words[0] in ("workspace", "team", "default")
    if workspace:
        words = words[1:]
        if not words:
            raise UsageError("bad_language", value="", valid=list(LANGUAGE_CHOICES))
    if len(words) > 1 or (words and words[0] not in LANGUAGE_CHOICES):
        raise UsageError("bad_language", value=" ".join(args), valid=list(LANGUAGE_CHOICES))
    choice = words[0] if words else None
    return LanguageCommand(workspace=workspace, choice=choice)


def _role(value: str) -> Role:
    role = ROLE_ALIASES.get(_norm(value))
    if role is None:
        raise UsageError("bad_role", value=value, valid=[r.value for r in Role])
    return role


def _cloud(value: str) -> Cloud:
    try:
        return Cloud(_norm(value))
    except ValueError:
        raise UsageError("bad_cloud", value=value, valid=[c.value for c in Cloud]) from None


def parse_subscription(value: str) -> Subscription:
    """`SOURCE:KIND[:COMMERCE]`, the CLI's syntax (`mcbot assess --subscription`); the assess
    form's options use it too. UsageError names what is wrong."""
    source, sep, rest = _norm(value).partition(":")
    kind, _, commerce = rest.partition(":")
    if not sep or (not commerce and rest.endswith(":")):
        raise UsageError(
            "bad_subscription",
            value=value,
            sources=[s.value for s in Source],
            kinds=[k.value for k in Kind],
            commerces=[c.value for c in Commerce],
        )
    if source not in Source.__members__:
        close = difflib.get_close_matches(source, list(Source.__members__), n=1, cutoff=0.6)
        raise UsageError(
            "bad_source",
            value=source,
            valid=[s.value for s in Source],
            suggestion=close[0] if close else None,
        )
    if kind not in Kind.__members__:
        raise UsageError("bad_kind", value=kind, valid=[k.value for k in Kind])
    if commerce and commerce not in Commerce.__members__:
        raise UsageError("bad_commerce", value=commerce, valid=[c.value for c in Commerce])
    return Subscription(
        source=Source(source), kind=Kind(kind), commerce=Commerce(commerce) if commerce else None
    )


def _parse_decision(args: list[str]) -> DecisionCommand:
    if not args:
        raise UsageError("missing_decision_id")
    decision_id = parse_decision_id(args[0]) if len(args) == 1 else None
    if decision_id is None:
        raise UsageError("bad_decision_id", value=" ".join(args)[:80])
    return DecisionCommand(decision_id=decision_id)
