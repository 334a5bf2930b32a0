"""Jinja rendering: every sentence a user reads lives in templates/.

Two kinds of template share one environment:
- `*.txt.j2`: plain text (the CLI);
- `*.json.j2`: Block Kit as JSON; every interpolated string goes through `tojson`, and text a
  user typed through `mrkdwn` first (escapes & < >). `render_json` parses the result.
Messages are written with `_()` so that languages are gettext catalogs, not copies
(bot/core/ui/i18n.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
import jinja2.bccache

from bot.core.ui.i18n import DEFAULT_LANGUAGE, TEMPLATE_DIR, translations
from bot.core.ui.mrkdwn import escape as mrkdwn_escape
from bot.core.ui.mrkdwn import truncate

log = logging.getLogger(__name__)


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
    env.bytecode_cache = _compiled_templates(env)
    return env


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Templates compiled once, kept on disk for the next start: without it each template's
    first render in a process parses and compiles it (the decision answer's three templates,
    ~90 ms of a start's first answer; docs/architecture.md, session 9).

    Jinja's own directory: `_jinja2-cache-<uid>` in the system temp directory (TMPDIR),
    made owner-only (mode 0700) and refused when another user owns it, since its files are
    loaded as code. A file is used only for the same template file with the same
    source (Jinja checks a checksum), Python and Jinja version and, ours, the same environment
    options: `fingerprint` is in each file's key, so a change of options or filters is not
    served code compiled under the old ones. A directory that cannot be read or written, or a
    damaged file, is no error: the template is compiled in memory as without a cache."""

    def __init__(self, fingerprint: str) -> None:
        super().__init__(pattern="__multichannel_%s.cache")
        self.fingerprint = fingerprint

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self.fingerprint}|{name}", filename)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            bucket.reset()  # compiled from source, as if not kept
            log.debug("compiled template not loaded from %s: %s", self.directory, exc)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.debug("compiled template not kept in %s: %s", self.directory, exc)


def _compiled_templates(env: jinja2.Environment) -> jinja2.BytecodeCache | None:
    """The cache of compiled templates for `env`, or None when the system temp directory
    offers no private place for it (then each process compiles what it renders)."""
    options = (
        jinja2.__version__,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.autoescape,
        env.optimized,
        getattr(env, "newstyle_gettext", None),
        sorted(env.extensions),
        sorted(env.filters),
        sorted(env.tests),
    )
    fingerprint = hashlib.sha1(repr(options).encode(), usedforsecurity=False).hexdigest()[:16]
    try:
        return _CompiledTemplates(fingerprint)
    except (OSError, RuntimeError) as exc:  # Jinja's directory checks
        log.debug("templates are compiled in memory only: %s", exc)
        return None


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
