"""One error tree for the whole kit.

Every failure a user can cause or meet is a :class:`FieldkitError`. The edges translate it:
the web app into a status page, the CLI into one line on stderr and an exit code, and the radio
layer turns library exceptions into :class:`TransportError` in one place.

Groups, in the order below: usage and configuration; input and validation; storage;
transport and radio; sync and bundles; web request bodies. Older modules re-export the
classes they used to define, so their import paths keep working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self


def N_(message: str) -> str:
    """Mark a msgid for extraction; it is translated where it is shown."""
    return message


class FieldkitError(Exception):
    """Base of every error fieldkit raises on purpose."""

    exit_code = 1
    #: The message as a gettext msgid and its values, when a page may show it translated
    #: (:meth:`said`); ``str(error)`` is always the English text.
    msgid: str = ""
    params: Mapping[str, str] = {}

    @classmethod
    def said(cls, msgid: str, **params: str) -> Self:
        """The error with ``msgid`` (``%(name)s`` placeholders filled from ``params``)."""
        error = cls(msgid % params if params else msgid)
        error.msgid, error.params = msgid, params
        return error

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message in a page's language (English where it has no msgid)."""
        if not self.msgid:
            return str(self)
        text = gettext(self.msgid)
        return text % dict(self.params) if self.params else text


# --- usage and configuration -------------------------------------------------------------


class UsageError(FieldkitError):
    """The command line was wrong (exit code 2, like argparse)."""

    exit_code = 2


class ConfigError(FieldkitError):
    """A configuration value is wrong; ``key`` names it (``web.port``, ``FIELDKIT_WEB_PORT``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config {key}: {message}")
        self.key = key
        self.message = message


# --- input and validation ----------------------------------------------------------------


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


class NotFound(FieldkitError):
    """A record, reference code or hub that does not exist here."""


class ImportFileError(FieldkitError):
    """An import file (or its column mapping) cannot be read at all."""


class InvalidOp(FieldkitError):
    """An op (from another hub, a bundle or an import) that breaks the rules."""


# --- storage ---------------------------------------------------------------------------


class StoreError(FieldkitError):
    """The database is missing, unreadable, or of a newer schema than this code."""


class ItemFailed(StoreError):
    """Raised by a group-commit function: item ``index`` of the batch failed with ``error``."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"item {index} of the batch failed: {error}")
        self.index = index
        self.error = error


# --- wire decoding: what a frame, bundle or bitstream from elsewhere may be refused for ------


class DecodeError(FieldkitError):
    """Bytes from another hub we will not take; ``reason`` is one of
    :data:`fieldkit.wire.frame.REASONS`, for counters. The wire's internal errors (a malformed
    bitstream, an invalid op body, a text stream that does not inflate) are subclasses."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


# --- transport and radio ---------------------------------------------------------------


class TransportError(FieldkitError):
    """A radio or network transport failed; the message says how."""


class PayloadTooLarge(TransportError):
    """A payload exceeds the transport's maximum; raised before the radio is touched."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"payload of {size} bytes exceeds the {limit}-byte limit")
        self.size = size
        self.limit = limit


class RadioRejected(TransportError):
    """The radio refused a frame (a routing NAK); ``reason`` is the Routing.Error name."""

    def __init__(self, reason: str, packet_id: int | None = None) -> None:
        super().__init__(f"radio refused the frame: {reason}")
        self.reason = reason
        self.packet_id = packet_id


class DutyCycleLimited(RadioRejected):
    """The radio is over its regional duty-cycle budget; try again after ``retry_after`` s."""

    def __init__(self, packet_id: int | None = None, retry_after: float | None = None) -> None:
        super().__init__("DUTY_CYCLE_LIMIT", packet_id)
        self.retry_after = retry_after


class FrameTooLargeForRadio(RadioRejected):
    """The radio said TOO_LARGE although the payload was within ``max_payload``."""

    def __init__(self, packet_id: int | None = None) -> None:
        super().__init__("TOO_LARGE", packet_id)


class DeliveryFailed(RadioRejected):
    """A frame sent with ``want_ack`` was not acknowledged (MAX_RETRANSMIT, NO_ROUTE, …)."""


class AckTimeout(TransportError):
    """No ACK or NAK arrived in time for a frame sent with ``want_ack``."""


class RadioUnavailable(TransportError):
    """The radio is disconnected (unplugged, rebooting, TCP dropped); reconnecting."""


# --- sync and bundles ------------------------------------------------------------------


class BundleError(FieldkitError):
    """A bundle that is not ours, not intact, or not from this network."""


class BackupError(FieldkitError):
    """A backup that is not intact or not of this network, or a restore that would overwrite."""


# --- web request bodies ----------------------------------------------------------------


class FormBodyError(FieldkitError):
    """A request body we cannot read as a form; ``message`` is an English msgid."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
