"""Writing a file someone carries away (a bundle on a runner's stick): whole or not at all.

The bytes stream into a temporary file beside the target, flushed to disk, then renamed over
it: a runner who pulls the stick mid-write finds the old file or the new one, never half of
one, and never a temporary file left behind, whatever went wrong (a full stick, an unplugged
one, Ctrl-C). A symlink is followed to the regular file it names (the link stays a link);
anything else — a folder, a device node like ``/dev/full``, a missing folder — is refused
before anything is written, and every failure is one line (a FieldkitError), never a
traceback.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from fieldkit.errors import FieldkitError

T = TypeVar("T")
Sink = Callable[[bytes], object]


def writable_target(path: Path) -> Path:
    """The regular file ``path`` names once symlinks are followed (it may not exist yet);
    FieldkitError if it is anything else or its folder is missing."""
    real = Path(os.path.realpath(path))
    try:
        mode: int | None = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise FieldkitError(f"cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise FieldkitError(f"cannot write {path}: it is a folder (name a file in it)")
    if mode is not None and not stat.S_ISREG(mode):
        raise FieldkitError(f"cannot write {path}: not a regular file")
    if not real.parent.is_dir():
        raise FieldkitError(f"cannot write {path}: no folder {real.parent}")
    return real


async def write_whole(path: Path, write: Callable[[Sink], Awaitable[T]]) -> tuple[T, int]:
    """Stream into ``path`` through ``write`` (given a sink for the bytes); returns what
    ``write`` returned and the file's size. On any failure the target is as it was."""
    target = writable_target(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise FieldkitError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            result = await write(file.write)
            file.flush()
            os.fsync(file.fileno())
            size = file.tell()
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise FieldkitError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _sync_folder(target.parent)
    return result, size


def _sync_folder(folder: Path) -> None:
    """Put the rename on disk too (best effort: some filesystems cannot open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
