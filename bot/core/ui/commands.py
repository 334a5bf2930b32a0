"""Parse `/multichannel` text into typed commands. Pure: no Slack calls, no text for users
(errors are codes with parameters; templates/slack/usage_error.json.j2 words them)."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from policy import Cloud, Facts, Kind, Role, Source, Subscription
from policy.ids import parse_decision_id

SUBCOMMANDS: tuple[str, ...] = (
    "help",
    "assess",
    "invite",
    "status",
    "decision",
    "language",
    "admin",
)
LANGUAGE_CHOICES: tuple[str, ...] = ("en", "es", "auto")
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


Command = (
    HelpCommand
    | AssessCommand
    | InviteCommand
    | StatusCommand
    | AdminCommand
    | LanguageCommand
    | DecisionCommand
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
    close = difflib.get_close_matches(head, SUBCOMMANDS, n=1, cutoff=0.5)
    raise UsageError("unknown_subcommand", value=tokens[0], suggestion=close[0] if close else None)


def _parse_assess(args: list[str]) -> AssessCommand:
    subs: list[Subscription] = []
    role: Role | None = None
    cloud = Cloud.global_
    csp = False
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
        if token in (
            "csp_partner_customer",
            "customer_is_csp_partner",
            "__customer_is_csp_partner",
        ):
            csp = True
            i += 1
            continue
        subs.append(_subscription(args[i]))
        i += 1
    if role is not None and not subs:
        raise UsageError("no_subscription")
    if len(subs) > MAX_SUBSCRIPTIONS:
        raise UsageError("too_many_subscriptions", limit=MAX_SUBSCRIPTIONS)
    return AssessCommand(
        subscriptions=tuple(subs), role=role, cloud=cloud, customer_is_csp_partner=csp
    )


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


def _subscription(value: str) -> Subscription:
    source, sep, kind = _norm(value).partition(":")
    if not sep:
        raise UsageError(
            "bad_subscription",
            value=value,
            sources=[s.value for s in Source],
            kinds=[k.value for k in Kind],
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
    return Subscription(source=Source(source), kind=Kind(kind))


def _parse_decision(args: list[str]) -> DecisionCommand:
    if not args:
        raise UsageError("missing_decision_id")
    decision_id = parse_decision_id(args[0]) if len(args) == 1 else None
    if decision_id is None:
        raise UsageError("bad_decision_id", value=" ".join(args)[:80])
    return DecisionCommand(decision_id=decision_id)
