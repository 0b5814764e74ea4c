#!/usr/bin/python3
"""Generate proto/vectors/blob.json: attachments encrypted by a second,
independent implementation (PyNaCl's crypto_secretstream bindings), for
proto/blob.c to decrypt (PROTOCOL.md 17.8; proto/blob.h).

The format: the 24-byte secretstream header, then the plaintext in chunks of
65536 bytes, each pushed with 17 bytes of overhead, every chunk but the last
with the tag MESSAGE and exactly 65536 bytes, the last (0..65536 bytes) with
the tag FINAL. secretstream chooses its header at random, so these are not
byte-exact encryptions to reproduce: they are ciphertexts the C decrypter must
open ("good", with the SHA-256 of the plaintext), and ciphertexts it must
refuse ("bad": cut short, chunks swapped, a chunk repeated, bytes after the
final chunk, a short chunk tagged MESSAGE, a FINAL chunk in the middle,
another key; the damage to a long ciphertext is described as an edit of the
last good case, to keep this file small). The plaintext of a case is bytes((i * 7 + n) % 251 for i in
range(n)), n its length.

Run with Debian's python3 (it has PyNaCl):

    /usr/bin/python3 proto/vectors/blob-gen.py
"""

import base64
import hashlib
import json
import os

from nacl import bindings as b

CHUNK = 65536
MSG = b.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
FINAL = b.crypto_secretstream_xchacha20poly1305_TAG_FINAL
KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def plain(n):
    return bytes((i * 7 + n) % 251 for i in range(n))


def push(key, parts):
    """parts: [(bytes, tag)] -> header + chunks."""
    st = b.crypto_secretstream_xchacha20poly1305_state()
    header = b.crypto_secretstream_xchacha20poly1305_init_push(st, key)
    out = [header]
    for p, tag in parts:
        out.append(b.crypto_secretstream_xchacha20poly1305_push(st, p, None, tag))
    return out


def split(pt):
    chunks = [pt[i:i + CHUNK] for i in range(0, len(pt), CHUNK)] or [b""]
    return [(c, FINAL if i == len(chunks) - 1 else MSG) for i, c in enumerate(chunks)]


def b64(x):
    return base64.b64encode(x).decode()


def main():
    good, bad = [], []
    for n in (0, 5, CHUNK, CHUNK + 1):
        pt = plain(n)
        good.append({"n": n, "sha256": hashlib.sha256(pt).hexdigest(),
                     "ciphertext": b64(b"".join(push(KEY, split(pt))))})
    # Damage done to the last good case (two chunks, header h, c1 MESSAGE, c2 FINAL) by the reader of
    # the vectors, so that the file stays small: each names what to do with the 24-byte header and the
    # chunks of 65553 and 18 bytes.
    edits = [
        ("cut short: the final chunk is missing", "h c1"),
        ("cut short: the final chunk lacks its last byte", "h c1 c2-1"),
        ("chunks swapped", "h c2 c1"),
        ("a chunk repeated", "h c1 c1 c2"),
        ("bytes after the final chunk", "h c1 c2 00"),
        ("header only", "h"),
        ("nothing at all", ""),
    ]
    for why, how in edits:
        bad.append({"why": why, "edit": how})
    pt = plain(300)
    h3, e1, e2 = push(KEY, [(pt[:100], MSG), (pt[100:], FINAL)])
    bad.append({"why": "a short chunk tagged MESSAGE", "ciphertext": b64(h3 + e1 + e2)})
    h4, f1, f2 = push(KEY, [(pt[:100], FINAL), (pt[100:], FINAL)])
    bad.append({"why": "a FINAL chunk before another chunk", "ciphertext": b64(h4 + f1 + f2)})
    h5, g1 = push(KEY, [(pt, MSG)])
    bad.append({"why": "no FINAL chunk at all", "ciphertext": b64(h5 + g1)})
    bad.append({"why": "another key", "ciphertext": b64(b"".join(push(OTHER, split(pt))))})
    out = {"about": __doc__.strip().splitlines()[0], "key": b64(KEY), "chunk": CHUNK, "good": good, "bad": bad}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "blob.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
