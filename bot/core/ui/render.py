"""Jinja rendering: every sentence a user reads lives in templates/.

Two kinds of template share one environment:
- `*.txt.j2`: plain text (the CLI);
- `*.json.j2`: Block Kit as JSON; every interpolated string goes through `tojson`, and text a
  user typed through `mrkdwn` first (escapes & < >). `render_json` parses the result.
Messages are written with `_()` so that languages are gettext catalogs, not copies
(bot/core/ui/i18n.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2

from bot.core.ui.i18n import DEFAULT_LANGUAGE, TEMPLATE_DIR, translations
from bot.core.ui.mrkdwn import escape as mrkdwn_escape
from bot.core.ui.mrkdwn import truncate


@cache
def environment(lang: str = DEFAULT_LANGUAGE) -> jinja2.Environment:
    """The Jinja environment for `lang` (one per language: gettext is bound to it)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # Templates ship with the code: no stat() of each template file on every render
        # (Jinja's default checks its modification time at each get_template).
        auto_reload=False,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
    )
    catalog = translations(lang)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = _newstyle(catalog.gettext)
    env.filters["mrkdwn"] = mrkdwn_escape
    env.filters["truncate_text"] = truncate
    env.filters["ucfirst"] = lambda text: text[:1].upper() + text[1:]
    env.filters["slack_date"] = slack_date
    env.filters["one_based"] = lambda indexes: [i + 1 for i in indexes]
    return env


def _newstyle(gettext: Callable[[str], str]) -> Callable[..., str]:
    """`_("... %(name)s", name=...)` as Jinja's newstyle gettext does it (always a format
    string), as a plain function: Jinja's own `_` goes through two context-passing calls per
    message (an alias, then the wrapper), some 60 per notification; autoescape is off here,
    so its Markup step never applies."""

    def translate(string: str, **variables: Any) -> str:
        return gettext(string) % variables

    return translate


def slack_date(moment: datetime) -> str:
    """A time Slack shows in the reader's own time zone, with a UTC fallback."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def render_text(name: str, *, lang: str = DEFAULT_LANGUAGE, **context: Any) -> str:
    """Render a plain-text template (CLI output) in `lang` (also given to it as `lang`)."""
    return environment(lang).get_template(name).render(lang=lang, **context).rstrip() + "\n"


def render_json(name: str, *, lang: str = DEFAULT_LANGUAGE, **context: Any) -> Any:
    """Render a JSON template in `lang` and parse it; a syntax error names the template."""
    text = environment(lang).get_template(name).render(lang=lang, **context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"template {name} rendered invalid JSON: {exc}\n{text}") from exc
