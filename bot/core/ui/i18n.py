"""Languages: gettext catalogs (Babel) behind Jinja's i18n extension.

Why catalogs and not per-locale copies of each template: one template per surface keeps the
Block Kit structure in one place (a fix lands in both languages at once), and a test can prove
that every message has its Spanish translation (tests/test_i18n.py). The catalogs are plain
`.po` files in templates/locale/, compiled in memory when first used (no build step).

    python -m bot.core.ui.i18n update     # re-extract messages from templates/ and merge into es.po
    python -m bot.core.ui.i18n check      # list messages missing a translation (exit 1 if any)
"""

from __future__ import annotations

import io
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel.support import NullTranslations, Translations

if TYPE_CHECKING:  # babel.messages (catalogs, with the email package) is imported when used
    from babel.messages.catalog import Catalog

import templates as _templates_pkg

LANGUAGES: tuple[str, ...] = ("en", "es")  # English is the source language
DEFAULT_LANGUAGE = "en"
TEMPLATE_DIR = Path(_templates_pkg.__file__).parent
LOCALE_DIR = TEMPLATE_DIR / "locale"
_METHODS = [("**.j2", "jinja2.ext:babel_extract")]
_OPTIONS = {"**.j2": {"extensions": "jinja2.ext.do,jinja2.ext.i18n", "trimmed": "false"}}


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def normalize(lang: str | None) -> str | None:
    """`es`, `es-ES`, `es_MX`, `ES` → `es`; an unsupported language → None."""
    if not lang:
        return None
    code = lang.replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


@cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT_LANGUAGE:
        return NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def extract() -> Catalog:
    """Every message in templates/, as a catalog template."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="multichannel", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(TEMPLATE_DIR), method_map=_METHODS, options_map=_OPTIONS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def update() -> Catalog:
    """Merge the extracted messages into each language's .po (new ones empty, old ones kept)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = extract()
    for lang in LANGUAGES:
        if lang == DEFAULT_LANGUAGE:
            continue
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="multichannel", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=True)
    return template


def missing(lang: str) -> list[str]:
    """Messages of the templates with no (or a fuzzy) translation in `lang`."""
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    out = []
    for message in extract():
        if not message.id:
            continue
        translated = catalog.get(message.id, message.context)
        if translated is None or not translated.string or translated.fuzzy:
            out.append(str(message.id))
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        template = update()
        print(f"{len(template)} messages; merged into {', '.join(LANGUAGES[1:])}")
        return 0
    if argv[:1] == ["check"]:
        gaps = {lang: missing(lang) for lang in LANGUAGES[1:]}
        for lang, ids in gaps.items():
            for message_id in ids:
                print(f"{lang}: missing: {message_id}")
        return 1 if any(gaps.values()) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
