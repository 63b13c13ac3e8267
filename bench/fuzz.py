"""Fuzz what a hub reads from strangers: whatever arrives, a clear refusal, never a crash.

    python bench/fuzz.py [--cases 1000000] [--targets codec,node,bundle,form] [--seed S]

Four targets share the cases (hypothesis drives each; its shrinking names a crash's input):

- ``codec``: the wire decoder, three ways per input (raw; behind a valid version byte and
  tag; XORed into a genuine frame and re-signed — see ``bench/fuzz_codec.py``): an Envelope,
  or DecodeError with a documented reason;
- ``node``: the radio sync handlers (``GossipNode.receive``) fed genuine frames mutated and
  re-signed, so they pass the tag and reach the summary, want and ops handlers: a frame is
  taken or counted as rejected, never raises, and the node still answers afterwards;
- ``bundle``: the bundle reader on raw bytes, cut and altered genuine bundles (sealed and
  plain): envelopes, or BundleError / DecodeError, and a sealed bundle is never half-read;
- ``form``: the intake form body parser and validator on raw bodies and on forms of random
  field values: a Draft, or FormBodyError / ValidationError naming fields.

Printed: per target ``TARGET_cases``, ``TARGET_per_s``, outcome counts, and ``crashes: 0``
(any other exception stops the run with the input that caused it, exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import fuzz_codec

from fieldkit.errors import (
    BundleError,
    DecodeError,
    FormBodyError,
    ValidationError,
)
from fieldkit.sync.engine import SyncEngine, SyncSettings
from fieldkit.sync.node import GossipNode
from fieldkit.sync.replica import MemoryReplica
from fieldkit.wire.bundle_format import read_bundle, write_bundle
from fieldkit.wire.frame import TAG_BYTES, decode_envelope, seal

KEY = fuzz_codec.KEY
ME = 0x5EED0001
AREAS = {"riverside": "Riverside", "hillside": "Hillside"}
FORM_FIELDS = [
    "kind", "category", "urgency", "quantity", "quantity_unit", "area", "area_other", "note",
    "contact_name", "contact_phone", "contact_location", "share_contact", "language", "token",
]  # fmt: skip
counts: Counter[str] = Counter()


def mutate(seed: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    body = bytearray(seed)
    for position, byte in flips:
        if body:
            body[position % len(body)] ^= byte
    return bytes(body[: max(1, len(body) - cut)])


# --- targets --------------------------------------------------------------------------------


class NodeTarget:
    """One node, kept across cases: what it took or refused must never break it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.replica = MemoryReplica()
        engine = SyncEngine(ME, SyncSettings(), random.Random(1))
        self.node = GossipNode(ME, self.replica, KEY, engine)

    def __call__(self, seed_index: int, flips: list[tuple[int, int]], cut: int) -> None:
        genuine = fuzz_codec.SEEDS[seed_index % len(fuzz_codec.SEEDS)]
        body = mutate(genuine[:-TAG_BYTES], flips, cut)
        for frame in (seal(KEY, body), body):
            before = self.node.stats.frames_in
            self.loop.run_until_complete(self.node.receive(frame, 1_000 + before))
            counts["node_frames"] += 1
        self.loop.run_until_complete(self.node.next_payload(2_000_000_000))  # must not raise
        counts["node_still_answers"] += 1


def bundles() -> list[bytes]:
    envelopes = [decode_envelope(KEY, frame) for frame in fuzz_codec.SEEDS]
    return [write_bundle(KEY, envelopes)]


BUNDLES = bundles()


def bundle_target(data: bytes, flips: list[tuple[int, int]], cut: int, which: int) -> None:
    for candidate in (data, mutate(BUNDLES[which % len(BUNDLES)], flips, cut)):
        try:
            read_bundle(KEY, candidate)
        except (BundleError, DecodeError) as exc:
            counts[f"bundle_refused_{type(exc).__name__}"] += 1
        else:
            counts["bundle_read"] += 1


def form_target(body: bytes, fields: dict[str, str]) -> None:
    from urllib.parse import urlencode

    from fieldkit.web.forms import parse_intake, parse_urlencoded

    for raw in (body, urlencode(fields).encode()):
        try:
            form = parse_urlencoded(raw)
            parse_intake(form, AREAS, "en")
        except FormBodyError:
            counts["form_body_refused"] += 1
        except ValidationError as exc:
            if not exc.errors:
                raise AssertionError("a refusal names no field") from exc
            counts["form_invalid"] += 1
        else:
            counts["form_draft"] += 1


# --- running ----------------------------------------------------------------------------------


def run(name: str, cases: int, body: Callable[..., None], *strategies: st.SearchStrategy) -> float:  # type: ignore[type-arg]
    @settings(
        max_examples=cases, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(st.tuples(*strategies))
    def fuzz(args: tuple[object, ...]) -> None:
        counts[f"{name}_cases"] += 1
        body(*args)

    start = time.perf_counter()
    fuzz()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="in all, shared by targets")
    parser.add_argument("--targets", default="codec,node,bundle,form")
    args = parser.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    each = max(1, args.cases // len(targets))
    flips = st.lists(st.tuples(st.integers(0, 4096), st.integers(1, 255)), max_size=6)
    cut = st.integers(0, 64)
    plan: dict[str, tuple[Callable[..., None], tuple[st.SearchStrategy, ...]]] = {  # type: ignore[type-arg]
        "codec": (fuzz_codec.one_input, (st.binary(max_size=256),)),
        "node": (NodeTarget(), (st.integers(0, 99), flips, cut)),
        "bundle": (bundle_target, (st.binary(max_size=512), flips, cut, st.integers(0, 9))),
        "form": (
            form_target,
            (
                st.binary(max_size=512),
                st.dictionaries(st.sampled_from(FORM_FIELDS), st.text(max_size=80), max_size=14),
            ),
        ),
    }
    for name in targets:
        body, strategies = plan[name]
        seconds = run(name, each, body, *strategies)
        tried = counts[f"{name}_cases"]
        print(f"{name}_cases: {tried}")
        print(f"{name}_per_s: {tried / seconds:.0f}", flush=True)
    counts.update({f"codec_{k}": v for k, v in fuzz_codec.counts.items()})
    node = plan["node"][0]
    if isinstance(node, NodeTarget):
        counts.update({f"node_rejected_{k}": v for k, v in node.node.stats.rejected.items() if v})
    for key, value in sorted(counts.items()):
        if not key.endswith("_cases"):
            print(f"{key}: {value}")
    print("crashes: 0")  # any crash raised above, with hypothesis's smallest failing input
    return 0


if __name__ == "__main__":
    sys.exit(main())
