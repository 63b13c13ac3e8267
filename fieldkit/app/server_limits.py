"""What keeps the hub's web server answering residents under a flood (the I/O edge).

uvicorn times out idle keep-alive connections, but never a request whose headers or body
stop half-way, so a phone (or an attacker) trickling bytes holds a connection, a file handle
and, with enough of them, the whole hub. Here:

- :class:`GuardedH11Protocol`: uvicorn's h11 protocol with a *header deadline* (a request's
  headers must be complete within ``header_timeout`` of its first byte, however slowly they
  trickle) and a *body idle timeout* (no byte of a request body for ``idle_timeout``): the
  connection is closed.
- :attr:`ServerLimits.max_connections`: uvicorn's ``limit_concurrency``; beyond it a request
  is answered ``503`` at once instead of queuing.
- :class:`RepeatedLogFilter`: at the file-handle limit asyncio logs every failed ``accept``
  (thousands a second: 138 MB of log in 50 s); the same message is logged at most once per
  ``every`` seconds, with how many like it were left out.
- :func:`raise_file_limit`: the soft limit of open files up to the hard one, as far as allowed.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from fieldkit.app.config import ServerLimits as ServerLimits

log = logging.getLogger(__name__)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request stalls (see the module)."""

    header_timeout = ServerLimits.header_timeout
    idle_timeout = ServerLimits.idle_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._stalled)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)  # a connection that says nothing is stalled too

    def data_received(self, data: bytes) -> None:
        waiting_for_headers = self.conn.their_state is h11.IDLE
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:  # headers still incomplete: the deadline runs from the first byte
            if self._deadline is None or not waiting_for_headers:
                self._arm(self.header_timeout)
        elif state is h11.SEND_BODY:
            self._arm(self.idle_timeout)
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()  # uvicorn's keep-alive timeout takes over

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _stalled(self) -> None:
        self._deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True  # a handler reading the body stops waiting
                self.cycle.message_event.set()
            self.transport.close()


def guarded_protocol(limits: ServerLimits) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn should build connections from, with these limits."""
    return type(
        "LimitedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": limits.header_timeout, "idle_timeout": limits.idle_timeout},
    )


class RepeatedLogFilter(logging.Filter):
    """Lets a message through at most once per ``every`` seconds (on an injected clock)."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self.clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).split("\n", 1)[0])
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.every:
            self._last[key] = (last[0], last[1] + 1)
            return False
        suppressed = last[1] if last is not None else 0
        self._last[key] = (now, 0)
        if len(self._last) > 1000:  # messages that vary: forget the oldest
            oldest = min(self._last, key=lambda k: self._last[k][0])
            del self._last[oldest]
        if suppressed:
            record.msg = f"{record.msg} ({suppressed} more like it in the last {self.every:g} s)"
        return True


#: The loggers that can repeat a line per connection or per failed accept.
FLOODING_LOGGERS = ("asyncio", "uvicorn.error", "fieldkit.web.pages", "fieldkit.sync.radio")


def limit_repeated_logs(every: float) -> Callable[[], None]:
    """Install a :class:`RepeatedLogFilter` on :data:`FLOODING_LOGGERS`; returns the undo."""
    flt = RepeatedLogFilter(every)
    loggers = [logging.getLogger(name) for name in FLOODING_LOGGERS]
    for logger in loggers:
        logger.addFilter(flt)

    def undo() -> None:
        for logger in loggers:
            logger.removeFilter(flt)

    return undo


def raise_file_limit() -> int:
    """Raise the soft limit of open files to the hard one; returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    return soft
