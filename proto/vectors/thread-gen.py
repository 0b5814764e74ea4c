#!/usr/bin/python3
"""Generate proto/vectors/thread.json: test vectors for the pure encodings of
consultation threads (docs/THREADS.md "Messages" and "Delivery and read
marks"; PROTOCOL.md 17.1; proto/thread.h). The membership chain's vectors are
in chain.json (chain-gen.py).

A second, independent implementation written against the text with PyNaCl
(nacl.bindings) and hashlib; it does not call the C code. It writes:

- thread ids and message ids, valid ("T-" or "M-" and 26 characters of
  base32 that 16 bytes encode to) and invalid;
- the routing bytes of thread messages, enc("varsko-threadmsg-v1", thread
  id, u64 membership version, kind), for each kind, and byte strings that
  are not routing bytes (every one is refused with bad_input);
- read marks: the signing input enc("varsko-threadreceipt-v1", thread id,
  u64 seq, message id, envelope hash, kind, user, device, i64 time) and the
  Ed25519 signature of the reading device (fixed seed; Ed25519 is
  deterministic, so the C signer reproduces it byte for byte);
- read marks that do not verify: fields a signer must refuse (with a
  signature over what a careless encoder would have signed, so a verifier
  that skips the checks accepts it), a device id that is not the signing
  key's, and signatures of other keys or over other fields.

Run with Debian's python3 (it has PyNaCl):

    /usr/bin/python3 proto/vectors/thread-gen.py [--corpus]

With --corpus it also rewrites the seed corpus of the fuzz target,
tests/fuzz/corpus/thread/: one file per routing byte string, valid and
invalid, and one per thread id.
"""

import base64
import hashlib
import json
import os
import struct
import sys

from nacl import bindings as nb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "thread.json")

TAG_MSG = b"varsko-threadmsg-v1"
TAG_RECEIPT = b"varsko-threadreceipt-v1"
TAG_DEVICE_ID = b"varsko-device-id-v1"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
INT64_MAX = 2 ** 63 - 1


def field(b):
    return struct.pack(">I", len(b)) + b


def s(x):
    return field(x.encode())


def u64(v):
    return field(struct.pack(">Q", v))


def i64(v):
    return field(struct.pack(">q", v))


def compact(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seed(label):
    return hashlib.sha256(b"varsko-thread-vector:" + label.encode()).digest()


def b32id(prefix, label):
    """prefix and the unpadded RFC 4648 base32 of 16 bytes from label: 26 characters."""
    return prefix + base64.b32encode(seed(label)[:16]).decode().rstrip("=")


def noncanonical(i):
    """The id with a low bit set in its last character, which no 16 bytes give."""
    return i[:-1] + B32[B32.index(i[-1]) | 1]


def device(label):
    """(seed, pk, 64-byte sk, device id) of a device signing key."""
    pk, sk = nb.crypto_sign_seed_keypair(seed(label))
    h = hashlib.blake2b(field(TAG_DEVICE_ID) + field(pk), digest_size=32).digest()
    return seed(label), pk, sk, "d-" + h[:8].hex()


def routing(thread, version, kind):
    return field(TAG_MSG) + s(thread) + u64(version) + s(kind)


def receipt_input(r):
    return (field(TAG_RECEIPT) + s(r["thread"]) + u64(r["seq"]) + s(r["message"]) +
            field(bytes.fromhex(r["envelope_hash"])) + s(r["kind"]) + s(r["user"]) + s(r["device"]) +
            i64(r["time"]))


def sign(data, sk):
    return nb.crypto_sign(data, sk)[:64]


def main():
    thread = b32id("T-", "thread-1")
    thread2 = b32id("T-", "thread-2")
    message = b32id("M-", "message-1")

    valid_threads = [thread, thread2, b32id("T-", "thread-3"), "T-" + "A" * 26, "T-" + "7" * 25 + "4"]
    invalid_threads = [
        "", "T-", "T-" + "A" * 25, "T-" + "A" * 27, thread.lower(), "t-" + thread[2:], "M-" + thread[2:],
        "T_" + thread[2:], "T" + thread[2:] + "A", thread[:10] + "1" + thread[11:], thread[:10] + "0" + thread[11:],
        thread[:10] + "8" + thread[11:], thread[:10] + "=" + thread[11:], noncanonical(thread),
        "T-" + "A" * 25 + "B", "T-" + "7" * 26, " " + thread, thread + " ", "T-" + "A" * 24 + "==",
    ]
    valid_messages = [message, b32id("M-", "message-2"), "M-" + "A" * 26]
    invalid_messages = ["", "M-" + "A" * 25, "T-" + message[2:], message.lower(), noncanonical(message),
                        "m-" + message[2:], message + "A"]

    # ---- routing bytes ----
    valid_routing = []
    for t, v, k in [(thread, 1, "text"), (thread, 7, "file"), (thread2, INT64_MAX, "underretning_ref"),
                    ("T-" + "A" * 26, 1, "text")]:
        valid_routing.append({"thread": t, "version": v, "kind": k, "hex": routing(t, v, k).hex()})

    good = routing(thread, 3, "text")
    bad = [
        ("empty", b""),
        ("tag-only", field(TAG_MSG)),
        ("wrong-tag", field(b"varsko-threadmsg-v2") + s(thread) + u64(3) + s("text")),
        ("underretning-tag", field(b"varsko-routing-v1") + s(thread) + u64(3) + s("text")),
        ("trailing-byte", good + b"\x00"),
        ("trailing-field", good + field(b"")),
        ("truncated", good[:-1]),
        ("missing-kind", field(TAG_MSG) + s(thread) + u64(3)),
        ("version-0", routing(thread, 0, "text")),
        ("version-2^63", routing(thread, INT64_MAX + 1, "text")),
        ("version-all-ones", field(TAG_MSG) + s(thread) + field(b"\xff" * 8) + s("text")),
        ("version-7-bytes", field(TAG_MSG) + s(thread) + field(b"\x00" * 6 + b"\x03") + s("text")),
        ("version-9-bytes", field(TAG_MSG) + s(thread) + field(b"\x00" * 8 + b"\x03") + s("text")),
        ("version-before-thread", field(TAG_MSG) + u64(3) + s(thread) + s("text")),
        ("kind-unknown", routing(thread, 3, "image")),
        ("kind-uppercase", routing(thread, 3, "Text")),
        ("kind-empty", routing(thread, 3, "")),
        ("kind-with-nul", field(TAG_MSG) + s(thread) + u64(3) + field(b"text\x00")),
        ("kind-too-long", routing(thread, 3, "underretning_refs")),
        ("kind-underretning", routing(thread, 3, "underretning")),
        ("thread-lowercase", routing(thread.lower(), 3, "text")),
        ("thread-not-canonical", routing(noncanonical(thread), 3, "text")),
        ("thread-message-id", routing(message, 3, "text")),
        ("thread-empty", routing("", 3, "text")),
        ("thread-with-nul", field(TAG_MSG) + field(thread.encode() + b"\x00") + u64(3) + s("text")),
        ("thread-length-past-end", field(TAG_MSG) + b"\xff\xff\xff\xff" + thread.encode()),
        ("tag-length-past-end", b"\x00\x00\x00\x20" + TAG_MSG),
        ("short-length", b"\x00\x00\x00"),
    ]
    invalid_routing = [{"name": n, "hex": b.hex(), "error": "bad_input"} for n, b in bad]

    # ---- read marks ----
    dev_seed, dev_pk, dev_sk, dev_id = device("u-3002/dev1")
    other_seed, other_pk, other_sk, other_id = device("u-3002/dev2")
    ehash = hashlib.sha256(b"varsko-thread-vector:envelope-1").hexdigest()
    base = {"thread": thread, "seq": 12, "message": message, "envelope_hash": ehash, "kind": "leveret",
            "user": "u-3002", "device": dev_id, "time": 1795435200}
    receipts = []
    for r in (base, dict(base, kind="laest", time=1795435260), dict(base, seq=INT64_MAX, time=0)):
        si = receipt_input(r)
        receipts.append(dict(r, device_seed=dev_seed.hex(), device_pk=dev_pk.hex(), signing_input=si.hex(),
                             sig=sign(si, dev_sk).hex()))

    def invalid(name, r, sig, pk, input_ok):
        return dict(r, name=name, device_pk=pk.hex(), sig=sig.hex(), signing_input_ok=input_ok,
                    error="bad_signature")

    def careless(name, **changes):
        """Fields a signer refuses, signed as a careless encoder would."""
        r = dict(base, **changes)
        return invalid(name, r, sign(receipt_input(r), dev_sk), dev_pk, False)

    flipped = bytearray(bytes.fromhex(receipts[0]["sig"]))
    flipped[0] ^= 1
    other_dev = dict(base, device=other_id)
    invalid_receipts = [
        careless("seq-0", seq=0),
        careless("message-id-not-canonical", message=noncanonical(message)),
        careless("message-id-is-thread-id", message=thread2),
        careless("thread-id-lowercase", thread=thread.lower()),
        careless("kind-read", kind="read"),
        careless("kind-laest-with-ae", kind="læst"),
        careless("user-empty", user=""),
        careless("user-with-space", user="u 3002"),
        careless("time-negative", time=-1),
        careless("time-after-9999", time=253402300800),
        invalid("flipped-signature", base, bytes(flipped), dev_pk, True),
        invalid("device-not-the-key", other_dev, sign(receipt_input(other_dev), dev_sk), dev_pk, True),
        invalid("other-device-key", base, sign(receipt_input(base), other_sk), other_pk, True),
        invalid("signed-leveret-shown-laest", dict(base, kind="laest"), bytes.fromhex(receipts[0]["sig"]), dev_pk,
                True),
        invalid("signed-for-another-seq", dict(base, seq=13), bytes.fromhex(receipts[0]["sig"]), dev_pk, True),
        invalid("signed-for-another-envelope", dict(base, envelope_hash=hashlib.sha256(b"other").hexdigest()),
                bytes.fromhex(receipts[0]["sig"]), dev_pk, True),
        invalid("signed-for-another-thread", dict(base, thread=thread2), bytes.fromhex(receipts[0]["sig"]), dev_pk,
                True),
    ]

    out = {
        "description": "docs/THREADS.md thread ids, message routing bytes and read marks from fixed seeds; "
                       "generated by thread-gen.py (PyNaCl, hashlib), independent of the C code",
        "thread_ids": {"valid": valid_threads, "invalid": invalid_threads},
        "message_ids": {"valid": valid_messages, "invalid": invalid_messages},
        "routing": valid_routing,
        "invalid_routing": invalid_routing,
        "receipts": receipts,
        "invalid_receipts": invalid_receipts,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    if "--corpus" in sys.argv[1:]:
        corpus(out)


def corpus(out):
    d = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "fuzz", "corpus", "thread")
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.startswith("seed-"):
            os.remove(os.path.join(d, old))
    items = [bytes.fromhex(r["hex"]) for r in out["routing"] + out["invalid_routing"]]
    items += [t.encode() for t in out["thread_ids"]["valid"] + out["thread_ids"]["invalid"]]
    seen = set()
    for data in items:
        if data in seen:
            continue
        seen.add(data)
        with open(os.path.join(d, "seed-" + hashlib.sha256(data).hexdigest()[:16]), "wb") as f:
            f.write(data)
    print("%d files in %s" % (len(seen), d))


if __name__ == "__main__":
    main()
