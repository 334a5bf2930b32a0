"""`mcbot`: the command line. Each subcommand has --help; bad input exits 2 with a message."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from bot.core.ui.render import render_text

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that prints our error text (already explained) and exits 2, never a traceback."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _fail(text: str) -> int:
    sys.stderr.write(text.rstrip() + "\n")
    return 2


# ---------------------------------------------------------------------------- assess
def _error(error: str, **params: Any) -> str:
    return render_text("text/errors.txt.j2", error=error, **params).strip()


def _subscription(value: str) -> Any:
    from policy import Commerce, Kind, Source, Subscription

    source, sep, rest = value.strip().lower().partition(":")
    kind, _, commerce = rest.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(
            _error(
                "bad_subscription_format",
                value=value,
                sources=[s.value for s in Source],
                kinds=[k.value for k in Kind],
                commerces=[c.value for c in Commerce],
            )
        )
    if source not in Source.__members__:
        raise argparse.ArgumentTypeError(
            _error("bad_source", value=source, valid=[s.value for s in Source])
        )
    if kind not in {k.value for k in Kind}:
        raise argparse.ArgumentTypeError(
            _error("bad_kind", value=kind, valid=[k.value for k in Kind])
        )
    if commerce and commerce not in {c.value for c in Commerce}:
        raise argparse.ArgumentTypeError(
            _error("bad_commerce", value=commerce, valid=[c.value for c in Commerce])
        )
    return Subscription(
        source=Source(source), kind=Kind(kind), commerce=Commerce(commerce) if commerce else None
    )


def _role(value: str) -> Any:
    """A role, by any name Slack's `as ROLE` accepts (bot/core/ui/commands.py ROLE_ALIASES)."""
    from bot.core.ui.commands import ROLE_ALIASES

    role = ROLE_ALIASES.get(value.strip().lower().replace("-", "_"))
    if role is None:
        raise argparse.ArgumentTypeError(
            _error("bad_choice", what="role", value=value, valid=list(ROLE_ALIASES))
        )
    return role


def _edition_name(value: str) -> str:
    from policy import EditionError, edition_names, resolve_edition

    try:
        resolve_edition(value)
    except EditionError:
        raise argparse.ArgumentTypeError(
            _error("bad_choice", what="edition", value=value, valid=edition_names())
        ) from None
    return value.strip()


def default_edition() -> str:
    """The edition used when none is named: the POLICY_EDITION setting (default `current`)."""
    from bot.core.settings import PolicySettings

    return PolicySettings().policy_edition


def _facts(args: argparse.Namespace) -> Any:
    """The facts of `mcbot assess`, or a message (str) saying what is wrong with them."""
    from policy import MAX_SUBSCRIPTIONS, Facts

    roles = list(dict.fromkeys(args.role))
    if len(roles) > 1:
        return _error("conflicting_roles", roles=[r.value for r in roles])
    if len(args.subscription) > MAX_SUBSCRIPTIONS:
        return _error(
            "too_many_subscriptions", limit=MAX_SUBSCRIPTIONS, count=len(args.subscription)
        )
    if args.customer_non_csp_tenant and not args.customer_is_csp_partner:
        return _error("non_csp_tenant_needs_csp_partner")
    return Facts(
        role=roles[0],
        customer_is_csp_partner=args.customer_is_csp_partner,
        customer_non_csp_tenant=args.customer_non_csp_tenant,
        ea_transfer_eligible=args.ea_transfer_eligible,
        cloud=args.cloud,
        subscriptions=tuple(args.subscription),
    )


def _assess(args: argparse.Namespace) -> int:
    from policy import evaluate, get_edition

    facts = _facts(args)
    if isinstance(facts, str):
        return _fail(facts)
    edition = args.edition or default_edition()
    if args.compare:
        from policy.compare import compare, other_edition

        comparison = compare(facts, edition, other_edition(edition))
        decision = comparison.decision
    else:
        decision = evaluate(facts, edition=edition)
    if not args.no_log:
        from bot.cli.decisions import log_assessed

        log_assessed(decision, args.database_url)
    if args.json:
        text = comparison.model_dump_json(indent=2) if args.compare else decision.to_json()
        sys.stdout.write(text + "\n")
        return 0
    sys.stdout.write(
        render_text(
            "text/decision.txt.j2",
            decision=decision,
            edition=get_edition(decision.policy_edition),
            lang=args.lang,
        )
    )
    if args.compare:
        sys.stdout.write(
            "\n" + render_text("text/compare.txt.j2", comparison=comparison, lang=args.lang)
        )
    return 0


# ---------------------------------------------------------------------------- editions
def _editions_diff(args: argparse.Namespace) -> int:
    from policy import get_edition
    from policy.compare import diff

    old, new = get_edition(args.old), get_edition(args.new)
    changes = diff(args.old, args.new)
    if args.json:
        sys.stdout.write(json.dumps([c.model_dump(mode="json") for c in changes], indent=2) + "\n")
    else:
        sys.stdout.write(
            render_text(
                "text/editions_diff.txt.j2", old=old, new=new, changes=changes, lang=args.lang
            )
        )
    return 0


# ---------------------------------------------------------------------------- rules
def _rules(args: argparse.Namespace) -> int:
    from policy import get_edition

    edition = get_edition(args.edition or default_edition())
    if args.json:
        sys.stdout.write(edition.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_text("text/rules.txt.j2", edition=edition, lang=args.lang))
    return 0


# ---------------------------------------------------------------------------- invite-link
def _invite_link(args: argparse.Namespace) -> int:
    from policy.links import (
        LinkInputError,
        gdap_approval_link,
        indirect_reseller_link,
        reseller_relationship_link,
    )

    required = {
        "reseller": ("partner_tenant_id",),
        "indirect-reseller": ("reseller_tenant_id", "reseller_partner_id", "provider_tenant_id"),
        "gdap": ("relationship_id",),
    }[args.kind]
    for name in required:
        if not getattr(args, name):
            return _fail(
                render_text(
                    "text/errors.txt.j2",
                    error="link_missing",
                    option=name.replace("_", "-"),
                    kind=args.kind,
                )
            )
    try:
        if args.kind == "reseller":
            link = reseller_relationship_link(
                args.partner_tenant_id, delegated_admin=args.delegated_admin, legacy=args.legacy
            )
        elif args.kind == "indirect-reseller":
            link = indirect_reseller_link(
                args.reseller_tenant_id,
                args.reseller_partner_id,
                args.provider_tenant_id,
                delegated_admin=args.delegated_admin,
                legacy=args.legacy,
            )
        else:
            link = gdap_approval_link(args.relationship_id)
    except LinkInputError as exc:
        return _fail(
            render_text(
                "text/errors.txt.j2",
                error="link_input",
                field=exc.field.replace("_", "-"),
                value=exc.value,
                expected=exc.expected,
            )
        )
    if args.delegated_admin and args.kind != "gdap":
        from policy import get_edition

        # the link still works; under an edition where DAP ended (2026-11), its DAP does not
        edition = get_edition(args.edition or default_edition())
        if edition.dap_ended_rule() is not None:
            sys.stderr.write(_error("dap_ended", edition=edition.edition) + "\n")
    sys.stdout.write(link + "\n")
    return 0


# ---------------------------------------------------------------------------- parser
def _add_policy_commands(sub: Any) -> None:
    from bot.core.ui.commands import ROLE_ALIASES
    from policy import MAX_SUBSCRIPTIONS, Cloud, Commerce, Kind, Source

    p = sub.add_parser(
        "assess",
        help="decide a multichannel case",
        description="Decide whether and how you can support a customer who bought Microsoft "
        "subscriptions elsewhere, by the multichannel rules of Partner Center.",
        epilog="Sources: "
        + ", ".join(s.value for s in Source)
        + ". Kinds: "
        + ", ".join(k.value for k in Kind)
        + ". Commerce: "
        + ", ".join(c.value for c in Commerce)
        + ". Example: mcbot assess --role indirect_reseller --subscription ea:license "
        "--subscription csp_partner:usage",
    )
    p.add_argument(
        "--role",
        required=True,
        action="append",
        type=_role,
        metavar="ROLE",
        help="your role in CSP: direct (direct-bill partner), indirect_provider, "
        "indirect_reseller; Slack's names work too: " + ", ".join(ROLE_ALIASES),
    )
    p.add_argument(
        "--subscription",
        action="append",
        type=_subscription,
        required=True,
        metavar="SOURCE:KIND[:COMMERCE]",
        help="a customer subscription: where it was bought, whether it is license- or "
        "usage-based and, optionally, new (new commerce / Azure plan) or legacy (traditional "
        f"offers / MS-AZR-0145P) (repeat for several, at most {MAX_SUBSCRIPTIONS})",
    )
    p.add_argument(
        "--customer-is-csp-partner",
        action="store_true",
        help="the customer is itself a CSP partner",
    )
    p.add_argument(
        "--customer-non-csp-tenant",
        action="store_true",
        help="with --customer-is-csp-partner: the tenant to serve is not the one the customer "
        "uses for CSP transactions",
    )
    p.add_argument(
        "--ea-transfer-eligible",
        action="store_true",
        help="you may request billing ownership of direct-EA Azure subscriptions "
        "(e.g. Azure Expert MSP)",
    )
    p.add_argument(
        "--cloud",
        default=Cloud.global_.value,
        choices=[c.value for c in Cloud],
        help="the customer's cloud (default: global)",
    )
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also answer under the other edition (2017-03 ↔ current) and say what differs, "
        "rule by rule",
    )
    p.add_argument(
        "--no-log",
        action="store_true",
        help="do not record the decision in the decision log (by default it is, so that "
        "`mcbot decision show ID` finds it)",
    )
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="where the decision is logged: SQLAlchemy database URL (default: $DATABASE_URL, "
        "else sqlite:///multichannel.sqlite3, created on first use)",
    )
    _add_common(p)
    p.set_defaults(func=_assess)

    p = sub.add_parser(
        "editions",
        help="the policy editions and how they differ",
        description="mcbot editions diff OLD NEW: every rule added, removed or changed.",
    )
    editions_sub = p.add_subparsers(dest="editions_command", metavar="ACTION", parser_class=_Parser)
    editions_sub.required = True
    d = editions_sub.add_parser("diff", help="every rule added, removed or changed")
    d.add_argument("old", type=_edition_name, metavar="OLD")
    d.add_argument("new", type=_edition_name, metavar="NEW")
    d.add_argument("--json", action="store_true", help="print the changes as JSON")
    d.add_argument("--lang", default="en", choices=["en", "es"], help="language of the text")
    d.set_defaults(func=_editions_diff)

    p = sub.add_parser(
        "rules",
        help="list the rules of a policy edition",
        description="List every rule of a policy edition with its id, citation and effect.",
    )
    p.add_argument("--json", action="store_true", help="print the edition as JSON")
    _add_common(p)
    p.set_defaults(func=_rules)

    p = sub.add_parser(
        "invite-link",
        help="print an invitation link",
        description="Build an invitation link in the format Partner Center documents. "
        "reseller: a direct partner's reseller relationship link (--partner-tenant-id). "
        "indirect-reseller: the link an indirect provider creates for its reseller "
        "(--reseller-tenant-id, --reseller-partner-id, --provider-tenant-id). "
        "gdap: the approval link of a GDAP relationship (--relationship-id).",
    )
    p.add_argument("kind", choices=["reseller", "indirect-reseller", "gdap"])
    p.add_argument("--partner-tenant-id", help="your tenant id (GUID)")
    p.add_argument("--reseller-tenant-id", help="the reseller's tenant id (GUID)")
    p.add_argument("--reseller-partner-id", help="the reseller's partner (MPN) id (digits)")
    p.add_argument("--provider-tenant-id", help="the indirect provider's tenant id (GUID)")
    p.add_argument("--relationship-id", help="the GDAP relationship id")
    p.add_argument(
        "--delegated-admin",
        action="store_true",
        help="ask for delegated admin privileges in the same invitation (DAP=true; edition "
        "2017-03: under 2026-11 it grants nothing since 2023-10-09, request GDAP instead)",
    )
    p.add_argument(
        "--legacy",
        action="store_true",
        help="the legacy portal.office.com format (fallback for unsupported regions)",
    )
    p.add_argument(
        "--edition",
        type=_edition_name,
        metavar="EDITION",
        help="policy edition (default: the POLICY_EDITION setting, itself `current`): under "
        "2026-11 --delegated-admin is warned about, since DAP ended on 2023-10-09",
    )
    p.set_defaults(func=_invite_link)


def _add_common(p: argparse.ArgumentParser) -> None:
    from policy import edition_names

    p.add_argument(
        "--edition",
        type=_edition_name,
        metavar="EDITION",
        help=f"policy edition: {', '.join(edition_names())} (default: the POLICY_EDITION "
        "setting, itself `current` by default)",
    )
    p.add_argument("--lang", default="en", choices=["en", "es"], help="language of the text output")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `command` "serve", only what `mcbot serve` needs (the other
    subcommands' modules are not imported: a lighter start for the server)."""
    parser = _Parser(
        prog="mcbot",
        description="Multichannel: Microsoft CSP multichannel support rules, in Slack and here.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    from bot.bootstrap.serve import register as register_serve

    if command == "serve":
        register_serve(sub)
        return parser
    _add_policy_commands(sub)
    from bot.cli.decisions import register as register_decision
    from bot.cli.installations import register as register_installations
    from bot.cli.outbox import register as register_outbox
    from bot.cli.secrets import register as register_secrets
    from bot.cli.store import register as register_store
    from bot.cli.trying import register as register_try

    register_serve(sub)
    register_try(sub)
    register_store(sub)
    register_outbox(sub)
    register_decision(sub)
    register_installations(sub)
    register_secrets(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.core.redact import install_token_redaction

    install_token_redaction()  # no secret in a log line (docs/secrets.md)
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(argv)
    handler: Handler = args.func
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
