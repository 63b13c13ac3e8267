"""Fuzz what a hub reads from strangers: whatever arrives, a clear refusal, never a crash.

    python bench/fuzz.py --each 1000000                  # the bulk run: 1M cases a target
    python bench/fuzz.py [--cases N | --each N] [--targets codec,node,bundle,form]
                         [--engine mutate|hypothesis] [--seed S]

Two engines. ``mutate`` (the default, for the bulk run): seeded random mutation of a corpus
of valid inputs — genuine frames, sealed and plain bundles, intake form bodies — by bit flips,
interesting bytes, deletions, insertions, duplications, splices and cuts (1 to 8 a case, as
AFL and libFuzzer do), plus random bytes; about ten times the cases a second of hypothesis,
which spends most of its time generating and recording each example. A crash prints the
seed and case number that reproduce it (``--seed S --skip N``). ``hypothesis`` (the suite's
short run): hypothesis's strategies, whose shrinking names a crash's smallest input.

Four targets (``--cases`` is shared by them, ``--each`` is per target):

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
from fieldkit.wire import bundle_format
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
        self.node = GossipNode(ME, self.replica, KEY, engine, areas=fuzz_codec.AREAS)

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
    envelopes = [decode_envelope(KEY, frame, areas=fuzz_codec.AREAS) for frame in fuzz_codec.SEEDS]
    return [write_bundle(KEY, envelopes), plain_bundle(envelopes)]


def plain_bundle(envelopes: list[object]) -> bytes:
    """A bundle as earlier releases wrote it (authenticated, not sealed): still read."""
    writer = bundle_format._PlainWriter(KEY, 3)
    body = bundle_format.MAGIC + b"".join(writer.add(env) for env in envelopes)  # type: ignore[arg-type]
    return body + writer.finish()


def resign_plain(data: bytes) -> bytes:
    """A mutated plain bundle with its MAC made good again, so the reader parses it."""
    import hashlib
    import hmac

    if len(data) <= bundle_format.TAG:
        return data
    body = data[: -bundle_format.TAG]
    return body + hmac.new(bundle_format._key(KEY), body, hashlib.sha256).digest()


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


# --- the mutation engine ------------------------------------------------------------------------

INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x25, 0x3D, 0x26, 0x2B)


class Mutator:
    """Seeded mutations of corpus inputs: reproducible from (seed, case)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def random_bytes(self, most: int) -> bytes:
        return self.rng.randbytes(self.rng.randrange(most + 1))

    def __call__(self, corpus: list[bytes], most: int = 1024) -> bytes:
        rng = self.rng
        if rng.random() < 0.05:
            return self.random_bytes(min(most, 256))
        data = bytearray(rng.choice(corpus))
        for _ in range(1 + min(rng.getrandbits(3), rng.getrandbits(3))):  # mostly few
            if not data:
                data += self.random_bytes(8)
                continue
            at = rng.randrange(len(data))
            action = rng.randrange(9)
            if action <= 2:  # flip a bit (most often: the smallest step)
                data[at] ^= 1 << rng.randrange(8)
            elif action == 3:
                data[at] = rng.randrange(256)
            elif action == 4:
                data[at] = rng.choice(INTERESTING)
            elif action == 5:  # delete a run
                del data[at : at + 1 + rng.randrange(16)]
            elif action == 6:  # insert random bytes
                data[at:at] = self.random_bytes(16)
            elif action == 7:  # duplicate a run, or splice in another input's
                source = data if rng.random() < 0.5 else rng.choice(corpus)
                start = rng.randrange(len(source))
                data[at:at] = source[start : start + 1 + rng.randrange(32)]
            else:  # cut short
                del data[at:]
        return bytes(data[:most])


def mutate_plan(rng: random.Random) -> dict[str, Callable[[], None]]:
    """Each target's one case, drawing from ``rng``."""
    from urllib.parse import urlencode

    mutate_bytes = Mutator(rng)
    bodies = [seed[:-TAG_BYTES] for seed in fuzz_codec.SEEDS]
    node = NodeTarget()
    plain = BUNDLES[1:]
    forms = [
        urlencode(form).encode()
        for form in (
            {"kind": "need", "category": "water", "urgency": "critical", "area": "riverside",
             "note": "Familia de 6", "quantity": "6", "quantity_unit": "people",
             "contact_name": "Ana", "contact_phone": "555 0100", "share_contact": "on",
             "language": "es"},
            {"kind": "offer", "category": "food", "urgency": "flexible", "area": "other",
             "area_other": "by the bridge", "note": "二 boxes", "language": "zh"},
            {"kind": "need", "category": "medical", "urgency": "today", "area": "hillside",
             "contact_location": "blue door", "quantity": "2", "quantity_unit": "kits"},
        )
    ]  # fmt: skip

    def codec() -> None:
        counts["codec_cases"] += 1
        body = mutate_bytes(bodies, 512)
        for frame in (body, seal(KEY, body)):  # as sent, and past the tag into the parser
            try:
                decode_envelope(KEY, frame, areas=fuzz_codec.AREAS)
            except DecodeError as exc:
                if exc.reason not in fuzz_codec.REASONS:
                    raise AssertionError(f"undocumented reason {exc.reason!r}") from exc
                fuzz_codec.counts[f"reason_{exc.reason}"] += 1
            else:
                fuzz_codec.counts["decoded"] += 1

    def node_case() -> None:
        counts["node_cases"] += 1
        body = mutate_bytes(bodies, 512)
        for frame in (seal(KEY, body), body):
            before = node.node.stats.frames_in
            node.loop.run_until_complete(node.node.receive(frame, 1_000 + before))
            counts["node_frames"] += 1
        if counts["node_cases"] % 16 == 0:  # it still answers (asked often, not every frame)
            node.loop.run_until_complete(node.node.next_payload(2_000_000_000))
            counts["node_still_answers"] += 1

    def bundle() -> None:
        counts["bundle_cases"] += 1
        data = mutate_bytes(BUNDLES, 4096)
        candidates = [data, resign_plain(mutate_bytes(plain, 4096))]
        for candidate in candidates:
            try:
                read_bundle(KEY, candidate)
            except (BundleError, DecodeError) as exc:
                counts[f"bundle_refused_{type(exc).__name__}"] += 1
            else:
                counts["bundle_read"] += 1

    def form() -> None:
        from fieldkit.web.forms import parse_intake, parse_urlencoded

        counts["form_cases"] += 1
        try:
            parse_intake(parse_urlencoded(mutate_bytes(forms, 2048)), AREAS, "en")
        except FormBodyError:
            counts["form_body_refused"] += 1
        except ValidationError as exc:
            if not exc.errors:
                raise AssertionError("a refusal names no field") from exc
            counts["form_invalid"] += 1
        else:
            counts["form_draft"] += 1

    return {"codec": codec, "node": node_case, "bundle": bundle, "form": form, "_node": node}  # type: ignore[dict-item]


def run_mutations(name: str, cases: int, case: Callable[[], None], seed: int, skip: int) -> float:
    start = time.perf_counter()
    for number in range(skip, cases):
        try:
            case()
        except Exception:
            print(f"crash in {name} at case {number}: reproduce with --engine mutate "
                  f"--seed {seed} --targets {name} --skip {number}", file=sys.stderr)  # fmt: skip
            raise
    return time.perf_counter() - start


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
    parser.add_argument("--each", type=int, help="cases per target (instead of --cases)")
    parser.add_argument("--targets", default="codec,node,bundle,form")
    parser.add_argument("--engine", choices=("mutate", "hypothesis"), default="mutate")
    parser.add_argument("--seed", type=int, default=11, help="the mutation engine's seed")
    parser.add_argument("--skip", type=int, default=0, help="start at this case (a replay)")
    args = parser.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    each = args.each or max(1, args.cases // len(targets))
    print(f"engine={args.engine}")
    node: object = None
    if args.engine == "mutate":
        plan = mutate_plan(random.Random(args.seed))
        node = plan.pop("_node")
        for name in targets:
            seconds = run_mutations(name, each, plan[name], args.seed, args.skip)
            report(name, seconds)
    else:
        node = hypothesis_plan(targets, each)
    counts.update({f"codec_{k}": v for k, v in fuzz_codec.counts.items()})
    if isinstance(node, NodeTarget):
        counts.update({f"node_rejected_{k}": v for k, v in node.node.stats.rejected.items() if v})
    for key, value in sorted(counts.items()):
        if not key.endswith("_cases"):
            print(f"{key}: {value}")
    print("crashes: 0")  # any crash raised above, with the input (or case) that caused it
    return 0


def report(name: str, seconds: float) -> None:
    tried = counts[f"{name}_cases"]
    print(f"{name}_cases: {tried}")
    print(f"{name}_seconds: {seconds:.1f}")
    print(f"{name}_per_s: {tried / seconds:.0f}", flush=True)


def hypothesis_plan(targets: list[str], each: int) -> NodeTarget:
    flips = st.lists(st.tuples(st.integers(0, 4096), st.integers(1, 255)), max_size=6)
    cut = st.integers(0, 64)
    node = NodeTarget()
    plan: dict[str, tuple[Callable[..., None], tuple[st.SearchStrategy, ...]]] = {  # type: ignore[type-arg]
        "codec": (fuzz_codec.one_input, (st.binary(max_size=256),)),
        "node": (node, (st.integers(0, 99), flips, cut)),
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
        report(name, run(name, each, body, *strategies))
    return node


if __name__ == "__main__":
    sys.exit(main())
