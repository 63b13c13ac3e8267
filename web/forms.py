"""Reading untrusted form bodies and turning the intake form into a :class:`Draft` (pure).

Only ``application/x-www-form-urlencoded`` is accepted (the pages never upload files), at most
:data:`MAX_BODY` bytes, strictly UTF-8. Every problem is a :class:`~fieldkit.errors.FormBodyError`
carrying an English msgid the page translates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping
from urllib.parse import unquote_to_bytes

from fieldkit.core.fields import FIELDS
from fieldkit.core.records import Draft, Kind, QuantityUnit, parse_bool, parse_draft
from fieldkit.errors import FieldError, FormBodyError, ValidationError

MAX_BODY = 16 * 1024
MAX_FIELDS = 40
FORM_TYPE = "application/x-www-form-urlencoded"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: Fields the intake form fills otherwise: the area (a choice or typed text), the page's
#: language, the explicit consent, and the unit (implied by the kind).
_FORM_SPECIAL = frozenset({"area", "language", "share_contact", "quantity_unit"})
#: Fields a resident's form never sets: a notice's expiry, and the local note (the checkbox
#: "keep the note at this hub only" moves the note there, see :func:`parse_draft`).
_NOT_FROM_RESIDENTS = frozenset({"expires", "local_note"})
#: Fields of the intake form that go to :func:`parse_draft` as they are (from the field table).
DRAFT_FIELDS = (
    "kind",
    *(spec.name for spec in FIELDS if spec.name not in _FORM_SPECIAL | _NOT_FROM_RESIDENTS),
)


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
    raw["keep_note_here"] = form.get("keep_note_here", "")
    consent = form.get("share_contact", "")
    raw["share_contact"] = consent
    if form.get("kind") == Kind.OFFER and form.get("quantity_unit") in set(QuantityUnit):
        raw["quantity_unit"] = form["quantity_unit"]  # an offer says what it counts
    extra: list[FieldError] = []
    has_contact = any(
        form.get(spec.name, "").strip() for spec in FIELDS if spec.private and not spec.local
    )
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


class FormTokens:
    """The token every form carries: proof the form came from this hub's own page.

    ``base64url(nonce ‖ issued-at ‖ HMAC-SHA256(key, nonce ‖ issued-at)[:12])``: a page on
    another site cannot read one (no cookies, no CORS), so a cross-site post has none. The
    token is also the intake's idempotency key: the same form sent twice is one request.
    Tokens last :attr:`lifetime` seconds (a form left open overnight still works).
    """

    def __init__(
        self, key: bytes, clock: Callable[[], float] = time.time, lifetime: float = 86_400.0
    ) -> None:
        self._key = key
        self._clock = clock
        self.lifetime = lifetime

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:12]

    def new(self) -> str:
        body = secrets.token_bytes(9) + int(self._clock()).to_bytes(4, "big")
        return base64.urlsafe_b64encode(body + self._mac(body)).decode().rstrip("=")

    def valid(self, token: str) -> bool:
        if not TOKEN_RE.match(token):
            return False
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            return False
        body, mac = raw[:13], raw[13:]
        if len(raw) != 25 or not hmac.compare_digest(mac, self._mac(body)):
            return False
        age = self._clock() - int.from_bytes(body[9:], "big")
        return -300 <= age <= self.lifetime


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a form post's ``Origin`` header allows it: absent or ``null`` (captive
    mini-browsers send none) is allowed, the hub's own ``Host`` is, any other site is not."""
    if origin is None or origin.strip() in ("", "null"):
        return True
    _, sep, rest = origin.strip().partition("://")
    return bool(sep) and rest.rstrip("/").lower() == host.strip().lower()
