"""Files written whole or not at all: the old file stays and no temporary file is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldkit.app.safe_file import Sink, write_whole


async def test_a_write_interrupted_midway_leaves_the_old_file_and_no_temporary(
    tmp_path: Path,
) -> None:
    target = tmp_path / "b.fkb"
    target.write_bytes(b"old")

    async def interrupted(sink: Sink) -> int:
        sink(b"half of a new bundle")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await write_whole(target, interrupted)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.fkb"]


async def test_a_whole_write_replaces_the_file_and_reports_its_size(tmp_path: Path) -> None:
    target = tmp_path / "b.fkb"
    target.write_bytes(b"old")

    async def whole(sink: Sink) -> str:
        sink(b"new ")
        sink(b"bundle")
        return "done"

    assert await write_whole(target, whole) == ("done", 10)
    assert target.read_bytes() == b"new bundle"
    assert [p.name for p in tmp_path.iterdir()] == ["b.fkb"]
