#!/usr/bin/python3
"""Generate the Varsko protocol test vectors (proto/vectors/*.json).

This is a second, independent implementation of the canonical encodings,
device ids, fingerprints and certificate rules of proto/PROTOCOL.md, written
only against the spec with PyNaCl and hashlib. tests/unit/test-vectors.c
checks the C library byte for byte against what this script writes, so a
mistake in either implementation shows up as a mismatch.

Everything is deterministic: keys come from fixed seeds, Ed25519 signatures
are deterministic, and the JSON is written with sorted keys. Run it with
Debian's /usr/bin/python3 from the repository root or anywhere:

    /usr/bin/python3 proto/vectors/gen.py
"""

import base64
import calendar
import hashlib
import json
import os
import struct
import sys

import nacl.public
import nacl.signing

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

TAG_CERT = b"varsko-cert-v1"
TAG_LOGIN = b"varsko-login-v1"
TAG_ENROLL = b"varsko-enroll-v1"
TAG_CONFIRM = b"varsko-confirm-v1"
TAG_FPR = b"varsko-fingerprint-v1"
TAG_DEVICE_ID = b"varsko-device-id-v1"


# ---- canonical encoding ------------------------------------------------------

def field(b):
    """One field: 4-byte big-endian length, then the bytes."""
    assert isinstance(b, bytes)
    return struct.pack(">I", len(b)) + b


def f_str(s):
    return field(s.encode("utf-8"))


def f_u64(v):
    return field(struct.pack(">Q", v))


def f_i64(v):
    return field(struct.pack(">q", v))


def login_input(nonce, origin, device, t):
    return field(TAG_LOGIN) + field(nonce) + f_str(origin) + f_str(device) + f_i64(t)


def enroll_input(nonce, origin, code, sign_pk, box_pk, label):
    return (field(TAG_ENROLL) + field(nonce) + f_str(origin) + f_str(code) + field(sign_pk) +
            field(box_pk) + f_str(label))


def confirm_input(nonce, origin, device):
    return field(TAG_CONFIRM) + field(nonce) + f_str(origin) + f_str(device)


def cert_input(c):
    """c is the JSON object form of a certificate (sig ignored)."""
    out = field(TAG_CERT) + f_u64(c["version"]) + f_u64(c["serial"])
    for k in ("user", "name", "role", "team"):
        out += f_str(c[k])
    out += f_u64(len(c["institutions"]))
    for i in c["institutions"]:
        out += f_str(i)
    out += f_str(c["device"])
    out += field(b64d(c["sign_pk"])) + field(b64d(c["box_pk"]))
    out += f_i64(parse_time(c["not_before"])) + f_i64(parse_time(c["not_after"]))
    return out


def tagged_hash(tag, pk):
    return hashlib.blake2b(field(tag) + field(pk), digest_size=32).digest()


def device_id(sign_pk):
    return "d-" + tagged_hash(TAG_DEVICE_ID, sign_pk)[:8].hex()


def fingerprint(pk):
    h = tagged_hash(TAG_FPR, pk)[:16].hex()
    return "-".join(h[i:i + 4] for i in range(0, 32, 4))


# ---- helpers -----------------------------------------------------------------

def b64(b):
    return base64.b64encode(b).decode("ascii")


def b64d(s):
    return base64.b64decode(s, validate=True)


def parse_time(s):
    assert len(s) == 20 and s.endswith("Z")
    return calendar.timegm((int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]),
                            int(s[17:19]), 0, 0, 0))


def seed(name):
    return hashlib.blake2b(b"varsko-vector-seed:" + name.encode(), digest_size=32).digest()


def signing_key(name):
    return nacl.signing.SigningKey(seed(name))


def box_pk(name):
    return bytes(nacl.public.PrivateKey(seed(name)).public_key)


def canonical(obj):
    """Compact JSON, keys sorted, UTF-8 kept: the encoding the C encoder must produce."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(sk, msg):
    return sk.sign(msg).signature


def make_cert(org_sk, dev_name, **kw):
    sk = signing_key(dev_name)
    spk = bytes(sk.verify_key)
    c = {
        "version": 1,
        "serial": kw.get("serial", 1),
        "user": kw.get("user", "u-1001"),
        "name": kw.get("name", "Bjørk Åkesen"),
        "role": kw.get("role", "fagperson"),
        "team": kw.get("team", ""),
        "institutions": kw.get("institutions", ["inst-hashoej"]),
        "device": device_id(spk),
        "sign_pk": b64(spk),
        "box_pk": b64(box_pk(dev_name + "-box")),
        "not_before": kw.get("not_before", "2026-01-01T00:00:00Z"),
        "not_after": kw.get("not_after", "2027-01-01T00:00:00Z"),
    }
    c.update(kw.get("override", {}))
    c["sig"] = b64(sign(org_sk, cert_input(c)))
    return c


# ---- the vector sets -----------------------------------------------------------

def encoding_vectors(org_sk):
    nonce = bytes(range(32))
    dev = signing_key("device-1")
    spk = bytes(dev.verify_key)
    bpk = box_pk("device-1-box")
    login = []
    for origin, t in (("wss://localhost:8443", "2026-11-23T09:30:00Z"),
                      ("wss://varsko.slagelse.dk:443", "1970-01-01T00:00:00Z"),
                      ("wss://[::1]:8443", "9999-12-31T23:59:59Z")):
        d = device_id(spk)
        login.append({"nonce": nonce.hex(), "origin": origin, "device": d, "time": t,
                      "input": login_input(nonce, origin, d, parse_time(t)).hex()})
    enroll = []
    for code, label in (("K7QF-M2XD-9P4T", "laptop"), ("abc", ""), ("Kode æøå", "Bjørks telefon")):
        enroll.append({"nonce": nonce[::-1].hex(), "origin": "wss://localhost:8443", "code": code,
                       "sign_pk": b64(spk), "box_pk": b64(bpk), "label": label,
                       "input": enroll_input(nonce[::-1], "wss://localhost:8443", code, spk, bpk, label).hex()})
    confirm = []
    for origin in ("wss://localhost:8443", "wss://[::1]:8443"):
        d = device_id(spk)
        confirm.append({"nonce": nonce.hex(), "origin": origin, "device": d,
                        "input": confirm_input(nonce, origin, d).hex()})
    certs = []
    for c in (make_cert(org_sk, "device-1"),
              make_cert(org_sk, "device-2", role="myndighed", team="team-ung", institutions=[], serial=2**40),
              make_cert(org_sk, "device-3", institutions=["inst-%02d" % i for i in range(16)], serial=7)):
        certs.append({"cert": c, "input": cert_input(c).hex()})
    keys = []
    for name in ("org", "device-1", "device-2", "zero"):
        pk = bytes(32) if name == "zero" else bytes(signing_key(name).verify_key)
        keys.append({"pk": b64(pk), "device": device_id(pk), "fingerprint": fingerprint(pk)})
    return {"login": login, "enroll": enroll, "confirm": confirm, "cert": certs, "keys": keys}


def signature_vectors():
    out = []
    for name, msg in (("sig-1", b""), ("sig-2", b"varsko"),
                      ("sig-3", login_input(bytes(32), "wss://localhost:8443", "d-0011223344556677", 1795000000))):
        sk = signing_key(name)
        out.append({"seed": seed(name).hex(), "pk": bytes(sk.verify_key).hex(), "input": msg.hex(),
                    "sig": sign(sk, msg).hex()})
    return out


def certificate_vectors(org_sk):
    org_pk = bytes(org_sk.verify_key)
    now = "2026-11-23T09:00:00Z"
    good = make_cert(org_sk, "device-1")
    gw = make_cert(org_sk, "gateway", user="gateway", name="varskod", role="gateway", institutions=[], serial=3)
    valid = []
    for c in (good, gw):
        spk = b64d(c["sign_pk"])
        valid.append({"json": canonical(c), "device": device_id(spk), "fingerprint": fingerprint(spk),
                      "input": cert_input(c).hex()})

    def tamper(desc, err, c=None, text=None, at=now):
        if text is None:
            text = canonical(c)
        return {"desc": desc, "json": text, "now": at, "error": err}

    def edit(**kv):
        c = dict(good)
        c.update(kv)
        return c

    def resign(c, key=org_sk):
        c = dict(c)
        c["sig"] = b64(sign(key, cert_input(c)))
        return c

    sig = bytearray(b64d(good["sig"]))
    sig[0] ^= 1
    other_org = signing_key("other-org")
    bad = [
        tamper("signature bit flipped", "bad_cert", edit(sig=b64(bytes(sig)))),
        tamper("name changed", "bad_cert", edit(name="Bjørk Åkesen ")),
        tamper("role raised", "bad_cert", edit(role="admin")),
        tamper("institution added", "bad_cert", edit(institutions=["inst-hashoej", "inst-other"])),
        tamper("serial changed", "bad_cert", edit(serial=2)),
        tamper("validity extended", "bad_cert", edit(not_after="2036-01-01T00:00:00Z")),
        tamper("box key swapped", "bad_cert", edit(box_pk=b64(box_pk("attacker")))),
        tamper("signed by another organisation", "bad_cert", resign(good, other_org)),
        tamper("device id does not match sign_pk", "bad_cert", resign(edit(device="d-0000000000000000"))),
        tamper("sign_pk swapped, device kept", "bad_cert",
               resign(edit(sign_pk=b64(bytes(signing_key("attacker").verify_key))))),
        tamper("version 2", "bad_cert", resign(edit(version=2))),
        tamper("expired", "device_expired", good, at="2027-01-01T00:00:01Z"),
        tamper("not yet valid", "device_expired", good, at="2025-12-31T23:59:59Z"),
        tamper("unknown key", "bad_frame", edit(extra="x")),
        tamper("missing sig", "bad_frame", {k: v for k, v in good.items() if k != "sig"}),
        tamper("serial 0", "bad_frame", edit(serial=0)),
        tamper("serial as string", "bad_frame", edit(serial="1")),
        tamper("short signature", "bad_frame", edit(sig=b64(bytes(63)))),
        tamper("time with offset", "bad_frame", edit(not_before="2026-01-01T00:00:00+00:00")),
        tamper("time with fraction", "bad_frame", edit(not_after="2027-01-01T00:00:00.0Z")),
        tamper("17 institutions", "bad_frame", edit(institutions=["i%d" % i for i in range(17)])),
        tamper("name with newline", "bad_frame", edit(name="a\nb")),
        tamper("empty name", "bad_frame", edit(name="")),
        tamper("user with space", "bad_frame", edit(user="u 1")),
        tamper("duplicate key", "duplicate_key", text=canonical(good)[:-1] + ',"serial":1}'),
        tamper("not an object", "bad_json", text="[" + canonical(good) + "]"),
        tamper("trailing garbage", "bad_json", text=canonical(good) + "x"),
    ]
    return {"org_seed": seed("org").hex(), "org_pk": b64(org_pk), "org_fingerprint": fingerprint(org_pk), "now": now,
            "valid": valid, "invalid": bad}


def frame_vectors(org_sk):
    org_pk = bytes(org_sk.verify_key)
    cert = make_cert(org_sk, "device-1")
    gw = make_cert(org_sk, "gateway", user="gateway", name="varskod", role="gateway", institutions=[], serial=3)
    spk = b64d(cert["sign_pk"])
    nonce = b64(bytes(range(32)))
    sig = b64(bytes(range(64)))

    valid_objs = [
        ("hello", {"type": "hello", "version": 1, "nonce": nonce, "time": "2026-11-23T09:30:00Z",
                   "org_pk": b64(org_pk)}),
        ("enroll", {"type": "enroll", "id": "r1", "code": "K7QF-M2XD-9P4T", "origin": "wss://localhost:8443",
                    "sign_pk": b64(spk), "box_pk": cert["box_pk"], "label": "Bjørks laptop", "sig": sig}),
        ("enroll without label", {"type": "enroll", "code": "x", "origin": "wss://a:1", "sign_pk": b64(spk),
                                  "box_pk": cert["box_pk"], "sig": sig}),
        ("enrolled", {"type": "enrolled", "id": "r1", "cert": cert, "org_pk": b64(org_pk), "gateway_cert": gw}),
        ("login", {"type": "login", "id": "r2", "device": cert["device"], "origin": "wss://localhost:8443",
                   "time": "2026-11-23T09:30:00Z", "sig": sig}),
        ("session", {"type": "session", "id": "r2", "cert": cert}),
        ("whoami", {"type": "whoami", "id": "~!#$%&'()*+,-./:;<=>?@[]^_`{|}" + "x" * 34}),
        ("ping", {"type": "ping"}),
        ("pong", {"type": "pong", "id": "p"}),
        ("error", {"type": "error", "id": "r2", "code": "bad_frame", "message": "a field is missing"}),
        ("error empty message", {"type": "error", "code": "internal", "message": ""}),
        ("error long utf-8 message", {"type": "error", "code": "x", "message": "æ" * 128}),
        ("enroll_confirm", {"type": "enroll_confirm", "id": "r3", "device": cert["device"],
                            "origin": "wss://localhost:8443", "sig": sig}),
        ("confirmed", {"type": "confirmed", "id": "r3", "cert": cert}),
        ("enroll code 32 bytes", {"type": "enroll", "code": "C" * 32, "origin": "wss://h:2", "sign_pk": b64(spk),
                                  "box_pk": cert["box_pk"], "sig": sig}),
    ]
    valid = []
    for desc, obj in valid_objs:
        # The input is deliberately not canonical: reversed key order, spaces.
        text = json.dumps(dict(reversed(list(obj.items()))), separators=(", ", " : "), ensure_ascii=True)
        valid.append({"desc": desc, "input": text, "canonical": canonical(obj)})
    valid.append({"desc": "escapes and whitespace", "input": ' {"type" :\t"p\\u0069ng",\n"id":"\\u0041\\/"} \n',
                  "canonical": '{"id":"A/","type":"ping"}'})

    login = dict(valid_objs[4][1])
    hello = dict(valid_objs[0][1])

    def inv(desc, err, obj=None, text=None, hexin=None):
        v = {"desc": desc, "error": err}
        if hexin is not None:
            v["input_hex"] = hexin
        else:
            v["input"] = text if text is not None else canonical(obj)
        return v

    def w(base, **kv):
        o = dict(base)
        for k, val in kv.items():
            if val is None:
                o.pop(k, None)
            else:
                o[k] = val
        return o

    invalid = [
        inv("empty input", "bad_json", text=""),
        inv("not JSON", "bad_json", text="hello"),
        inv("array", "bad_json", text='[{"type":"ping"}]'),
        inv("string", "bad_json", text='"ping"'),
        inv("trailing garbage", "bad_json", text='{"type":"ping"}x'),
        inv("two objects", "bad_json", text='{"type":"ping"}{"type":"ping"}'),
        inv("truncated", "bad_json", text='{"type":"pi'),
        inv("deep nesting", "bad_json", text='{"type":"ping","x":' + "[" * 5000 + "]" * 5000 + "}"),
        inv("huge integer", "bad_json", text=canonical(hello).replace('"version":1', '"version":99999999999999999999')),
        inv("bad UTF-8", "bad_json", hexin=b'{"type":"error","code":"x","message":"\xc3\x28"}'.hex()),
        inv("duplicate key", "duplicate_key", text='{"type":"ping","type":"ping"}'),
        inv("duplicate id", "duplicate_key", text='{"id":"a","type":"ping","id":"b"}'),
        inv("missing type", "bad_frame", {"id": "x"}),
        inv("type not a string", "bad_frame", {"type": 1}),
        inv("type null", "bad_frame", {"type": None}),
        inv("unknown type", "unknown_type", {"type": "submit"}),
        inv("type case", "unknown_type", {"type": "PING"}),
        inv("type with NUL", "bad_frame", text='{"type":"ping\\u0000"}'),
        inv("unknown field", "bad_frame", {"type": "ping", "extra": 1}),
        inv("id on hello", "bad_frame", w(hello, id="x")),
        inv("id empty", "bad_frame", {"type": "ping", "id": ""}),
        inv("id 65 bytes", "bad_frame", {"type": "ping", "id": "x" * 65}),
        inv("id with space", "bad_frame", {"type": "ping", "id": "a b"}),
        inv("id not ASCII", "bad_frame", {"type": "ping", "id": "æ"}),
        inv("id a number", "bad_frame", {"type": "ping", "id": 5}),
        inv("hello version 2", "bad_frame", w(hello, version=2)),
        inv("hello version 0", "bad_frame", w(hello, version=0)),
        inv("hello version -1", "bad_frame", w(hello, version=-1)),
        inv("hello version string", "bad_frame", w(hello, version="1")),
        inv("hello version real", "bad_frame", text=canonical(hello).replace('"version":1', '"version":1.0')),
        inv("hello missing nonce", "bad_frame", w(hello, nonce=None)),
        inv("nonce 31 bytes", "bad_frame", w(hello, nonce=b64(bytes(31)))),
        inv("nonce 33 bytes", "bad_frame", w(hello, nonce=b64(bytes(33)))),
        inv("nonce without padding", "bad_frame", w(hello, nonce=nonce.rstrip("="))),
        inv("nonce urlsafe alphabet", "bad_frame", w(hello, nonce="_" * 43 + "=")),
        inv("nonce with newline", "bad_frame", w(hello, nonce=nonce[:20] + "\n" + nonce[20:])),
        inv("nonce non-canonical tail bits", "bad_frame", w(hello, nonce=nonce[:-2] + "x=")),
        inv("time 29 Feb in a common year", "bad_frame", w(hello, time="2026-02-29T00:00:00Z")),
        inv("time hour 24", "bad_frame", w(hello, time="2026-11-23T24:00:00Z")),
        inv("time leap second", "bad_frame", w(hello, time="2026-12-31T23:59:60Z")),
        inv("time lowercase", "bad_frame", w(hello, time="2026-11-23t09:30:00z")),
        inv("time before 1970", "bad_frame", w(hello, time="1969-12-31T23:59:59Z")),
        inv("time as number", "bad_frame", w(hello, time=1795000000)),
        inv("login missing sig", "bad_frame", w(login, sig=None)),
        inv("login sig 63 bytes", "bad_frame", w(login, sig=b64(bytes(63)))),
        inv("login device empty", "bad_frame", w(login, device="")),
        inv("login origin with space", "bad_frame", w(login, origin="wss://a b:1")),
        inv("login origin 257 bytes", "bad_frame", w(login, origin="wss://" + "a" * 246 + ":8443")),
        inv("login time null", "bad_frame", w(login, time=None) | {"time": None}),
        inv("enroll label empty", "bad_frame", w(valid_objs[1][1], label="")),
        inv("enroll code 33 bytes", "bad_frame", w(valid_objs[1][1], code="C" * 33)),
        inv("enroll code with tab", "bad_frame", w(valid_objs[1][1], code="a\tb")),
        inv("enroll label with C1 control", "bad_frame", w(valid_objs[1][1], label="a\u0085b")),
        inv("string with NUL", "bad_frame", text='{"type":"error","code":"x","message":"a\\u0000b"}'),
        inv("error message 257 bytes", "bad_frame", {"type": "error", "code": "x", "message": "m" * 257}),
        inv("error code missing", "bad_frame", {"type": "error", "message": "m"}),
        inv("session cert not object", "bad_frame", {"type": "session", "cert": canonical(cert)}),
        inv("session cert unknown key", "bad_frame", {"type": "session", "cert": w(cert, x=1)}),
        inv("session cert duplicate key", "duplicate_key",
            text='{"type":"session","cert":' + canonical(cert)[:-1] + ',"team":""}}'),
        inv("enrolled missing gateway_cert", "bad_frame", {"type": "enrolled", "cert": cert, "org_pk": b64(org_pk)}),
        inv("hello missing org_pk", "bad_frame", w(hello, org_pk=None)),
        inv("hello org_pk 31 bytes", "bad_frame", w(hello, org_pk=b64(bytes(31)))),
        inv("enroll_confirm missing sig", "bad_frame",
            {"type": "enroll_confirm", "device": cert["device"], "origin": "wss://a:1"}),
        inv("enroll_confirm with time", "bad_frame",
            {"type": "enroll_confirm", "device": cert["device"], "origin": "wss://a:1", "sig": sig,
             "time": "2026-11-23T09:30:00Z"}),
        inv("confirmed missing cert", "bad_frame", {"type": "confirmed", "id": "r3"}),
        inv("ping with field", "bad_frame", {"type": "ping", "time": "2026-11-23T09:30:00Z"}),
        inv("key with NUL", "bad_json", text='{"type":"ping","id\\u0000":"x"}'),
    ]
    return {"valid": valid, "invalid": invalid}


def write(name, obj):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def main():
    if sys.version_info < (3, 9):
        sys.exit("gen.py: needs Python 3.9 or later")
    org_sk = signing_key("org")
    write("encoding.json", encoding_vectors(org_sk))
    write("signatures.json", signature_vectors())
    write("certificates.json", certificate_vectors(org_sk))
    write("frames.json", frame_vectors(org_sk))


if __name__ == "__main__":
    main()
