#!/usr/bin/python3
"""Generate proto/vectors/keybox.json: test vectors for the key material of
the key model (PROTOCOL.md section 14; proto/keybox.h).

A second, independent implementation written against the spec with PyNaCl
(nacl.bindings, nacl.hash.blake2b, nacl.pwhash.argon2id) and hashlib; it does
not call the C code. crypto_kdf_derive_from_key is done by hand as BLAKE2b
(key = the seed, salt = subkey id as 8 bytes little-endian + 8 zero bytes,
person = the 8-byte context + 8 zero bytes, digest size 32), as libsodium
defines it. From fixed seeds it writes:

- the keys derived from user-key and team-key seeds;
- key box sets (team generations 1 and 2, user generations 1 and 2) as
  canonical JSON with signing input and signature; each recipient's secret
  key and the X25519 ephemeral key its box was sealed with (the seal is
  crypto_box_seal built by hand: epk || crypto_box(seed, nonce =
  BLAKE2b-192(epk || pk))), so the C maker reproduces every byte;
- a recovery box at the minimum Argon2id limits with fixed code, salt and
  nonce; recovery codes (bytes <-> text, and typed forms good and bad);
- approval codes;
- invalid objects with the error each must give;

and the fuzz seed corpus tests/fuzz/corpus/keybox/ from all of these.

Run with Debian's python3 (it has PyNaCl):

    /usr/bin/python3 proto/vectors/keybox-gen.py
"""

import base64
import hashlib
import json
import os
import struct

import nacl.encoding
import nacl.hash
import nacl.pwhash
from nacl import bindings as nb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "keybox.json")
CORPUS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "fuzz", "corpus", "keybox")

TAG_SET = b"varsko-keybox-v1"
TAG_PREV = b"varsko-prevbox-v1"
TAG_RECOVERY = b"varsko-recovery-v1"
TAG_APPROVE = b"varsko-approve-v1"
TAG_DEVICE_ID = b"varsko-device-id-v1"
CTX = {"user": b"vskuser1", "team": b"vskteam1"}

OPSLIMIT_MIN = 1
MEMLIMIT_MIN = 8192
OPSLIMIT_MODERATE = 3
MEMLIMIT_MODERATE = 268435456

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


# ---- canonical field encoding (PROTOCOL.md 7) ----

def field(b):
    return struct.pack(">I", len(b)) + b


def s(x):
    return field(x.encode())


def u64(v):
    return field(struct.pack(">Q", v))


def b64(b):
    return base64.b64encode(b).decode()


def compact(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seed(label):
    return hashlib.sha256(b"varsko-keybox-vector:" + label.encode()).digest()


def device_id(sign_pk):
    h = hashlib.blake2b(field(TAG_DEVICE_ID) + field(sign_pk), digest_size=32).digest()
    return "d-" + h[:8].hex()


# ---- derivation (14.1) ----

def kdf(master, subkey_id, ctx):
    return nacl.hash.blake2b(b"", digest_size=32, key=master, salt=struct.pack("<Q", subkey_id) + bytes(8),
                             person=ctx + bytes(8), encoder=nacl.encoding.RawEncoder)


def box_seed_keypair(box_seed):
    # crypto_box_seed_keypair: sk = first 32 bytes of SHA-512(seed), pk = X25519(sk, base point)
    sk = hashlib.sha512(box_seed).digest()[:32]
    pk = nb.crypto_scalarmult_base(sk)
    assert (pk, sk) == nb.crypto_box_seed_keypair(box_seed)
    return pk, sk


class Gen:
    def __init__(self, kind, generation, sd):
        self.kind, self.generation, self.seed = kind, generation, sd
        ctx = CTX[kind]
        self.sign_seed = kdf(sd, 1, ctx) if kind == "user" else None
        if self.sign_seed is not None:
            self.sign_pk, self.sign_sk = nb.crypto_sign_seed_keypair(self.sign_seed)
        self.box_seed = kdf(sd, 2, ctx)
        self.box_pk, self.box_sk = box_seed_keypair(self.box_seed)
        self.prev_key = kdf(sd, 3, ctx)


def derive_vector(g):
    v = {"kind": g.kind, "generation": g.generation, "seed": g.seed.hex(), "box_seed": g.box_seed.hex(),
         "box_pk": g.box_pk.hex(), "box_sk": g.box_sk.hex(), "prev_key": g.prev_key.hex()}
    if g.kind == "user":
        v["sign_seed"] = g.sign_seed.hex()
        v["sign_pk"] = g.sign_pk.hex()
    return v


# ---- key box sets (14.2, 14.3) ----

def prev_nonce(owner, generation):
    return hashlib.sha256(field(TAG_PREV) + s(owner) + u64(generation)).digest()[:24]


def seal(m, pk, esk):
    epk = nb.crypto_scalarmult_base(esk)
    nonce = hashlib.blake2b(epk + pk, digest_size=24).digest()
    sealed = epk + nb.crypto_box(m, nonce, pk, esk)
    return sealed


def set_signing_input(owner, generation, pub, prev_box, boxes):
    si = field(TAG_SET) + s(owner) + u64(generation) + field(pub) + field(prev_box) + u64(len(boxes))
    for rid, sealed in boxes:
        si += s(rid) + field(sealed)
    return si


def keybox_set(name, owner, g, prev, recipients, signer_sk):
    """recipients: list of (key id, box_pk, box_sk); sealed with fixed ephemeral keys."""
    recipients = sorted(recipients, key=lambda r: r[0].encode())
    prev_box = b""
    if prev is not None:
        prev_box = nb.crypto_secretbox(prev.seed, prev_nonce(owner, g.generation), g.prev_key)
        assert len(prev_box) == 48
    boxes, rv = [], []
    for rid, pk, sk in recipients:
        esk = seed("eph:" + name + ":" + rid)
        sealed = seal(g.seed, pk, esk)
        assert len(sealed) == 80 and nb.crypto_box_seal_open(sealed, pk, sk) == g.seed
        boxes.append((rid, sealed))
        rv.append({"id": rid, "box_pk": pk.hex(), "box_sk": sk.hex(), "eph_sk": esk.hex()})
    si = set_signing_input(owner, g.generation, g.box_pk, prev_box, boxes)
    sig = nb.crypto_sign(si, signer_sk)[:64]
    signer_pk = signer_sk[32:]
    obj = {"boxes": [{"recipient": rid, "sealed": b64(sealed)} for rid, sealed in boxes],
           "generation": g.generation, "owner": owner, "pub": b64(g.box_pk), "sig": b64(sig),
           "signer": b64(signer_pk)}
    if prev_box:
        obj["prev_box"] = b64(prev_box)
    v = {"name": name, "owner": owner, "kind": g.kind, "generation": g.generation, "seed": g.seed.hex(),
         "prev_seed": prev.seed.hex() if prev is not None else "",
         "prev_nonce": prev_nonce(owner, g.generation).hex() if prev is not None else "",
         "signer_seed": signer_sk[:32].hex(), "signer_pk": signer_pk.hex(), "recipients": rv,
         "json": compact(obj), "signing_input": si.hex(), "sig": sig.hex()}
    return v, obj


def resign(obj, signer_sk):
    """obj with its signature made again over its (changed) fields."""
    o = dict(obj)
    prev_box = base64.b64decode(o["prev_box"]) if "prev_box" in o else b""
    boxes = [(b["recipient"], base64.b64decode(b["sealed"])) for b in o["boxes"]]
    si = set_signing_input(o["owner"], o["generation"], base64.b64decode(o["pub"]), prev_box, boxes)
    o["sig"] = b64(nb.crypto_sign(si, signer_sk)[:64])
    return o


def noncanonical(text):
    """text (ending in "==") with a non-zero unused bit: the same bytes, a second spelling."""
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert text.endswith("==")
    return text[:-3] + alpha[alpha.index(text[-3]) ^ 1] + "=="


def flip_b64(text, i):
    b = bytearray(base64.b64decode(text))
    b[i] ^= 0x01
    return b64(bytes(b))


# ---- recovery code and box (14.4) ----

def code_format(code):
    t = base64.b32encode(code).decode().rstrip("=")
    assert len(t) == 26 and all(c in B32 for c in t)
    return "-".join(t[i:i + 5] for i in range(0, 26, 5))


def recovery(user, code, gens, salt, nonce, opslimit, memlimit):
    pt = field(TAG_RECOVERY) + s(user) + u64(len(gens)) + b"".join(field(g.seed) for g in gens)
    key = nacl.pwhash.argon2id.kdf(32, code, salt, opslimit=opslimit, memlimit=memlimit)
    box = nb.crypto_secretbox(pt, nonce, key)
    obj = {"box": b64(box), "memlimit": memlimit, "nonce": b64(nonce), "opslimit": opslimit, "salt": b64(salt),
           "user": user}
    return obj, pt, key


# ---- approval code (14.5) ----

def approval(nonce, old_sign_pk, new_sign_pk, new_box_pk):
    inp = field(TAG_APPROVE) + field(nonce) + field(old_sign_pk) + field(new_sign_pk) + field(new_box_pk)
    h = hashlib.sha256(inp).digest()
    v = int.from_bytes(h[:3], "big") >> 4
    return inp, h, v, "%06d" % (v % 1000000)


def main():
    # Keys of the people and devices of the vectors.
    anna = [Gen("user", 1, seed("user:anna:1")), Gen("user", 2, seed("user:anna:2"))]
    bo = Gen("user", 1, seed("user:bo:1"))
    carl = Gen("user", 1, seed("user:carl:1"))
    team = [Gen("team", 1, seed("team:team-oest:1")), Gen("team", 2, seed("team:team-oest:2"))]
    devices = {}
    for label in ("anna-laptop", "anna-phone"):
        spk, ssk = nb.crypto_sign_seed_keypair(seed("device:" + label + "/sign"))
        bsk = seed("device:" + label + "/box")
        devices[label] = {"sign_pk": spk, "sign_sk": ssk, "box_sk": bsk, "box_pk": nb.crypto_scalarmult_base(bsk),
                          "id": "device:" + device_id(spk)}

    derive = [derive_vector(g) for g in (anna[0], anna[1], team[0], team[1])]
    fixed = Gen("user", 1, bytes(range(32)))
    derive.append(derive_vector(fixed))
    derive.append(derive_vector(Gen("team", 1, bytes(range(32)))))

    def uk(g, who):
        return ("user:%s:%d" % (who, g.generation), g.box_pk, g.box_sk)

    def dev(label):
        d = devices[label]
        return (d["id"], d["box_pk"], d["box_sk"])

    sets, objs = [], {}
    for name, owner, g, prev, rcpts, signer in [
        ("team-1", "team:team-oest", team[0], None, [uk(anna[0], "anna"), uk(bo, "bo"), uk(carl, "carl")],
         anna[0].sign_sk),
        ("team-2", "team:team-oest", team[1], team[0], [uk(anna[1], "anna"), uk(bo, "bo")], anna[1].sign_sk),
        ("user-1", "user:anna", anna[0], None, [dev("anna-laptop")], devices["anna-laptop"]["sign_sk"]),
        ("user-2", "user:anna", anna[1], anna[0], [dev("anna-laptop"), dev("anna-phone")],
         devices["anna-phone"]["sign_sk"]),
    ]:
        v, o = keybox_set(name, owner, g, prev, rcpts, signer)
        sets.append(v)
        objs[name] = o

    # Recovery.
    code = seed("recovery-code")[:16]
    salt = seed("recovery-salt")[:16]
    rnonce = seed("recovery-nonce")[:24]
    robj, rpt, rkey = recovery("anna", code, anna, salt, rnonce, OPSLIMIT_MIN, MEMLIMIT_MIN)
    rec = {"user": "anna", "code": code.hex(), "code_text": code_format(code), "salt": salt.hex(),
           "nonce": rnonce.hex(), "opslimit": OPSLIMIT_MIN, "memlimit": MEMLIMIT_MIN,
           "seeds": [g.seed.hex() for g in anna], "plaintext": rpt.hex(), "key": rkey.hex(),
           "json": compact(robj)}

    codes = []
    for b in (bytes(16), b"\xff" * 16, bytes(range(16)), code, seed("another code")[:16]):
        codes.append({"bytes": b.hex(), "text": code_format(b)})
    t = code_format(code)
    plain = t.replace("-", "")
    parse = [
        {"input": t, "bytes": code.hex()},
        {"input": plain, "bytes": code.hex()},
        {"input": t.lower(), "bytes": code.hex()},
        {"input": " " + " ".join(plain[i:i + 4] for i in range(0, 26, 4)) + " ", "bytes": code.hex()},
        {"input": "--" + plain[:13].lower() + "- -" + plain[13:] + "-", "bytes": code.hex()},
        {"input": plain[:25], "error": "bad_input"},
        {"input": plain + "A", "error": "bad_input"},
        {"input": plain[:25] + B32[B32.index(plain[25]) | 1], "error": "bad_input"},  # a trailing bit set
        {"input": plain[:10] + "1" + plain[11:], "error": "bad_input"},
        {"input": plain[:10] + "0" + plain[11:], "error": "bad_input"},
        {"input": plain[:10] + "8" + plain[11:], "error": "bad_input"},
        {"input": plain + "=", "error": "bad_input"},
        {"input": plain[:10] + "_" + plain[10:], "error": "bad_input"},
        {"input": plain[:10] + "\t" + plain[10:], "error": "bad_input"},
        {"input": plain[:10] + "\u00c6" + plain[11:], "error": "bad_input"},
        {"input": "", "error": "bad_input"},
    ]

    # Approval codes; the third nonce is chosen so that the 20 bits exceed 999999 (the mod case).
    appr = []
    old = devices["anna-laptop"]
    new = devices["anna-phone"]
    labels = ["approve-1", "approve-2"]
    i = 0
    while True:
        n = seed("approve-big-%d" % i)
        if approval(n, old["sign_pk"], new["sign_pk"], new["box_pk"])[2] >= 1000000:
            labels.append("approve-big-%d" % i)
            break
        i += 1
    for label in labels:
        n = seed(label)
        inp, h, v, c = approval(n, old["sign_pk"], new["sign_pk"], new["box_pk"])
        appr.append({"nonce": n.hex(), "old_sign_pk": old["sign_pk"].hex(), "new_sign_pk": new["sign_pk"].hex(),
                     "new_box_pk": new["box_pk"].hex(), "input": inp.hex(), "sha256": h.hex(), "bits20": v,
                     "code": c})

    # The exchange that carries the code (PROTOCOL.md 15.7): the commitment and the code's nonce.
    exch = []
    for label in ("exchange-1", "exchange-2"):
        n_old, n_new = seed(label + ":old"), seed(label + ":new")
        commit = hashlib.sha256(field(b"varsko-approve-commit-v1") + field(n_new) + field(new["sign_pk"]) +
                                field(new["box_pk"])).digest()
        nonce = hashlib.sha256(field(b"varsko-approve-nonce-v1") + field(n_old) + field(n_new)).digest()
        ecode = approval(nonce, old["sign_pk"], new["sign_pk"], new["box_pk"])[3]
        exch.append({"n_old": n_old.hex(), "n_new": n_new.hex(), "old_sign_pk": old["sign_pk"].hex(),
                     "new_sign_pk": new["sign_pk"].hex(), "new_box_pk": new["box_pk"].hex(), "commit": commit.hex(),
                     "nonce": nonce.hex(), "code": ecode})

    # Invalid objects and the error each gives.
    t1, t2 = objs["team-1"], objs["team-2"]
    bo_r = {"recipient": "user:bo:1", "box_pk": bo.box_pk.hex(), "box_sk": bo.box_sk.hex()}
    invalid = []

    def bad_set(name, op, error, obj=None, text=None, **extra):
        e = {"name": name, "object": "keybox", "op": op, "error": error,
             "json": text if text is not None else compact(obj)}
        e.update(extra)
        invalid.append(e)

    bad_set("signature flipped", "verify", "bad_signature", dict(t2, sig=flip_b64(t2["sig"], 5)))
    bad_set("generation changed, old signature", "verify", "bad_signature", dict(t2, generation=3,
                                                                                  prev_box=t2["prev_box"]))
    bad_set("another signer named", "verify", "bad_signature", dict(t2, signer=b64(bo.sign_pk)))
    tampered = dict(t2, boxes=[dict(b) for b in t2["boxes"]])
    for b in tampered["boxes"]:
        if b["recipient"] == "user:bo:1":
            b["sealed"] = flip_b64(b["sealed"], 60)
    bad_set("sealed box tampered", "open", "crypto", tampered, **bo_r)
    bad_set("pub of another key, re-signed", "open", "crypto", resign(dict(t2, pub=b64(team[0].box_pk)),
                                                                      anna[1].sign_sk), **bo_r)
    bad_set("no box for the recipient", "open", "not_found", t1,
            recipient="user:bo:2", box_pk=bo.box_pk.hex(), box_sk=bo.box_sk.hex())
    bad_set("wrong recipient key", "open", "crypto", t2,
            recipient="user:bo:1", box_pk=carl.box_pk.hex(), box_sk=carl.box_sk.hex())
    bad_set("prev_box tampered, re-signed", "walk_back", "crypto",
            resign(dict(t2, prev_box=flip_b64(t2["prev_box"], 40)), anna[1].sign_sk),
            sets=[compact(t1)], top_seed=team[1].seed.hex(), kind="team")
    bad_set("prev_box of another generation", "walk_back", "crypto",
            resign(dict(t2, prev_box=b64(nb.crypto_secretbox(bo.seed, prev_nonce("team:team-oest", 2),
                                                              team[1].prev_key))), anna[1].sign_sk),
            sets=[compact(t1)], top_seed=team[1].seed.hex(), kind="team")
    text = compact(t2)
    bad_set("truncated", "parse", "bad_json", text=text[:-1])
    bad_set("trailing garbage", "parse", "bad_json", text=text + "x")
    bad_set("array", "parse", "bad_json", text="[" + text + "]")
    bad_set("duplicate key", "parse", "duplicate_key", text=text[:-1] + ',"owner":"team:team-oest"}')
    bad_set("duplicate key in a box", "parse", "duplicate_key",
            text=text.replace('{"recipient":', '{"recipient":"user:x:1","recipient":', 1))
    bad_set("unknown key", "parse", "bad_frame", dict(t2, extra=1))
    bad_set("unknown key in a box", "parse", "bad_frame",
            dict(t2, boxes=[dict(t2["boxes"][0], x="y")] + t2["boxes"][1:]))
    bad_set("missing sig", "parse", "bad_frame", {k: v for k, v in t2.items() if k != "sig"})
    bad_set("missing boxes", "parse", "bad_frame", {k: v for k, v in t2.items() if k != "boxes"})
    bad_set("prev_box missing for generation 2", "parse", "bad_frame",
            {k: v for k, v in t2.items() if k != "prev_box"})
    bad_set("prev_box present for generation 1", "parse", "bad_frame", dict(t1, prev_box=t2["prev_box"]))
    bad_set("prev_box empty", "parse", "bad_frame", dict(t2, prev_box=""))
    bad_set("generation 0", "parse", "bad_frame", dict(t1, generation=0))
    bad_set("generation a string", "parse", "bad_frame", dict(t1, generation="1"))
    bad_set("generation 1.0", "parse", "bad_frame", text=compact(t1).replace('"generation":1', '"generation":1.0'))
    bad_set("no boxes", "parse", "bad_frame", dict(t1, boxes=[]))
    bad_set("boxes out of order", "parse", "bad_frame", dict(t1, boxes=list(reversed(t1["boxes"]))))
    bad_set("a recipient twice", "parse", "bad_frame", dict(t1, boxes=[t1["boxes"][0], t1["boxes"][0]]))
    bad_set("recipient not a key id", "parse", "bad_frame",
            dict(t1, boxes=[dict(t1["boxes"][0], recipient="group:x:1")]))
    bad_set("recipient with generation 0", "parse", "bad_frame",
            dict(t1, boxes=[dict(t1["boxes"][0], recipient="user:anna:0")]))
    bad_set("recipient with a leading zero", "parse", "bad_frame",
            dict(t1, boxes=[dict(t1["boxes"][0], recipient="user:anna:01")]))
    bad_set("owner not team: or user:", "parse", "bad_frame", dict(t1, owner="org:x"))
    bad_set("owner with a space", "parse", "bad_frame", dict(t1, owner="team:a b"))
    bad_set("sealed 79 bytes", "parse", "bad_frame",
            dict(t1, boxes=[dict(t1["boxes"][0], sealed=b64(base64.b64decode(t1["boxes"][0]["sealed"])[:79]))]))
    bad_set("pub 31 bytes", "parse", "bad_frame", dict(t1, pub=b64(team[0].box_pk[:31])))
    bad_set("sig not canonical base64", "parse", "bad_frame", dict(t1, sig=noncanonical(t1["sig"])))
    bad_set("null", "parse", "bad_frame", dict(t1, signer=None))
    bad_set("string with NUL", "parse", "bad_frame", dict(t1, owner="team:a\u0000"))

    def bad_rec(name, op, error, obj=None, text=None, code_hex=None):
        invalid.append({"name": name, "object": "recovery", "op": op, "error": error,
                        "json": text if text is not None else compact(obj),
                        "code": code_hex if code_hex is not None else code.hex()})

    bad_rec("wrong code", "open", "crypto", robj, code_hex=seed("wrong code")[:16].hex())
    bad_rec("code one bit off", "open", "crypto", robj, code_hex=(bytes([code[0] ^ 1]) + code[1:]).hex())
    bad_rec("box tampered", "open", "crypto", dict(robj, box=flip_b64(robj["box"], 30)))
    bad_rec("salt changed", "open", "crypto", dict(robj, salt=flip_b64(robj["salt"], 0)))
    bad_rec("nonce changed", "open", "crypto", dict(robj, nonce=flip_b64(robj["nonce"], 0)))
    bad_rec("another user's name", "open", "crypto", dict(robj, user="bo"))
    bad_rec("opslimit above moderate", "open", "bad_input", dict(robj, opslimit=OPSLIMIT_MODERATE + 1))
    bad_rec("memlimit above moderate", "open", "bad_input", dict(robj, memlimit=MEMLIMIT_MODERATE + 1))
    bad_rec("memlimit below the minimum", "open", "bad_input", dict(robj, memlimit=MEMLIMIT_MIN - 1))
    bad_rec("opslimit huge", "open", "bad_input", dict(robj, opslimit=2 ** 63 - 1))
    bad_rec("opslimit 0", "parse", "bad_frame", dict(robj, opslimit=0))
    bad_rec("memlimit negative", "parse", "bad_frame", dict(robj, memlimit=-1))
    bad_rec("salt 15 bytes", "parse", "bad_frame", dict(robj, salt=b64(salt[:15])))
    bad_rec("box of 16 bytes", "parse", "bad_frame", dict(robj, box=b64(bytes(16))))
    bad_rec("unknown key", "parse", "bad_frame", dict(robj, generation=2))
    bad_rec("missing box", "parse", "bad_frame", {k: v for k, v in robj.items() if k != "box"})
    bad_rec("duplicate key", "parse", "duplicate_key", text=compact(robj)[:-1] + ',"user":"anna"}')
    bad_rec("not JSON", "parse", "bad_json", text="recovery")

    # Well-formed boxes whose plaintext is not the layout (made with the right code): refused as crypto.
    for name, pt in [("plaintext with no seed", field(TAG_RECOVERY) + s("anna") + u64(0)),
                     ("plaintext with a wrong tag", field(b"varsko-recovery-v2") + s("anna") + u64(1) +
                      field(anna[0].seed)),
                     ("plaintext count too high", field(TAG_RECOVERY) + s("anna") + u64(2) + field(anna[0].seed)),
                     ("plaintext with a short seed", field(TAG_RECOVERY) + s("anna") + u64(1) +
                      field(anna[0].seed[:31]) + b"\x00"),
                     ("plaintext with trailing bytes", rpt + b"\x00")]:
        box = nb.crypto_secretbox(pt, rnonce, rkey)
        bad_rec(name, "open", "crypto", dict(robj, box=b64(box)))

    out = {
        "comment": "Written by keybox-gen.py (PyNaCl); checked by tests/unit/test-keybox.c. PROTOCOL.md 14.",
        "derive": derive,
        "sets": sets,
        "recovery": rec,
        "recovery_codes": codes,
        "recovery_code_parse": parse,
        "approval": appr,
        "approval_exchange": exch,
        "invalid": invalid,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    write_corpus(out)


def slug(name):
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def write_corpus(v):
    """The fuzz seed corpus tests/fuzz/corpus/keybox/: every object and code of the vectors, valid and not."""
    files = {}
    for st in v["sets"]:
        files["set-" + st["name"] + ".json"] = st["json"].encode()
    files["recovery.json"] = v["recovery"]["json"].encode()
    for i, c in enumerate(v["recovery_code_parse"]):
        files["code-%02d.txt" % i] = c["input"].encode()
    a = v["approval"][0]
    files["approval.bin"] = b"".join(bytes.fromhex(a[k]) for k in ("nonce", "old_sign_pk", "new_sign_pk",
                                                                     "new_box_pk"))
    for i, e in enumerate(v["invalid"]):
        files["invalid-%02d-%s.json" % (i, slug(e["name"]))] = e["json"].encode()
    os.makedirs(CORPUS, exist_ok=True)
    for name in os.listdir(CORPUS):
        if name not in files:
            os.remove(os.path.join(CORPUS, name))
    for name, data in sorted(files.items()):
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
