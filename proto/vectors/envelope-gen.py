#!/usr/bin/python3
"""Generate proto/vectors/envelope.json: test vectors for the envelope.

A second, independent implementation of the envelope of proto/PROTOCOL.md section 11,
written against the spec with PyNaCl (nacl.bindings), hmac and hashlib; it
does not call the C code. tests/unit/test-envelope.c seals the same inputs
with the same "randomness" through env_seal_for_test_vectors() and compares
the JSON byte for byte, then opens these envelopes as every recipient.

Run with Debian's python3 (it has PyNaCl):

    /usr/bin/python3 proto/vectors/envelope-gen.py

With --corpus it also rewrites the seed corpora of the fuzz targets
tests/fuzz/corpus/envelope/ (these vectors and broken variants) and
tests/fuzz/corpus/underretning/ (variants of deploy/demo/underretning-example.json
and a canonical routing header).
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys

from nacl import bindings as nb

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "envelope.json")

TAG_HEADER = b"varsko-envelope-v1"
TAG_SIG = b"varsko-envelope-sig-v1"
TAG_WRAP = b"varsko-wrap-v1"
TAG_DEVICE_ID = b"varsko-device-id-v1"


def field(b):
    return struct.pack(">I", len(b)) + b


def u64(v):
    return field(struct.pack(">Q", v))


def fixed(label, n):
    """Deterministic test bytes: SHA-512 of a label, cut to n bytes."""
    return hashlib.sha512(b"varsko-envelope-vector:" + label.encode()).digest()[:n]


def device_id(sign_pk):
    h = hashlib.blake2b(field(TAG_DEVICE_ID) + field(sign_pk), digest_size=32).digest()
    return "d-" + h[:8].hex()


def hkdf_sha256(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def b64(b):
    return base64.b64encode(b).decode()


def header(kind, obj, sender, devices, routing):
    h = field(TAG_HEADER) + u64(1) + field(kind.encode()) + field(obj.encode()) + field(sender.encode())
    h += u64(len(devices)) + b"".join(field(d.encode()) for d in devices)
    return h + field(routing)


def make(name, kind, obj, routing, plaintext, n_rcpt, order, ids=None):
    """ids: recipient ids to use instead of device ids (key ids such as user:<id>:<g>, PROTOCOL.md 11.2)."""
    sender_seed = fixed(name + "/sender-seed", 32)
    sender_pk, sender_sk = nb.crypto_sign_seed_keypair(sender_seed)
    sender = device_id(sender_pk)
    rcpts = []
    for i in range(n_rcpt):
        spk, _ = nb.crypto_sign_seed_keypair(fixed("%s/rcpt%d-sign" % (name, i), 32))
        box_sk = fixed("%s/rcpt%d-box" % (name, i), 32)
        rid = ids[i] if ids is not None else device_id(spk)
        rcpts.append({"device": rid, "box_sk": box_sk, "box_pk": nb.crypto_scalarmult_base(box_sk)})
    given = [rcpts[i] for i in order]  # the order the caller passes them in
    srt = sorted(rcpts, key=lambda r: r["device"].encode())
    ck = fixed(name + "/content-key", 32)
    esk = fixed(name + "/eph-sk", 32)
    nonce = fixed(name + "/nonce", 24)
    wrap_nonces = [fixed("%s/wrap-nonce%d" % (name, i), 24) for i in range(n_rcpt)]
    epk = nb.crypto_scalarmult_base(esk)
    wraps = []
    for i, r in enumerate(srt):
        shared = nb.crypto_scalarmult(esk, r["box_pk"])
        wk = hkdf_sha256(epk + r["box_pk"], shared, TAG_WRAP + r["device"].encode(), 32)
        key = nb.crypto_aead_xchacha20poly1305_ietf_encrypt(ck, None, wrap_nonces[i], wk)
        wraps.append({"device": r["device"], "nonce": wrap_nonces[i], "key": key})
    hdr = header(kind, obj, sender, [r["device"] for r in srt], routing)
    ct = nb.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, hdr, nonce, ck)
    si = field(TAG_SIG) + field(hdr) + field(epk) + u64(len(wraps))
    for w in wraps:
        si += field(w["device"].encode()) + field(w["nonce"]) + field(w["key"])
    si += field(nonce) + field(ct)
    sig = nb.crypto_sign(si, sender_sk)[:64]
    env = {
        "ciphertext": b64(ct), "epk": b64(epk), "kind": kind, "nonce": b64(nonce), "object_id": obj,
        "routing": b64(routing), "sender": sender, "sig": b64(sig), "version": 1,
        "wraps": [{"device": w["device"], "key": b64(w["key"]), "nonce": b64(w["nonce"])} for w in wraps],
    }
    return {
        "name": name,
        "sender_seed": sender_seed.hex(),
        "sender_sign_pk": sender_pk.hex(),
        "kind": kind,
        "object_id": obj,
        "sender": sender,
        "routing": routing.hex(),
        "plaintext": plaintext.hex(),
        "recipients": [{"device": r["device"], "box_sk": r["box_sk"].hex(), "box_pk": r["box_pk"].hex()}
                       for r in given],
        "content_key": ck.hex(),
        "eph_sk": esk.hex(),
        "nonce": nonce.hex(),
        "wrap_nonces": [n.hex() for n in wrap_nonces],
        "header": hdr.hex(),
        "signing_input_sha256": hashlib.sha256(si).hexdigest(),
        "envelope": json.dumps(env, sort_keys=True, separators=(",", ":")),
    }


def main():
    routing = (field(b"varsko-routing-v1") + u64(1) + field(b"inst-nordskovskolen") + field(b"6-13") + u64(0) +
               u64(0) + field(b"s-0001") + field(struct.pack(">q", 1795426800)))
    doc = json.dumps({"concern": "Fiktivt eksempel: Emma virker trist og træt.", "akut": False},
                     ensure_ascii=False, sort_keys=True).encode()
    vectors = [
        make("one-recipient", "underretning", "U-2026-000001", routing, doc, 1, [0]),
        make("three-recipients", "message", "t-7f3a/m-42", b"", b"Hej \xc3\xa6\xc3\xb8\xc3\xa5", 3, [2, 0, 1]),
        make("many-recipients", "event", "U-2026-000002", b"\x00\x01\x02", bytes(range(256)) * 3, 64,
             list(range(63, -1, -1))),
        make("user-key-recipient", "kvittering", "U-2026-000003", b"", "Kvittering: modtaget".encode(), 2, [1, 0],
             ids=["user:laerer-anna:2", "user:" + "u" * 64 + ":" + "9" * 26]),
    ]
    with open(OUT, "w") as f:
        json.dump({"description": "proto/PROTOCOL.md section 11 envelopes from fixed keys and fixed randomness; "
                   "generated by envelope-gen.py (PyNaCl, hashlib), independent of the C code",
                   "vectors": vectors}, f, indent=1, sort_keys=True)
        f.write("\n")


def corpus(vectors):
    import copy
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    d = os.path.join(root, "tests", "fuzz", "corpus", "envelope")
    os.makedirs(d, exist_ok=True)
    for v in vectors:
        with open(os.path.join(d, v["name"] + ".json"), "w") as f:
            f.write(v["envelope"])
    e = vectors[0]["envelope"]
    sig = json.loads(e)["sig"]
    broken = {
        "bad-version.json": e.replace('"version":1', '"version":2'),
        "unknown-field.json": '{"x":1,' + e[1:],
        "duplicate-key.json": '{"kind":"event",' + e[1:],
        "flipped-sig.json": e.replace(sig, ("B" if sig[0] == "A" else "A") + sig[1:]),
        "empty-wraps.json": e[:e.index('"wraps":[')] + '"wraps":[]}',
        "truncated.json": e[:len(e) // 2],
        "empty.json": "",
        "array.json": "[]",
    }
    for name, text in broken.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    d = os.path.join(root, "tests", "fuzz", "corpus", "underretning")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(root, "deploy", "demo", "underretning-example.json")) as f:
        ex = f.read()
    o = json.loads(ex)

    def w(name, obj):
        with open(os.path.join(d, name), "w") as f:
            f.write(json.dumps(obj, ensure_ascii=False))

    with open(os.path.join(d, "example.json"), "w") as f:
        f.write(ex)
    x = copy.deepcopy(o); del x["child"]["birth_date"]; x["child"]["cpr"] = "140317-4012"; w("cpr.json", x)
    x = copy.deepcopy(o); del x["child"]["birth_date"]; x["child"]["cpr"] = "310217-4012"; w("cpr-31feb.json", x)
    x = copy.deepcopy(o); x["child"]["birth_date"] = "2003-11-23"; w("age-23.json", x)
    x = copy.deepcopy(o); x["child"]["birth_date"] = "2012-11-23"; x["akut"] = True; x["handicap"] = True
    w("age-14-flags.json", x)
    x = copy.deepcopy(o); x["interpreter"] = {"needed": True, "language": "arabisk"}
    x["parents_contacted"] = {"contacted": False, "reason": "Mistanke om vold."}; w("interpreter-reason.json", x)
    x = copy.deepcopy(o); x["extra"] = 1; w("unknown.json", x)
    x = copy.deepcopy(o); del x["concern"]; w("missing.json", x)
    x = copy.deepcopy(o); x["parents"] = []; del x["attachments"]; w("minimal.json", x)
    with open(os.path.join(d, "dup.json"), "w") as f:
        f.write('{"akut":true,' + ex.strip()[1:])
    with open(os.path.join(d, "cpr-only.txt"), "w") as f:
        f.write("0101364000")
    h = (field(b"varsko-routing-v1") + u64(1) + field(b"inst-halsskov-strandskole") + field(b"14-17") + u64(1) +
         u64(0) + field(b"sub-42") + field(struct.pack(">q", 1795467600)))
    with open(os.path.join(d, "routing-header.bin"), "wb") as f:
        f.write(h)
    # Found by the fuzzer: a NUL inside the institution field must not decode.
    with open(os.path.join(d, "header-embedded-nul.bin"), "wb") as f:
        f.write(h[:40] + b"\0\0\0\0" + h[44:58] + b"\x0b\0" + h[60:])


if __name__ == "__main__":
    main()
    if "--corpus" in sys.argv[1:]:
        with open(OUT) as f:
            corpus(json.load(f)["vectors"])
