"""Languages: gettext catalogs (``web/locale/<lang>/LC_MESSAGES/messages.po``) and choosing one.

The ``.po`` files are the source: they are compiled in memory when the app starts, so adding a
language is adding a catalog (and naming it in the hub's ``languages``). A language's own name
and its writing direction come from Babel's CLDR data.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself: "Español", "العربية"
    rtl: bool
    translations: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)


def _describe(code: str) -> tuple[str, bool]:
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return code, False
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:], locale.character_order == "right-to-left"


def compile_po(po_text: bytes, code: str) -> gettext.GNUTranslations:
    """A ``.po`` file's bytes as ready translations (fuzzy entries are left out)."""
    catalog = read_po(io.BytesIO(po_text), locale=code.replace("-", "_"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def read_catalog(code: str) -> bytes | None:
    """The packaged ``.po`` source of one language, or None if there is none."""
    path = resources.files("fieldkit.web") / "locale" / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    return path.read_bytes() if path.is_file() else None


def load_languages(codes: Iterable[str]) -> dict[str, Language]:
    """The languages a hub offers, in its order; codes without a catalog are skipped,
    except the source language, whose catalog is the msgids themselves."""
    out: dict[str, Language] = {}
    for code in codes:
        po = read_catalog(code)
        translations: gettext.NullTranslations
        if po is not None:
            translations = compile_po(po, code)
        elif code == SOURCE_LANGUAGE:
            translations = gettext.NullTranslations()
        else:
            continue
        name, rtl = _describe(code)
        out[code] = Language(code, name, rtl, translations)
    if not out:
        name, rtl = _describe(SOURCE_LANGUAGE)
        out[SOURCE_LANGUAGE] = Language(SOURCE_LANGUAGE, name, rtl, gettext.NullTranslations())
    return out


def parse_accept_language(header: str) -> list[str]:
    """Language tags from an Accept-Language header, best first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(
    explicit: str | None, accept_language: str, available: Mapping[str, Language]
) -> Language:
    """An explicit choice (the switcher's ``lang``) if offered, else the best Accept-Language
    match (``es-MX`` → ``es``, ``zh-Hans-CN`` → ``zh``), else the hub's first language."""
    if explicit:
        found = _match(explicit.strip().lower(), available)
        if found:
            return found
    for tag in parse_accept_language(accept_language):
        found = _match(tag, available)
        if found:
            return found
    return next(iter(available.values()))


def _match(tag: str, available: Mapping[str, Language]) -> Language | None:
    lowered = {code.lower(): lang for code, lang in available.items()}
    parts = tag.split("-")
    while parts:
        found = lowered.get("-".join(parts))
        if found:
            return found
        parts.pop()
    return None
