"""Reading untrusted form bodies and turning the intake form into a :class:`Draft` (pure).

Only ``application/x-www-form-urlencoded`` is accepted (the pages never upload files), at most
:data:`MAX_BODY` bytes, strictly UTF-8. Every problem is a :class:`~fieldkit.errors.FormBodyError`
carrying an English msgid the page translates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from fieldkit.core.fields import FIELDS
from fieldkit.core.records import Draft, Kind, parse_bool, parse_draft
from fieldkit.errors import FieldError, FormBodyError, ValidationError

MAX_BODY = 16 * 1024
MAX_FIELDS = 40
FORM_TYPE = "application/x-www-form-urlencoded"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: Fields the intake form fills otherwise: the area (a choice or typed text), the page's
#: language, the explicit consent, and the unit (implied by the kind).
_FORM_SPECIAL = frozenset({"area", "language", "share_contact", "quantity_unit"})
#: Fields of the intake form that go to :func:`parse_draft` as they are (from the field table).
DRAFT_FIELDS = ("kind", *(spec.name for spec in FIELDS if spec.name not in _FORM_SPECIAL))


#: The old name of :class:`~fieldkit.errors.FormBodyError`.
BodyError = FormBodyError


TOO_LARGE = BodyError(413, "That was more text than this form can take. Please shorten it.")
NOT_A_FORM = BodyError(415, "This page only accepts its own form. Please use the form.")
NOT_UTF8 = BodyError(400, "Some characters could not be read. Please check what you typed.")
MALFORMED = BodyError(400, "The form arrived damaged. Please send it again.")


def check_content_type(content_type: str) -> None:
    if content_type.split(";", 1)[0].strip().lower() != FORM_TYPE:
        raise NOT_A_FORM


def parse_urlencoded(body: bytes) -> dict[str, str]:
    """Decode a form body; the first value of a repeated field wins."""
    if len(body) > MAX_BODY:
        raise TOO_LARGE
    out: dict[str, str] = {}
    pairs = [p for p in body.split(b"&") if p]
    if len(pairs) > MAX_FIELDS:
        raise MALFORMED
    for pair in pairs:
        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8")
            value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise NOT_UTF8 from None
        if "\x00" in name or "\x00" in value:
            raise MALFORMED
        out.setdefault(name, value)
    return out


def idempotency_key(form: Mapping[str, str]) -> str | None:
    token = form.get("token", "")
    return f"web:{token}" if TOKEN_RE.match(token) else None


def parse_intake(form: Mapping[str, str], areas: Mapping[str, str], language: str) -> Draft:
    """The intake form as a :class:`Draft`, or :class:`ValidationError` listing every problem.

    Beyond :func:`parse_draft`: the area is a choice or typed text, and whoever leaves a way to
    reach them must say explicitly whether helpers may see it.
    """
    raw = {name: form.get(name, "") for name in DRAFT_FIELDS}
    raw["area"] = form.get("area_other", "").strip() or form.get("area", "")
    raw["language"] = language
    consent = form.get("share_contact", "")
    raw["share_contact"] = consent
    extra: list[FieldError] = []
    has_contact = any(form.get(spec.name, "").strip() for spec in FIELDS if spec.private)
    if has_contact and (not consent.strip() or parse_bool(consent) is None):
        extra.append(FieldError("share_contact", "required", "Please choose one."))
        raw["share_contact"] = ""
    if form.get("kind", "") not in ("", Kind.NEED, Kind.OFFER):
        extra.append(FieldError("kind", "unknown_choice", "Please choose one."))
        raw["kind"] = ""
    try:
        draft = parse_draft(raw, areas)
    except ValidationError as exc:
        # A value the form never offered: the choices are on the page, not worth listing.
        errors = [
            FieldError(e.field, e.code, "Please choose one.") if e.code == "unknown_choice" else e
            for e in exc.errors
        ]
        raise ValidationError([*errors, *extra]) from None
    if extra:
        raise ValidationError(extra)
    return draft
