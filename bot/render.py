"""Jinja rendering: every sentence a user reads lives in templates/.

Two kinds of template share one environment:
- `*.txt.j2`: plain text (the CLI);
- `*.json.j2`: Block Kit as JSON; every interpolated string goes through `tojson`, and text a
  user typed through `mrkdwn` first (escapes & < >). `render_json` parses the result.
Messages are written with `_()` / `{% trans %}` so that languages are catalogs, not copies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

import templates as _templates_pkg
from bot.mrkdwn import escape as mrkdwn_escape
from bot.mrkdwn import truncate

TEMPLATE_DIR = Path(_templates_pkg.__file__).parent


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["mrkdwn"] = mrkdwn_escape
    env.filters["truncate_text"] = truncate
    env.filters["ucfirst"] = lambda text: text[:1].upper() + text[1:]
    env.filters["slack_date"] = slack_date
    env.filters["one_based"] = lambda indexes: [i + 1 for i in indexes]
    return env


def slack_date(moment: datetime) -> str:
    """A time Slack shows in the reader's own time zone, with a UTC fallback."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def render_text(name: str, **context: Any) -> str:
    """Render a plain-text template (CLI output)."""
    return environment().get_template(name).render(**context).rstrip() + "\n"


def render_json(name: str, **context: Any) -> Any:
    """Render a JSON template and parse it; a syntax error names the template (a bug)."""
    text = environment().get_template(name).render(**context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"template {name} rendered invalid JSON: {exc}\n{text}") from exc
