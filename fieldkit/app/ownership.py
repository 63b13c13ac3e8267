"""Files a root shell writes in a hub's data folder stay the hub's.

The hub runs as its own unprivileged user (``fieldkit``, see provisioning/), and an ops
volunteer types ``sudo fieldkit …`` beside it. SQLite creates files next to the database
(its ``-wal`` and ``-shm``), and restore, init and certificate writes create more: made as
root, the service can no longer open them and the hub stops at its next start. So while a
command run as root works on a data folder that belongs to another user, it acts as that
user (effective user and group ids; root's real ids stay, and come back afterwards).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _owner(path: Path) -> tuple[int, int] | None:
    """The (uid, gid) of the nearest existing folder of ``path``."""
    for candidate in (path, *path.parents):
        try:
            info = candidate.stat()
        except FileNotFoundError:
            continue
        return info.st_uid, info.st_gid
    return None


@contextmanager
def as_owner_of(data_dir: Path) -> Iterator[None]:
    """Run the block as the owner of ``data_dir`` when we are root and it is someone else's."""
    owner = _owner(data_dir) if os.geteuid() == 0 else None
    if owner is None or owner[0] == 0:
        yield
        return
    uid, gid = owner
    os.setegid(gid)
    try:
        os.seteuid(uid)
        try:
            yield
        finally:
            os.seteuid(0)
    finally:
        os.setegid(0)
