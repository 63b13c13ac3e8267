"""The wire codec (pure): sync messages as compact, versioned, authenticated binary frames.

API::

    WIRE_VERSION: int          # first byte of every frame
    TAG_BYTES: int             # bytes of the truncated HMAC-SHA256 that ends every frame
    REASONS: frozenset[str]    # every DecodeError.reason, for counters
    class DecodeError(FieldkitError): reason: str  # fieldkit.errors; wire errors subclass it
    encode_envelope(key, env) -> bytes                # any message, any size
    decode_envelope(key, data) -> Envelope            # version, then MAC, then parse
    pack_ops(key, sender, counter, ops, budget, summary=None, version=2)
        -> (frame, how_many_fitted)

Frame layout::

    version (1 byte) | bitstream | text stream | tag (TAG_BYTES = 8)

The *version byte* stands alone so that a hub speaking another version is told so
(``DecodeError("version")``) before anything else is tried; it is still covered by the tag.
This codec reads versions 1 to 5 and writes the lowest that holds the frame: version 1 (the
bytes of every earlier release, pinned by ``tests/data/golden``) unless an op needs an
extended code (version 2) or carries a causal counter (version 3; see
:mod:`fieldkit.wire.ops_body`), and never more than the ``version`` the caller says the
receivers read (the lower of ours and the neighbour's).
Version 4 is a *sealed* frame: version 3's layout with every bit after the header (type,
sender, counter) enciphered under the network key (:func:`_encipher`), written when the caller
says the receivers read 4 (``version=SEALED_VERSION``); the tag covers the enciphered bytes.
Version 5 is sealed the same way, with its ops in the *compact layout* (fewer bits per op, the
network's areas as indices: :mod:`fieldkit.wire.ops_body`): what hubs of this release send on
air once every neighbour reads it (``version=COMPACT_VERSION``).
The *tag* is HMAC-SHA256 truncated to 8 bytes, over everything before it, keyed with a
subkey of the network key (``HMAC(network key, "fieldkit wire frame v1")``), so the same key
can serve other purposes without one forging the other. 64 bits: a forger gets one guess per
frame on air, ~2 s each. The MAC is checked in constant time before any parsing.

The *bitstream* (:mod:`fieldkit.wire.bits`: fixed-width fields and varints of per-field
group sizes, no byte alignment) starts with the message type (2 bits: summary, ops, want),
the sender hub id (32 bits) and the sender's message counter (varint; replay *checking* is the
caller's job). Then, by message:

* **Summary**: the vector: uvar(origins), a width w (7 bits), then per origin hub, in
  ascending order, hub (32 bits) and its contiguous seq in w bits — 10 hubs at seqs in the
  thousands make a 73-byte frame, ~5.6 bytes a hub; then the extras: uvar(origins), per
  origin hub, uvar(count) and zigzag steps from the vector's seq. A hub that reads versions
  above 1 may say so (``Summary.reads``) as the extras of hub 0, which is never an origin:
  ~5 bytes, that a hub of an earlier release reads as seqs it never holds (see
  :data:`VERSION_HUB`); so does the mark of a partial summary (:data:`PARTIAL_MARK`, ~3 bytes
  more), which lists only some origins. Hubs say it only once it matters (see
  :mod:`fieldkit.sync.engine`).
* **Want**: the provider asked (32 bits), uvar(origins), then per origin, ascending: hub
  (32 bits), uvar(ranges), and per range zigzag(lo − previous hi − 1) and uvar(hi − lo).
* **Ops**: see :mod:`fieldkit.wire.ops_body`: a hub table (the sender is hub 0 for free), then
  each op delta-coded against the previous one, in the given order (the caller orders by
  urgency). All text goes to the *text stream*, compressed with a preset dictionary when that
  is smaller (:mod:`fieldkit.wire.text`).

Typical costs (bench/airtime.py, LongFast, 200-byte budget): an empty Ops or Summary frame is
17 bytes (version 1, type + sender + counter 7-8, tag 8); each origin hub other than the sender
adds 4. A Create op costs ~15 bytes of bitstream without note or contact (reference code 30
bits, clock delta ~4-5 bytes, all enums ~3 bytes, area usually a 2-bit repeat), ~22 with a
contact (phone in 4-bit symbols), plus its text: a typical 50-byte note deflates to ~25. That is
~34 bytes a record without a note and ~67 with one in version 1-3 frames, ~28 and ~57 in
compact ones (version 5, packed by :func:`pack_frame`), against ~384 bytes (2.3 text
messages) as JSON: ~8.8x less airtime. Decoded sequences are tuples, mappings dicts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldkit.core.fields import FIELDS, FieldSpec
from fieldkit.core.ops import Op
from fieldkit.errors import DecodeError as DecodeError  # re-exported: the codec's API
from fieldkit.wire.bits import BitReader, BitWriter, uvar_bits
from fieldkit.wire.messages import Envelope, Message, Ops, Summary, Want
from fieldkit.wire.ops_body import C_INDEX, WIRE_VERSIONS, BodyError, OpsReader, OpsWriter
from fieldkit.wire.text import TEXT_DEFLATE, pack_text, unpack_text

#: What this codec writes by default: frames stay version 1 (byte for byte as before) unless
#: they hold an extended op; see :data:`~fieldkit.wire.ops_body.WIRE_VERSIONS`.
WIRE_VERSION = 1
#: A sealed frame: version 3's layout with everything after the header (type, sender,
#: counter) enciphered under the network key, so a stranger on air reads no record, summary
#: or want; the same length as in the clear (see :func:`_encipher`).
SEALED_VERSION = 4
#: A sealed frame in the compact layout (:mod:`fieldkit.wire.ops_body`): fewer bits per op
#: and areas of the network's area table as indices; written when the caller says the
#: receivers read 5. Summaries and wants are as in version 4.
COMPACT_VERSION = 5
#: Every version byte this codec reads.
FRAME_VERSIONS = (*WIRE_VERSIONS, SEALED_VERSION, COMPACT_VERSION)
TAG_BYTES = 8
REASONS = frozenset({
    "version",  # another wire version (or not a fieldkit frame)
    "truncated",  # shorter than its fields say
    "auth",  # the tag does not match: wrong network key, or altered on the way
    "bad_varint",  # an integer wider than 64 bits, or not in its shortest form
    "bad_enum",  # a code no value has (message or op type, kind, unit, …)
    "bad_text",  # text that does not inflate to its announced size, not UTF-8, too long
    "bad_op",  # an op breaking the rules of ops.op_from_json (ranges, record ids, fields)
    "bad_message",  # a summary or want out of order or with impossible seqs
    "trailing",  # bytes or bits left over after the message
    "newer",  # an op (not the frame) with a code from a newer fieldkit: left out, in Ops.skipped
    "areas",  # areas coded by another network area table than ours (a hand-edited network.json)
})  # fmt: skip
MAX_TEXT_BYTES = 1 << 24  # a frame never inflates to more than this, whatever it announces

_SUMMARY, _OPS, _WANT, _OPS_SUMMARY = 0, 1, 2, 3
#: Hub 0 is never an origin (an op from hub 0 is refused). A summary's extras for hub 0 carry
#: the highest wire version its sender reads: a hub of an earlier release reads them as seqs
#: of an origin it never holds, and ignores them.
VERSION_HUB = 0
#: Among hub 0's extras, this value says the summary is partial (``Summary.partial``); a hub of
#: an earlier release reads it as one more seq of an origin it never holds.
PARTIAL_MARK = 1 << 16
#: Among hub 0's extras, this value says ``Summary.table_differs``; a hub of an earlier release
#: reads it as one more seq of an origin it never holds.
TABLE_MARK = 1 << 18
_MAC_LABEL = b"fieldkit wire frame v1"
_CIPHER_LABEL = b"fieldkit wire cipher v1"
_SEQ_MAX = (1 << 64) - 1
_HEADER_CHUNK = 7


# --- frame: version, header, tag ----------------------------------------------------------


def _tag(key: bytes, unsigned: bytes) -> bytes:
    if not key:
        raise ValueError("an empty network key")
    subkey = hmac.new(key, _MAC_LABEL, hashlib.sha256).digest()
    return hmac.new(subkey, unsigned, hashlib.sha256).digest()[:TAG_BYTES]


@lru_cache(maxsize=8)
def _cipher_key(key: bytes) -> bytes:
    if not key:
        raise ValueError("an empty network key")
    return HKDF(hashes.SHA256(), 32, salt=None, info=_CIPHER_LABEL).derive(key)


def _encipher(key: bytes, sender: int, counter: int, body: bytes, header_bits: int) -> bytes:
    """``body`` (the bitstream and text stream, without the version byte) with every bit past
    the first ``header_bits`` XORed with ChaCha20's keystream (``cryptography``), so the
    length stays the same and the same call deciphers. The nonce is the sender and its frame
    counter, which a hub never repeats under one key (counters are reserved in blocks that
    survive restarts; a restored backup jumps past them), and the tag, made afterwards over
    the enciphered frame, authenticates it (encrypt-then-MAC).
    """
    nonce = bytes(4) + sender.to_bytes(4, "big") + counter.to_bytes(8, "big")
    stream = Cipher(algorithms.ChaCha20(_cipher_key(key), nonce), None).encryptor()
    pad = bytearray(stream.update(bytes(len(body))))
    whole, part = divmod(header_bits, 8)
    pad[:whole] = bytes(whole)
    if part and whole < len(pad):
        pad[whole] &= 0xFF ^ ((1 << part) - 1)  # the bitstream fills each byte from bit 0
    return (int.from_bytes(body, "little") ^ int.from_bytes(pad, "little")).to_bytes(
        len(body), "little"
    )


def seal(key: bytes, unsigned: bytes) -> bytes:
    """``unsigned`` (version byte onwards) with its tag appended (for tests and fuzzers)."""
    return unsigned + _tag(key, unsigned)


def _header(kind: int, sender: int, counter: int) -> BitWriter:
    if not 0 <= sender <= 0xFFFFFFFF:
        raise ValueError(f"sender hub id {sender} is not a 32-bit number")
    if not 0 <= counter <= _SEQ_MAX:
        raise ValueError(f"counter {counter} is not a 64-bit number")
    w = BitWriter()
    w.bits(kind, 2)
    w.bits(sender, 32)
    w.uvar(counter, _HEADER_CHUNK)
    return w


def encode_envelope(
    key: bytes, env: Envelope, version: int = WIRE_VERSIONS[-1],
    fields: tuple[FieldSpec, ...] = FIELDS, areas: Sequence[str] = (),
) -> bytes:  # fmt: skip
    """One frame holding ``env``; raises ValueError for a message that breaks the rules.

    ``version`` is the highest the receivers read (the lower of ours and the neighbour's):
    the frame is written in the lowest version that holds it, so version 1 unless an op needs
    an extended code; an op that needs more than ``version`` is a ValueError. From version 4
    every frame is sealed; from 5 ops are in the compact layout, with ``areas`` (the network's
    area table) coded as indices.
    """
    frame_version = 1
    message = env.message
    text = b""
    if isinstance(message, Summary):
        w = _header(_SUMMARY, env.sender, env.counter)
        header_bits = w.bit_length
        _write_summary(w, message)
    elif isinstance(message, Want):
        w = _header(_WANT, env.sender, env.counter)
        header_bits = w.bit_length
        _write_want(w, message)
    else:
        w = _header(_OPS if message.summary is None else _OPS_SUMMARY, env.sender, env.counter)
        header_bits = w.bit_length
        if message.summary is not None:
            _write_summary(w, message.summary)
        ops = _writer(env.sender, version, fields, areas)
        for op in message.ops:
            ops.add(op)
        text = _finish_ops(w, ops)
        frame_version = ops.needs_version
    body = w.getvalue() + text
    if version >= SEALED_VERSION:
        frame_version = COMPACT_VERSION if version >= COMPACT_VERSION else SEALED_VERSION
        body = _encipher(key, env.sender, env.counter, body, header_bits)
    return seal(key, bytes([frame_version]) + body)


def _writer(
    sender: int, version: int, fields: tuple[FieldSpec, ...], areas: Sequence[str]
) -> OpsWriter:
    compact = version >= COMPACT_VERSION
    return OpsWriter(sender, min(version, WIRE_VERSIONS[-1]), fields, compact=compact, areas=areas)


def _finish_ops(w: BitWriter, ops: OpsWriter) -> bytes:
    w.uvar(len(ops.hubs) - 1, C_INDEX)
    for hub in ops.hubs[1:]:
        w.bits(hub, 32)
    w.uvar(ops.count, 4)
    mode, stream = pack_text(b"".join(ops.texts))
    w.bits(mode, 2)
    ops.write_mark(w)
    w.extend(ops.bits)
    return stream


def decode_envelope(
    key: bytes, data: bytes, reads: int = FRAME_VERSIONS[-1],
    fields: tuple[FieldSpec, ...] = FIELDS, areas: Sequence[str] = (),
) -> Envelope:  # fmt: skip
    """The envelope in ``data``; raises :class:`DecodeError` for anything else.

    Checks, in order: the version byte, the tag (nothing unauthenticated is parsed), then the
    message and every op by the rules of :func:`fieldkit.core.ops.op_from_json`. ``reads``
    and ``fields`` make the decoder of another release (an older one reads only version 1;
    a newer one knows more fields), for simulations of mixed fleets; ``areas`` is the
    network's area table (for version 5 frames that code areas by it).
    """
    if not data:
        raise DecodeError("truncated", "an empty frame")
    speaks = tuple(v for v in FRAME_VERSIONS if v <= reads)
    if data[0] not in speaks:
        raise DecodeError(
            "version",
            f"wire version {data[0]}, this hub speaks versions {speaks}: "
            "update fieldkit on the older hub",
        )
    if len(data) < 1 + TAG_BYTES + 5:
        raise DecodeError("truncated", f"a frame of {len(data)} bytes")
    body, tag = data[:-TAG_BYTES], data[-TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise DecodeError("auth", "the frame is not signed with our network key")
    stream = body[1:]
    r = BitReader(stream)
    # Every error below is a DecodeError (BitError, BodyError, TextError) with its reason.
    kind = r.bits(2)
    sender = r.bits(32)
    counter = r.uvar(_HEADER_CHUNK)
    if counter > _SEQ_MAX:
        raise DecodeError("bad_message", "counter out of range")
    layout = data[0]
    compact = layout == COMPACT_VERSION
    if layout >= SEALED_VERSION:  # the header stays in the clear: it names the nonce
        position = r.position
        stream = _encipher(key, sender, counter, stream, position)
        r = BitReader(stream)
        r.bits(position)
        layout = WIRE_VERSIONS[-1]
    message: Message
    table = areas if compact else ()
    if kind == _SUMMARY:
        message = _read_summary(r)
    elif kind == _WANT:
        message = _read_want(r)
    elif kind == _OPS:
        message = _read_ops(r, sender, stream, layout, fields, compact, table)
    else:  # ops with the sender's summary riding along
        summary = _read_summary(r)
        message = _read_ops(r, sender, stream, layout, fields, compact, table, summary)
    if kind in (_SUMMARY, _WANT) and r.byte_end != len(body) - 1:
        raise DecodeError("trailing", "bytes after the message")
    if not r.padding_is_zero():
        raise DecodeError("trailing", "stray bits after the message")
    return Envelope(sender, counter, message)


# --- ops ----------------------------------------------------------------------------------


def _read_ops(
    r: BitReader, sender: int, stream: bytes, version: int, fields: tuple[FieldSpec, ...],
    compact: bool, table: Sequence[str], summary: Summary | None = None,
) -> Ops:  # fmt: skip
    hubs = [sender]
    for _ in range(r.uvar(C_INDEX)):
        hubs.append(r.bits(32))
    if len(set(hubs)) != len(hubs):
        raise BodyError("bad_op", "a hub twice in the hub table")
    count = r.uvar(4)
    mode = r.bits(2)
    if mode > TEXT_DEFLATE:
        raise BodyError("bad_enum", "unknown text mode 3")
    reader = OpsReader(r, hubs, version, fields, compact=compact, table=table)
    reader.read_mark()
    for _ in range(count):
        reader.read()
    if not r.padding_is_zero():
        raise BodyError("trailing", "stray bits after the ops")
    size = sum(reader.lengths)
    if size > MAX_TEXT_BYTES:
        raise BodyError("bad_text", f"{size} bytes of text announced")
    raw = unpack_text(mode, stream[r.byte_end :], size)
    texts, start = [], 0
    for length in reader.lengths:
        try:
            texts.append(raw[start : start + length].decode())
        except UnicodeDecodeError:
            raise BodyError("bad_text", "text that is not UTF-8") from None
        start += length
    return Ops(tuple(reader.finish(texts)), summary, tuple(reader.skipped))


def pack_ops(
    key: bytes, sender: int, counter: int, ops: Sequence[Op], budget: int,
    summary: Summary | None = None, version: int = WIRE_VERSIONS[-1],
    fields: tuple[FieldSpec, ...] = FIELDS, areas: Sequence[str] = (),
) -> tuple[bytes, int]:  # fmt: skip
    """A frame of at most ``budget`` bytes holding the longest prefix of ``ops`` that fits
    (after ``summary``, when one rides along), for receivers that read up to ``version``
    (see :func:`encode_envelope`).

    Returns ``(frame, how_many)``. The ops keep their order (put the most urgent first).
    ValueError if not even the first op fits alone (or ``ops`` is empty, or an op is invalid).
    """
    if not ops:
        raise ValueError("no ops to pack")
    header = _ops_header_bits(sender, counter, summary)
    writer = _writer(sender, version, fields, areas)
    sizes: list[tuple[int, int]] = []  # after each op: (bytes without text, texts so far)
    for op in ops:
        writer.add(op)
        fixed = _fixed_size(header, writer)
        if fixed > budget:  # the bitstream only grows: no longer prefix can fit
            break
        sizes.append((fixed, len(writer.texts)))
    for k in range(len(sizes), 0, -1):  # the largest k that fits (text size is not monotone)
        fixed, n_texts = sizes[k - 1]
        if fixed + len(pack_text(b"".join(writer.texts[:n_texts]))[1]) <= budget:
            env = Envelope(sender, counter, Ops(tuple(ops[:k]), summary))
            frame = encode_envelope(key, env, version, fields, areas)
            assert len(frame) <= budget, (len(frame), budget)
            return frame, k
    raise ValueError(f"op {ops[0].origin:08x}-{ops[0].seq} does not fit in {budget} bytes")


#: How far past the first op :func:`pack_frame` looks for ops that fill the frame cheaply.
LOOKAHEAD = 32
_TRIES = 12  # candidates tried per slot before the frame is taken as full


def pack_frame(
    key: bytes, sender: int, counter: int, ops: Sequence[Op], budget: int,
    summary: Summary | None = None, version: int = WIRE_VERSIONS[-1],
    fields: tuple[FieldSpec, ...] = FIELDS, areas: Sequence[str] = (),
    lookahead: int = LOOKAHEAD,
) -> tuple[bytes, tuple[int, ...]]:  # fmt: skip
    """A frame of at most ``budget`` bytes: ``ops[0]`` (put the most urgent first), then, while
    more fit, ops from the next ``lookahead`` not yet taken — those whose area and origin the
    frame already names first (each then costs a few bits, not its text or a 32-bit hub id),
    else in the given order. So frames are fuller and names are re-sent less, and no op waits
    more than a frame behind one that was given after it.

    Returns ``(frame, taken)``: the indices into ``ops`` of the ops it holds, in frame order.
    ValueError if ``ops[0]`` does not fit alone (or ``ops`` is empty, or an op is invalid).
    """
    if not ops:
        raise ValueError("no ops to pack")
    header = _ops_header_bits(sender, counter, summary)
    writer = _writer(sender, version, fields, areas)
    writer.add(ops[0])
    if _packed_size(header, writer) > budget:
        raise ValueError(f"op {ops[0].origin:08x}-{ops[0].seq} does not fit in {budget} bytes")
    taken = [0]
    rest = list(range(1, len(ops)))
    while rest:
        window = rest[:lookahead]
        window.sort(key=lambda i: (*(not x for x in writer.shares(ops[i])), i))
        for i in window[:_TRIES]:
            trial = writer.copy()
            trial.add(ops[i])
            if _packed_size(header, trial) <= budget:
                writer = trial
                taken.append(i)
                rest.remove(i)
                break
        else:
            break
    env = Envelope(sender, counter, Ops(tuple(ops[i] for i in taken), summary))
    frame = encode_envelope(key, env, version, fields, areas)
    assert len(frame) <= budget, (len(frame), budget)
    return frame, tuple(taken)


def _ops_header_bits(sender: int, counter: int, summary: Summary | None) -> int:
    """The bits of an ops frame's header, with the summary riding on it."""
    head = _header(_OPS if summary is None else _OPS_SUMMARY, sender, counter)
    if summary is not None:
        _write_summary(head, summary)
    return head.bit_length


def _fixed_size(header_bits: int, writer: OpsWriter) -> int:
    """The bytes of a frame holding what ``writer`` holds, but for its packed text."""
    extra_hubs = len(writer.hubs) - 1
    bits = header_bits + uvar_bits(extra_hubs, C_INDEX) + 32 * extra_hubs
    bits += uvar_bits(writer.count, 4) + 2 + writer.mark_bits() + writer.bits.bit_length
    return 1 + (bits + 7) // 8 + TAG_BYTES


def _packed_size(header_bits: int, writer: OpsWriter) -> int:
    """The bytes of a frame holding what ``writer`` holds, after ``header_bits`` of header."""
    return _fixed_size(header_bits, writer) + len(pack_text(b"".join(writer.texts))[1])


# --- summary and want ---------------------------------------------------------------------


def _hub_ok(hub: int) -> None:
    if not 0 <= hub <= 0xFFFFFFFF:
        raise ValueError(f"hub id {hub} is not a 32-bit number")


def _seq_ok(seq: int, low: int = 1) -> None:
    if not low <= seq <= _SEQ_MAX:
        raise ValueError(f"seq {seq} out of range {low}..{_SEQ_MAX}")


def _write_summary(w: BitWriter, summary: Summary) -> None:
    vector = sorted(summary.vector.items())
    width = max((top.bit_length() for _, top in vector), default=0)
    w.uvar(len(vector), 3)
    w.bits(width, 7)  # every seq of the vector in ``width`` bits: they are alike in size
    for hub, top in vector:
        _hub_ok(hub)
        _seq_ok(top, 0)
        w.bits(hub, 32)
        w.bits(top, width)
    if VERSION_HUB in summary.extra:
        raise ValueError(f"hub {VERSION_HUB} is not an origin: its extra entry says the version")
    extra = sorted(summary.extra.items())
    said: tuple[int, ...] = (summary.reads,) if summary.reads > 1 else ()
    if summary.partial:
        said += (PARTIAL_MARK,)
    if summary.table_differs:
        said += (TABLE_MARK,)
    if said:  # the version we read, and partial, ride as the extras of hub 0 (no origin)
        extra.insert(0, (VERSION_HUB, said))
    w.uvar(len(extra), 1)
    for hub, seqs in extra:
        _hub_ok(hub)
        w.bits(hub, 32)
        w.uvar(len(seqs), 2)
        prev = summary.vector.get(hub, 0)
        for seq in seqs:
            _seq_ok(seq)
            w.svar(seq - prev - 1, 4)
            prev = seq


def _read_summary(r: BitReader) -> Summary:
    vector: dict[int, int] = {}
    count, width = r.uvar(3), r.bits(7)
    if width > 64:
        raise BodyError("bad_message", f"summary seqs of {width} bits")
    last = -1
    for _ in range(count):
        hub, top = r.bits(32), r.bits(width)
        if hub <= last:
            raise BodyError("bad_message", "summary hubs out of order")
        vector[hub] = top
        last = hub
    extra: dict[int, tuple[int, ...]] = {}
    last = -1
    for _ in range(r.uvar(1)):
        hub = r.bits(32)
        if hub <= last:
            raise BodyError("bad_message", "summary hubs out of order")
        last = hub
        prev, seqs = vector.get(hub, 0), []
        for _ in range(r.uvar(2)):
            prev += 1 + r.svar(4)
            if not 1 <= prev <= _SEQ_MAX:
                raise BodyError("bad_message", f"summary seq {prev} out of range")
            seqs.append(prev)
        extra[hub] = tuple(seqs)
    said = extra.pop(VERSION_HUB, ())
    reads = max((v for v in said if v < PARTIAL_MARK), default=1)
    return Summary(
        vector, extra, reads, partial=PARTIAL_MARK in said, table_differs=TABLE_MARK in said
    )


def _write_want(w: BitWriter, want: Want) -> None:
    _hub_ok(want.provider)
    w.bits(want.provider, 32)
    hubs = sorted(want.ranges)
    w.uvar(len(hubs), 3)
    for hub in hubs:
        _hub_ok(hub)
        w.bits(hub, 32)
        ranges = want.ranges[hub]
        w.uvar(len(ranges), 2)
        prev = 0
        for lo, hi in ranges:
            _seq_ok(lo)
            _seq_ok(hi, lo)
            w.svar(lo - prev - 1, 5)
            w.uvar(hi - lo, 4)
            prev = hi


def _read_want(r: BitReader) -> Want:
    provider = r.bits(32)
    if provider == 0:
        raise BodyError("bad_message", "want names no provider")
    ranges: dict[int, tuple[tuple[int, int], ...]] = {}
    last = -1
    for _ in range(r.uvar(3)):
        hub = r.bits(32)
        if hub <= last:
            raise BodyError("bad_message", "want hubs out of order")
        last = hub
        prev, items = 0, []
        for _ in range(r.uvar(2)):
            lo = prev + 1 + r.svar(5)
            hi = lo + r.uvar(4)
            if not 1 <= lo <= hi <= _SEQ_MAX:
                raise BodyError("bad_message", f"want range {lo}..{hi} out of range")
            items.append((lo, hi))
            prev = hi
        ranges[hub] = tuple(items)
    return Want(provider, ranges)
