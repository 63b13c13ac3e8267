"""One error tree for the whole kit.

Every failure a user can cause or meet is a :class:`FieldkitError`. The edges translate it:
the web app into a status page, the CLI into one line on stderr and an exit code, and the radio
layer turns library exceptions into :class:`TransportError` in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


class FieldkitError(Exception):
    """Base of every error fieldkit raises on purpose."""

    exit_code = 1


class UsageError(FieldkitError):
    """The command line was wrong (exit code 2, like argparse)."""

    exit_code = 2


class ConfigError(FieldkitError):
    """A configuration value is wrong; ``key`` names it (``web.port``, ``FIELDKIT_WEB_PORT``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config {key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a submission, as data a page can translate.

    ``message`` is an English gettext msgid with ``%(name)s`` placeholders filled from
    ``params``; the web layer translates it into the resident's language.
    """

    field: str
    code: str
    message: str
    params: Mapping[str, str | int] = dataclasses.field(default_factory=dict)

    def render(self, translate: Callable[[str], str] | None = None) -> str:
        text = translate(self.message) if translate else self.message
        return text % dict(self.params) if self.params else text


class ValidationError(FieldkitError):
    """A submission has one or more field errors; all of them are reported at once."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field}: {e.render()}" for e in self.errors))

    def by_field(self) -> dict[str, FieldError]:
        """The first error of each field, for showing beside the form input."""
        out: dict[str, FieldError] = {}
        for error in self.errors:
            out.setdefault(error.field, error)
        return out


class StoreError(FieldkitError):
    """The database is missing, unreadable, or of a newer schema than this code."""


class NotFound(FieldkitError):
    """A record, reference code or hub that does not exist here."""


class ImportFileError(FieldkitError):
    """An import file (or its column mapping) cannot be read at all."""


# --- wire decoding: what a frame, bundle or bitstream from elsewhere may be refused for ------


class DecodeError(FieldkitError):
    """Bytes from another hub we will not take; ``reason`` is one of
    :data:`fieldkit.wire.frame.REASONS`, for counters. The wire's internal errors (a malformed
    bitstream, an invalid op body, a text stream that does not inflate) are subclasses."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


class TransportError(FieldkitError):
    """A radio or network transport failed; the message says how."""


class PayloadTooLarge(TransportError):
    """A payload exceeds the transport's maximum; raised before the radio is touched."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"payload of {size} bytes exceeds the {limit}-byte limit")
        self.size = size
        self.limit = limit
