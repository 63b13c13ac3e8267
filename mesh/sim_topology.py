"""Who hears whom in the simulated mesh (pure): directed links with a loss rate and link quality.

Builders: :func:`line`, :func:`grid`, :func:`full`, :func:`random_geometric`, :func:`from_json`;
:func:`parse` turns a CLI spec (``line``, ``grid``, ``full``, ``random`` or a JSON file path)
into a topology.

JSON format::

    {"nodes": 3, "links": [[0, 1], [1, 2, 0.2], {"a": 0, "b": 2, "loss": 0.5, "snr": -7}],
     "directed": false}

Each link is ``[a, b]``, ``[a, b, loss]`` or an object; links are symmetric unless
``"directed": true``.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Link:
    """Reception of ``a``'s frames at ``b``: probability of loss, SNR (dB), RSSI (dBm)."""

    loss: float = 0.0
    snr: float = 6.0
    rssi: int = -80

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be within 0..1, got {self.loss}")


@dataclass
class Topology:
    """``links[(a, b)]``: node ``b`` hears node ``a`` (indexes 0..n-1)."""

    n: int
    links: dict[tuple[int, int], Link] = field(default_factory=dict)

    def connect(self, a: int, b: int, link: Link | None = None, *, both: bool = True) -> None:
        for x in (a, b):
            if not 0 <= x < self.n:
                raise ValueError(f"node {x} outside 0..{self.n - 1}")
        if a == b:
            raise ValueError("a node cannot link to itself")
        link = link or Link()
        self.links[(a, b)] = link
        if both:
            self.links[(b, a)] = link

    def hearers(self, sender: int) -> list[int]:
        """Nodes that hear ``sender``, in index order."""
        return sorted(b for (a, b) in self.links if a == sender)

    def hears(self, receiver: int, sender: int) -> bool:
        return (sender, receiver) in self.links

    def link(self, sender: int, receiver: int) -> Link:
        return self.links[(sender, receiver)]

    def reachable(self, start: int, max_hops: int | None = None) -> set[int]:
        """Nodes within ``max_hops`` hops of ``start`` (itself excluded)."""
        seen = {start}
        frontier = [start]
        hops = 0
        while frontier and (max_hops is None or hops < max_hops):
            nxt = [b for a in frontier for b in self.hearers(a) if b not in seen]
            seen.update(nxt)
            frontier = nxt
            hops += 1
        return seen - {start}


def line(n: int, loss: float = 0.0) -> Topology:
    """0 — 1 — 2 — … each node hears only its neighbours."""
    topo = Topology(n)
    for i in range(n - 1):
        topo.connect(i, i + 1, Link(loss))
    return topo


def full(n: int, loss: float = 0.0) -> Topology:
    """Everyone hears everyone."""
    topo = Topology(n)
    for a in range(n):
        for b in range(a + 1, n):
            topo.connect(a, b, Link(loss))
    return topo


def grid(n: int, loss: float = 0.0) -> Topology:
    """Nodes on a square-ish grid, row by row; each hears its 4 neighbours."""
    cols = max(1, math.ceil(math.sqrt(n)))
    topo = Topology(n)
    for i in range(n):
        r, c = divmod(i, cols)
        right, down = i + 1, (r + 1) * cols + c
        if c + 1 < cols and right < n:
            topo.connect(i, right, Link(loss))
        if down < n:
            topo.connect(i, down, Link(loss))
    return topo


def random_geometric(
    n: int, rng: random.Random, radius: float | None = None, loss: float = 0.0, tries: int = 50
) -> Topology:
    """Nodes dropped uniformly in a unit square; linked when closer than ``radius``.

    Retries up to ``tries`` layouts to find a connected one; SNR falls with distance.
    """
    if radius is None:
        radius = min(1.5, 1.6 * math.sqrt(math.log(max(n, 2)) / max(n, 2)))
    topo = Topology(n)
    for _ in range(max(1, tries)):
        pts = [(rng.random(), rng.random()) for _ in range(n)]
        topo = Topology(n)
        for a in range(n):
            for b in range(a + 1, n):
                d = math.dist(pts[a], pts[b])
                if d <= radius:
                    snr = round(10.0 - 25.0 * d / radius, 1)
                    topo.connect(a, b, Link(loss, snr=snr, rssi=int(-60 - 60 * d / radius)))
        if n <= 1 or len(topo.reachable(0)) == n - 1:
            break
    return topo


def from_json(source: str | Path | dict[str, Any]) -> Topology:
    """A topology from a JSON file path or an already-parsed dict (format: module docstring)."""
    data: Any = source if isinstance(source, dict) else json.loads(Path(source).read_text())
    try:
        n = int(data["nodes"])
        both = not bool(data.get("directed", False))
        topo = Topology(n)
        for item in data.get("links", []):
            if isinstance(item, dict):
                a, b = int(item["a"]), int(item["b"])
                link = Link(
                    float(item.get("loss", 0.0)),
                    float(item.get("snr", 6.0)),
                    int(item.get("rssi", -80)),
                )
            else:
                a, b = int(item[0]), int(item[1])
                link = Link(float(item[2]) if len(item) > 2 else 0.0)
            topo.connect(a, b, link, both=both)
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"bad topology description: {exc!r}") from exc
    return topo


def parse(spec: str, n: int, loss: float, rng: random.Random) -> Topology:
    """``line``/``grid``/``full``/``random`` with ``n`` nodes, or a JSON file path."""
    builders = {"line": line, "grid": grid, "full": full}
    if spec in builders:
        return builders[spec](n, loss)
    if spec == "random":
        return random_geometric(n, rng, loss=loss)
    return from_json(spec)
