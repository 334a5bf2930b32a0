"""`mcbot try`: the bot in-process, against the Slack stand-in, printing what the user would see.

A newcomer sees the bot work with no Slack workspace:

    mcbot try "/multichannel assess ea:license as reseller" --click share_decision
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from bot.core.ui.render import render_text

SURFACE_METHODS = (
    "response_url",
    "chat.postEphemeral",
    "chat.postMessage",
    "chat.update",
    "views.open",
    "views.update",
    "views.push",
    "views.publish",
)
COMMAND = "/multichannel"


def _buttons(surface: dict[str, Any]) -> dict[str, str]:
    """action_id → value of every button on a surface."""
    found: dict[str, str] = {}
    for block in surface.get("blocks", []):
        elements = list(block.get("elements", []))
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") == "button" and "action_id" in element:
                found[element["action_id"]] = element.get("value", "")
    return found


SLACK_LOCALES = {"en": "en-US", "es": "es-ES"}


def _show(title: str, surface: dict[str, Any], *, as_json: bool, width: int) -> str:
    from bot.cli.readable import render_message, render_view

    if as_json:
        return f"── {title} ──\n{json.dumps(surface, indent=2, ensure_ascii=False)}\n"
    if surface.get("type") in ("modal", "home"):
        return f"── {title} ──\n{render_view(surface, width=width)}\n"
    return render_message(surface, title=title, width=width) + "\n"


def _try(args: argparse.Namespace) -> int:
    from bot.testkit import block_actions_payload
    from bot.testkit.harness import BotHarness, ack_json

    logging.basicConfig(level=logging.ERROR if not args.verbose else logging.INFO)
    text = args.command.strip()
    if text.split(maxsplit=1)[0:1] == [COMMAND]:
        text = text[len(COMMAND) :].strip()
    elif text.startswith("/"):
        sys.stderr.write(
            render_text("text/try.txt.j2", part="not_our_command", command=text.split()[0])
        )
        return 2
    width = args.width or min(shutil.get_terminal_size((100, 24)).columns, 120)
    out = sys.stdout

    from bot.bootstrap.serve import settings_or_exit
    from bot.core.settings import PolicySettings

    edition = settings_or_exit(PolicySettings).policy_edition  # as `mcbot serve` answers
    with BotHarness(services_options={"policy_edition": edition}) as bot:
        bot.slack.set_user(args.user, team_id=args.team, locale=SLACK_LOCALES[args.lang])
        if args.partners:
            from bot.core.store.directory import import_directory
            from bot.core.store.directory_file import read_directory_file
            from bot.core.store.errors import StoreError

            try:
                data = read_directory_file(Path(args.partners))
                with bot.services.sessions.begin() as session:
                    import_directory(session, data, cipher=bot.services.cipher)
            except StoreError as exc:
                sys.stderr.write(
                    render_text(
                        "text/try.txt.j2", part="partners_error", path=args.partners, error=exc
                    )
                )
                return 2
        out.write(render_text("text/try.txt.j2", part="typed", text=f"{COMMAND} {text}".strip()))
        seen = 0
        response = bot.command(text, user_id=args.user, team_id=args.team)
        last: dict[str, Any] = {}
        if response.status_code != 200:
            out.write(
                render_text("text/try.txt.j2", part="http_error", status=response.status_code)
            )
            return 1
        ack = ack_json(response)
        if ack:
            out.write(_show("reply (acknowledgement)", ack, as_json=args.json, width=width))
            last = ack
        for action_id in [None, *args.click]:
            if action_id is not None:
                value = _buttons(last).get(action_id)
                if value is None:
                    sys.stderr.write(
                        render_text(
                            "text/try.txt.j2",
                            part="no_button",
                            action_id=action_id,
                            available=sorted(_buttons(last)),
                        )
                    )
                    return 2
                out.write(render_text("text/try.txt.j2", part="click", action_id=action_id))
                bot.interact(
                    block_actions_payload(
                        action_id,
                        value,
                        user_id=args.user,
                        team_id=args.team,
                        response_url=bot.slack.response_url(),
                    )
                )
            calls = [c for c in bot.slack.calls() if c.method in SURFACE_METHODS][seen:]
            seen += len(calls)
            for call in calls:
                surface = call.params.get("view") or call.params
                out.write(_show(call.method, surface, as_json=args.json, width=width))
                last = surface
        if not ack and not seen:
            out.write(render_text("text/try.txt.j2", part="nothing"))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "try",
        help="try the bot without Slack: see what a user would see",
        description="Run the bot in-process against a local stand-in for Slack's Web API and "
        "print what the user would see, rendered readably. No Slack workspace, token or "
        "network needed; a temporary SQLite database is used and thrown away.",
        epilog='Examples: mcbot try "/multichannel assess ea:license as reseller"  ·  '
        'mcbot try "/multichannel assess ea:usage as direct" --click share_decision  ·  '
        'mcbot try "/multichannel assess"  (shows the form)',
    )
    p.add_argument("command", help='what the user types, e.g. "/multichannel help"')
    p.add_argument(
        "--click",
        action="append",
        default=[],
        metavar="ACTION_ID",
        help="then click the button with this action id on the last surface (repeatable)",
    )
    p.add_argument(
        "--user", default="U0TRYUSER1", help="the Slack user id typing (default U0TRYUSER1)"
    )
    p.add_argument("--team", default="T0TRYTEAM1", help="the Slack team id (default T0TRYTEAM1)")
    p.add_argument(
        "--partners",
        metavar="FILE.yaml",
        help="load a partner directory first (so your role comes from it; format: "
        "docs/partners.example.yaml)",
    )
    p.add_argument(
        "--lang",
        choices=("en", "es"),
        default="en",
        help="the language of the user's Slack (its locale: en-US or es-ES; default en)",
    )
    p.add_argument("--json", action="store_true", help="print the raw Block Kit JSON")
    p.add_argument("--width", type=int, default=0, help="text width (default: the terminal's)")
    p.add_argument("--verbose", action="store_true", help="show the bot's logs")
    p.set_defaults(func=_try)
