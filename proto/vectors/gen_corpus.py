#!/usr/bin/python3
"""Write the fuzz seed corpora tests/fuzz/corpus/{frame,cert}/ from the vectors.

Each valid and invalid frame of frames.json and each certificate of
certificates.json becomes one file, plus a few hand-made edge cases (deep
nesting, huge numbers, bad UTF-8, truncations). Deterministic; run after
gen.py with Debian's /usr/bin/python3.
"""

import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def write_all(sub, items):
    d = os.path.join(CORPUS, sub)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.startswith("seed-"):
            os.remove(os.path.join(d, old))
    seen = set()
    for data in items:
        if data in seen:
            continue
        seen.add(data)
        name = "seed-" + hashlib.sha256(data).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return len(seen)


def frame_items():
    fv = load("frames.json")
    out = []
    # Every valid frame, and a spread of the invalid ones: the corpus stays small.
    for v in fv["valid"]:
        out.append(v["canonical"].encode())
    for i, v in enumerate(fv["invalid"]):
        if i % 4 != 0 and "input_hex" not in v:
            continue
        if "input_hex" in v:
            out.append(bytes.fromhex(v["input_hex"]))
        elif len(v["input"]) < 2000:
            out.append(v["input"].encode())
    hello = fv["valid"][0]["canonical"].encode()
    out += [
        hello[: len(hello) // 2],
        b'{"type":"ping","x":' + b"{\"a\":" * 300 + b"1" + b"}" * 300 + b"}",
        b'{"type":"hello","version":1e400,"nonce":"","time":""}',
        b'{"type":"hello","version":-9223372036854775808}',
        b'{"type":"error","code":"x","message":"\xed\xa0\x80"}',
        b'{"type":"error","code":"x","message":"\xf4\x90\x80\x80"}',
        b'{"type":"error","code":"x","message":"\xc0\xaf"}',
        b"2026-02-28T23:59:59Z",
        b"wss://Example.ORG:0443/path",
        b"wss://[::FFFF:127.0.0.1]",
    ]
    return out


def cert_items():
    cv = load("certificates.json")
    out = [v["json"].encode() for v in cv["valid"]]
    out += [v["json"].encode() for v in cv["invalid"]]
    good = cv["valid"][0]["json"].encode()
    out += [good[:-1], good[: len(good) // 3], good.replace(b'"serial":1', b'"serial":18446744073709551616'),
            good.replace(b'"institutions":[', b'"institutions":[[[[[[[[[["x"]]]]]]]]],')]
    return out


def main():
    n1 = write_all("frame", frame_items())
    n2 = write_all("cert", cert_items())
    print("frame: %d seeds, cert: %d seeds" % (n1, n2))


if __name__ == "__main__":
    main()
