"""`mcbot`: the command line. Each subcommand has --help; bad input exits 2 with a message."""

from __future__ import annotations

import argparse
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
def _subscription(value: str) -> Any:
    from policy import Kind, Source, Subscription

    source, sep, kind = value.strip().lower().partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(
            render_text(
                "text/errors.txt.j2",
                error="bad_subscription_format",
                value=value,
                sources=[s.value for s in Source],
                kinds=[k.value for k in Kind],
            ).strip()
        )
    if source not in Source.__members__:
        raise argparse.ArgumentTypeError(
            render_text(
                "text/errors.txt.j2",
                error="bad_source",
                value=source,
                valid=[s.value for s in Source],
            ).strip()
        )
    if kind not in {k.value for k in Kind}:
        raise argparse.ArgumentTypeError(
            render_text(
                "text/errors.txt.j2",
                error="bad_kind",
                value=kind,
                valid=[k.value for k in Kind],
            ).strip()
        )
    return Subscription(source=Source(source), kind=Kind(kind))


def _assess(args: argparse.Namespace) -> int:
    from policy import Facts, evaluate

    facts = Facts(
        role=args.role,
        customer_is_csp_partner=args.customer_is_csp_partner,
        cloud=args.cloud,
        subscriptions=tuple(args.subscription),
    )
    decision = evaluate(facts, edition=args.edition)
    if args.json:
        sys.stdout.write(decision.to_json() + "\n")
    else:
        sys.stdout.write(render_text("text/decision.txt.j2", decision=decision, lang=args.lang))
    return 0


# ---------------------------------------------------------------------------- rules
def _rules(args: argparse.Namespace) -> int:
    from policy import get_edition

    edition = get_edition(args.edition)
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
    sys.stdout.write(link + "\n")
    return 0


# ---------------------------------------------------------------------------- parser
def _add_policy_commands(sub: Any) -> None:
    from policy import DEFAULT_EDITION, Cloud, Kind, Role, Source, available_editions

    p = sub.add_parser(
        "assess",
        help="decide a multichannel case",
        description="Decide whether and how you can support a customer who bought Microsoft "
        "subscriptions elsewhere, by the multichannel rules of Partner Center.",
        epilog="Sources: "
        + ", ".join(s.value for s in Source)
        + ". Kinds: "
        + ", ".join(k.value for k in Kind)
        + ". Example: mcbot assess --role indirect_reseller --subscription ea:license "
        "--subscription csp_partner:usage",
    )
    p.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in Role],
        help="your role in CSP: direct (direct-bill partner), indirect_provider, indirect_reseller",
    )
    p.add_argument(
        "--subscription",
        action="append",
        type=_subscription,
        required=True,
        metavar="SOURCE:KIND",
        help="a customer subscription: where it was bought and whether it is license- or "
        "usage-based (repeat for several)",
    )
    p.add_argument(
        "--customer-is-csp-partner",
        action="store_true",
        help="the customer is itself a CSP partner",
    )
    p.add_argument(
        "--cloud",
        default=Cloud.global_.value,
        choices=[c.value for c in Cloud],
        help="the customer's cloud (default: global)",
    )
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    _add_common(p, available_editions(), DEFAULT_EDITION)
    p.set_defaults(func=_assess)

    p = sub.add_parser(
        "rules",
        help="list the rules of a policy edition",
        description="List every rule of a policy edition with its id, citation and effect.",
    )
    p.add_argument("--json", action="store_true", help="print the edition as JSON")
    _add_common(p, available_editions(), DEFAULT_EDITION)
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
        help="ask for delegated admin privileges in the same invitation (DAP=true)",
    )
    p.add_argument(
        "--legacy",
        action="store_true",
        help="the legacy portal.office.com format (fallback for unsupported regions)",
    )
    p.set_defaults(func=_invite_link)


def _add_common(p: argparse.ArgumentParser, editions: list[str], default: str) -> None:
    p.add_argument(
        "--edition", default=default, choices=editions, help=f"policy edition (default {default})"
    )
    p.add_argument("--lang", default="en", choices=["en", "es"], help="language of the text output")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mcbot",
        description="Multichannel: Microsoft CSP multichannel support rules, in Slack and here.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_policy_commands(sub)
    from bot.bootstrap.serve import register as register_serve
    from bot.cli.outbox import register as register_outbox
    from bot.cli.store import register as register_store
    from bot.cli.trying import register as register_try

    register_serve(sub)
    register_try(sub)
    register_store(sub)
    register_outbox(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.func
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
