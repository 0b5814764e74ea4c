#!/usr/bin/python3
"""Generate proto/vectors/chain.json: test vectors for the hash-linked signed
chains of the key model (PROTOCOL.md section 13; proto/chain.h).

A second, independent implementation written against the spec with PyNaCl
(nacl.bindings) and hashlib; it does not call the C code. From fixed seeds
(the organisation root key, admins' and users' user keys, devices) it builds
a valid org chain, a user chain (uk_create, device_add, device_revoke by the
user key and by an admin, uk_rotate), a team chain (team_create,
member_add, leder_add, member_remove) and two thread chains
(thread_create, thread_member_add by the creator and by a raadgiver,
thread_member_leave, thread_member_remove, a member added again after
leaving), and writes for every link its
canonical JSON text, signing input (hex), hash (hex) and signatures (hex).
Ed25519 is deterministic, so tests/unit/test-chain.c checks the C signing
inputs, hashes, signatures and JSON byte for byte.

It also writes invalid chains (a broken prev, a fork, a skipped seq, a user
key generation going backwards or skipping, bad signatures, a team change
by a member who is not a leder or by an outsider, ops that make no sense;
for threads a broken prev, a fork, a seq going backwards, a wrong signer,
a change by a member who is neither the creator nor a raadgiver, a leave
signed by someone else, changes by outsiders and departed members),
each a list of link texts with the expected error name and the index of
the refused link, and invalid link texts with the error their parsing gives
(among them thread ids that are not "T-" and 26 canonical base32
characters, and roles of the other chain kind).

Run with Debian's python3 (it has PyNaCl):

    /usr/bin/python3 proto/vectors/chain-gen.py [--corpus]

With --corpus it also rewrites the seed corpus of the fuzz target,
tests/fuzz/corpus/chain/: files of link texts, one per line, that
fuzz-chain.c decodes and offers to its states in order: the valid chains
(the org chain first, so the team and user links find their admins), the
thread chains, every invalid chain (user and team ones after the org
chain) and every invalid link text.
"""

import base64
import calendar
import hashlib
import json
import os
import struct
import sys
import time

from nacl import bindings as nb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "chain.json")

TAG = {"org": b"varsko-orglink-v1", "user": b"varsko-userlink-v1", "team": b"varsko-teamlink-v1",
       "thread": b"varsko-threadlink-v1"}
TAG_DEVICE_ID = b"varsko-device-id-v1"

KIND = {
    "admin_add": "org", "admin_remove": "org", "enroll_key": "org", "gateway_key": "org",
    "uk_create": "user", "device_add": "user", "device_revoke": "user", "uk_rotate": "user",
    "team_create": "team", "member_add": "team", "member_remove": "team", "leder_add": "team",
    "leder_remove": "team",
    "thread_create": "thread", "thread_member_add": "thread", "thread_member_remove": "thread",
    "thread_member_leave": "thread",
}

# The JSON members of each op besides op, seq, prev, time and sigs (PROTOCOL.md 13.2), as
# (JSON name, field of the link dict, how it is written).
MEMBERS = {
    "admin_add": [("user", "user", "s"), ("uk_sign_pk", "pk", "k"), ("uk_generation", "generation", "n")],
    "admin_remove": [("user", "user", "s")],
    "enroll_key": [("pk", "pk", "k"), ("not_after", "not_after", "t")],
    "gateway_key": [("pk", "pk", "k")],
    "uk_create": [("user", "chain", "s"), ("device", "device", "s"), ("device_sign_pk", "device_sign_pk", "k"),
                  ("device_box_pk", "device_box_pk", "k"), ("generation", "generation", "n"),
                  ("uk_sign_pk", "uk_sign_pk", "k"), ("uk_box_pk", "uk_box_pk", "k")],
    "device_add": [("user", "chain", "s"), ("device", "device", "s"), ("device_sign_pk", "device_sign_pk", "k"),
                   ("device_box_pk", "device_box_pk", "k")],
    "device_revoke": [("user", "chain", "s"), ("device", "device", "s")],
    "uk_rotate": [("user", "chain", "s"), ("generation", "generation", "n"), ("uk_sign_pk", "uk_sign_pk", "k"),
                  ("uk_box_pk", "uk_box_pk", "k")],
    "team_create": [("team", "chain", "s"), ("user", "user", "s"), ("uk_generation", "generation", "n"),
                    ("uk_sign_pk", "uk_sign_pk", "k")],
    "member_add": [("team", "chain", "s"), ("user", "user", "s"), ("role", "role", "s"),
                   ("uk_generation", "generation", "n"), ("uk_sign_pk", "uk_sign_pk", "k")],
    "member_remove": [("team", "chain", "s"), ("user", "user", "s")],
    "leder_add": [("team", "chain", "s"), ("user", "user", "s")],
    "leder_remove": [("team", "chain", "s"), ("user", "user", "s")],
    "thread_create": [("thread", "chain", "s"), ("institution", "institution", "s"), ("anonymous", "anonymous", "b"),
                      ("user", "user", "s"), ("role", "role", "s"), ("uk_generation", "generation", "n"),
                      ("uk_sign_pk", "uk_sign_pk", "k")],
    "thread_member_add": [("thread", "chain", "s"), ("user", "user", "s"), ("role", "role", "s"),
                          ("uk_generation", "generation", "n"), ("uk_sign_pk", "uk_sign_pk", "k")],
    "thread_member_remove": [("thread", "chain", "s"), ("user", "user", "s")],
    "thread_member_leave": [("thread", "chain", "s"), ("user", "user", "s")],
}


# ---- canonical field encoding (PROTOCOL.md 7) ----

def field(b):
    return struct.pack(">I", len(b)) + b


def s(x):
    return field(x.encode())


def u64(v):
    return field(struct.pack(">Q", v))


def i64(v):
    return field(struct.pack(">q", v))


def b64(b):
    return base64.b64encode(b).decode()


def tm(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def ptm(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def compact(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seed(label):
    return hashlib.sha256(b"varsko-chain-vector:" + label.encode()).digest()


def sign_key(label):
    """(seed, pk, 64-byte sk) of the Ed25519 key of this label."""
    pk, sk = nb.crypto_sign_seed_keypair(seed(label))
    return seed(label), pk, sk


def box_pk(label):
    return nb.crypto_scalarmult_base(seed(label))


def device_id(sign_pk):
    h = hashlib.blake2b(field(TAG_DEVICE_ID) + field(sign_pk), digest_size=32).digest()
    return "d-" + h[:8].hex()


# ---- links ----

ZERO = bytes(32)


def signing_input(l):
    """PROTOCOL.md 13.3. Fields an op does not use: "" for strings, 32 zero bytes for the
    always-32 keys, an empty field for the user link's device keys, 0 for integers."""
    kind = KIND[l["op"]]
    if kind == "org":
        return (field(TAG["org"]) + u64(l["seq"]) + field(l["prev"]) + s(l["op"]) + s(l.get("user", "")) +
                field(l.get("pk", ZERO)) + u64(l.get("generation", 0)) + i64(l.get("not_after", 0)) +
                i64(l["time"]))
    if kind == "user":
        return (field(TAG["user"]) + s(l["chain"]) + u64(l["seq"]) + field(l["prev"]) + s(l["op"]) +
                s(l.get("device", "")) + field(l.get("device_sign_pk", b"")) + field(l.get("device_box_pk", b"")) +
                u64(l.get("generation", 0)) + field(l.get("uk_sign_pk", ZERO)) + field(l.get("uk_box_pk", ZERO)) +
                i64(l["time"]))
    if kind == "thread":
        return (field(TAG["thread"]) + s(l["chain"]) + u64(l["seq"]) + field(l["prev"]) + s(l["op"]) +
                s(l.get("institution", "")) + u64(1 if l.get("anonymous") else 0) + s(l.get("user", "")) +
                s(l.get("role", "")) + u64(l.get("generation", 0)) + field(l.get("uk_sign_pk", ZERO)) +
                i64(l["time"]))
    role = "leder" if l["op"] == "team_create" else l.get("role", "")
    return (field(TAG["team"]) + s(l["chain"]) + u64(l["seq"]) + field(l["prev"]) + s(l["op"]) +
            s(l.get("user", "")) + s(role) + u64(l.get("generation", 0)) + field(l.get("uk_sign_pk", ZERO)) +
            i64(l["time"]))


def link_object(l, sigs):
    o = {"op": l["op"], "seq": l["seq"], "prev": b64(l["prev"]), "time": tm(l["time"]),
         "sigs": [{"pk": b64(pk), "sig": b64(sig)} for pk, sig in sigs]}
    for name, key, how in MEMBERS[l["op"]]:
        v = l[key]
        o[name] = b64(v) if how == "k" else tm(v) if how == "t" else bool(v) if how == "b" else v
    return o


def make(l, signers):
    """Sign link l with the 64-byte secret keys in signers (in order); the vector record."""
    si = signing_input(l)
    sigs = [(sk[32:], nb.crypto_sign(si, sk)[:64]) for sk in signers]
    h = hashlib.sha256(si).digest()
    return {"json": compact(link_object(l, sigs)), "signing_input": si.hex(), "hash": h.hex(),
            "sigs": [sig.hex() for _, sig in sigs], "signer_seeds": [sk[:32].hex() for sk in signers]}


class Chain:
    """A chain being written: each add() follows the last link."""

    def __init__(self, chain_id, t0):
        self.chain_id = chain_id
        self.records = []
        self.t = t0

    def head(self):
        return bytes.fromhex(self.records[-1]["hash"]) if self.records else ZERO

    def link(self, op, signers, seq=None, prev=None, **fields):
        """A record following this chain (or with the given seq / prev) without adding it."""
        l = dict(fields, op=op, seq=len(self.records) + 1 if seq is None else seq,
                 prev=self.head() if prev is None else prev, time=self.t + 60 * (len(self.records) + 1))
        if KIND[op] != "org":
            l.setdefault("chain", self.chain_id)
        return make(l, signers)

    def add(self, op, signers, **fields):
        r = self.link(op, signers, **fields)
        self.records.append(r)
        return r

    def texts(self, n=None):
        return [r["json"] for r in self.records[:n]]


B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def thread_id(label):
    """A thread id: "T-" and the base32 (RFC 4648, no padding) of 16 bytes, 26 characters."""
    raw = hashlib.sha256(b"varsko-chain-vector:thread:" + label.encode()).digest()[:16]
    return "T-" + base64.b32encode(raw).decode().rstrip("=")


def noncanonical(tid):
    """The id with a low bit set in its last character: 26 base32 characters that no 16 bytes encode to."""
    return tid[:-1] + B32[B32.index(tid[-1]) | 1]


def flip_sig(text, i=0):
    """The link text with the first byte of signature i changed (still a valid b64(64))."""
    o = json.loads(text)
    sig = bytearray(base64.b64decode(o["sigs"][i]["sig"]))
    sig[0] ^= 0x01
    o["sigs"][i]["sig"] = b64(bytes(sig))
    return compact(o)


def main():
    t0 = ptm("2026-11-23T09:00:00Z")
    root_seed, root_pk, root_sk = sign_key("root")

    def user_key(user, g):
        _, pk, sk = sign_key("%s/uk%d/sign" % (user, g))
        return pk, sk, box_pk("%s/uk%d/box" % (user, g))

    def device(user, n):
        _, pk, sk = sign_key("%s/dev%d/sign" % (user, n))
        return {"id": device_id(pk), "sign_pk": pk, "sk": sk, "box_pk": box_pk("%s/dev%d/box" % (user, n))}

    admin1_pk, admin1_sk, _ = user_key("u-9001", 1)
    admin2_pk, admin2_sk, _ = user_key("u-9002", 1)
    _, enroll_pk, enroll_sk = sign_key("enroll1")
    _, gateway_pk, _ = sign_key("gateway")

    # ---- the org chain ----
    org = Chain("", t0)
    org.add("admin_add", [root_sk], user="u-9001", pk=admin1_pk, generation=1)
    org.add("enroll_key", [root_sk], pk=enroll_pk, not_after=ptm("2027-06-30T23:59:59Z"))
    org.add("gateway_key", [root_sk], pk=gateway_pk)
    org.add("admin_add", [root_sk], user="u-9002", pk=admin2_pk, generation=1)
    org.add("admin_remove", [root_sk], user="u-9002")

    # ---- the user chain of u-2001 ----
    user = "u-2001"
    uk1_pk, uk1_sk, uk1_box = user_key(user, 1)
    uk2_pk, uk2_sk, uk2_box = user_key(user, 2)
    d = {n: device(user, n) for n in (1, 2, 3, 4)}

    def dev_fields(n):
        return dict(device=d[n]["id"], device_sign_pk=d[n]["sign_pk"], device_box_pk=d[n]["box_pk"])

    uc = Chain(user, t0 + 3600)
    uc.add("uk_create", [d[1]["sk"]], generation=1, uk_sign_pk=uk1_pk, uk_box_pk=uk1_box, **dev_fields(1))
    uc.add("device_add", [uk1_sk], **dev_fields(2))
    uc.add("device_add", [uk1_sk], **dev_fields(3))
    uc.add("device_revoke", [uk1_sk], device=d[2]["id"])
    uc.add("uk_rotate", [uk1_sk, d[1]["sk"]], generation=2, uk_sign_pk=uk2_pk, uk_box_pk=uk2_box)
    uc.add("device_add", [uk2_sk], **dev_fields(4))
    uc.add("device_revoke", [admin1_sk], device=d[3]["id"])

    # ---- the team chain of team-vest ----
    team = "team-vest"
    leder_pk, leder_sk, _ = user_key("u-2002", 1)
    agent_pk, _, _ = user_key("agent-team-vest", 1)
    u2003_pk, u2003_sk, _ = user_key("u-2003", 1)
    outsider_pk, outsider_sk, _ = user_key("u-5000", 1)
    tc = Chain(team, t0 + 7200)
    tc.add("team_create", [admin1_sk], user="u-2002", generation=1, uk_sign_pk=leder_pk)
    tc.add("member_add", [leder_sk], user=user, role="myndighed", generation=1, uk_sign_pk=uk1_pk)
    tc.add("member_add", [leder_sk], user="agent-team-vest", role="agent", generation=1, uk_sign_pk=agent_pk)
    tc.add("member_add", [admin1_sk], user="u-2003", role="myndighed", generation=1, uk_sign_pk=u2003_pk)
    tc.add("leder_add", [leder_sk], user=user)
    tc.add("member_remove", [uk1_sk], user="u-2003")

    # ---- thread chains (docs/THREADS.md): signed by the members' user keys, no org state ----
    # u-3001 (fagperson) opens an anonymous thread with the two rådgivere u-3002 and u-3003; u-3002
    # adds u-3004 (the leder of its team); the creator adds the fagperson u-3005, who leaves; u-3002
    # removes u-3003; u-3005 comes back with a rotated user key (generation 2); u-3004 leaves.
    thread = thread_id("consultation-1")
    tk = {u: user_key(u, 1) for u in ("u-3001", "u-3002", "u-3003", "u-3004", "u-3005", "u-3006", "u-5000")}
    u3005_g2_pk, u3005_g2_sk, _ = user_key("u-3005", 2)

    def pin(u, role, g=1, pk=None):
        return dict(user=u, role=role, generation=g, uk_sign_pk=tk[u][0] if pk is None else pk)

    sk = lambda u: tk[u][1]  # noqa: E731
    th = Chain(thread, t0 + 10800)
    th.add("thread_create", [sk("u-3001")], institution="inst-skole-7", anonymous=1, **pin("u-3001", "fagperson"))
    th.add("thread_member_add", [sk("u-3001")], **pin("u-3002", "raadgiver"))
    th.add("thread_member_add", [sk("u-3001")], **pin("u-3003", "raadgiver"))
    th.add("thread_member_add", [sk("u-3002")], **pin("u-3004", "leder"))
    th.add("thread_member_add", [sk("u-3001")], **pin("u-3005", "fagperson"))
    th.add("thread_member_leave", [sk("u-3005")], user="u-3005")
    th.add("thread_member_remove", [sk("u-3002")], user="u-3003")
    th.add("thread_member_add", [sk("u-3002")], **pin("u-3005", "fagperson", 2, u3005_g2_pk))
    th.add("thread_member_leave", [sk("u-3004")], user="u-3004")

    # A rådgiver opens a thread that is not anonymous, at another institution, with nobody else yet.
    thread2 = thread_id("consultation-2")
    th2 = Chain(thread2, t0 + 14400)
    th2.add("thread_create", [sk("u-3002")], institution="inst-dagtilbud-3", anonymous=0,
            **pin("u-3002", "raadgiver"))

    # ---- invalid chains: the links up to the refused one, which is the last ----
    def case(name, kind, texts, error):
        return {"name": name, "kind": kind, "links": texts, "error": error, "bad": len(texts) - 1}

    h = lambda c, i: bytes.fromhex(c.records[i]["hash"])  # noqa: E731
    u5000_dev = device("u-5000", 1)
    invalid = [
        case("org-broken-prev", "org", org.texts(2) + [
            org.link("gateway_key", [root_sk], seq=3, prev=hashlib.sha256(b"not the previous link").digest(),
                     pk=gateway_pk)["json"]], "bad_chain"),
        case("org-fork", "org", org.texts(3) + [
            org.link("gateway_key", [root_sk], seq=3, prev=h(org, 1), pk=enroll_pk)["json"]], "bad_chain"),
        case("org-skipped-seq", "org", org.texts(1) + [
            org.link("gateway_key", [root_sk], seq=3, prev=h(org, 0), pk=gateway_pk)["json"]], "bad_chain"),
        case("org-first-prev-not-zero", "org", [
            org.link("gateway_key", [root_sk], seq=1, prev=h(org, 0), pk=gateway_pk)["json"]], "bad_chain"),
        case("org-not-root", "org", org.texts(1) + [
            org.link("enroll_key", [enroll_sk], seq=2, prev=h(org, 0), pk=enroll_pk,
                     not_after=ptm("2030-01-01T00:00:00Z"))["json"]], "bad_signature"),
        case("org-bad-signature", "org", org.texts(1) + [flip_sig(org.records[1]["json"])], "bad_signature"),
        case("org-admin-twice", "org", org.texts(1) + [
            org.link("admin_add", [root_sk], seq=2, prev=h(org, 0), user="u-9001", pk=admin2_pk,
                     generation=1)["json"]], "bad_chain"),
        case("org-remove-unknown-admin", "org", org.texts(3) + [
            org.link("admin_remove", [root_sk], seq=4, prev=h(org, 2), user="u-9999")["json"]], "bad_chain"),
        case("user-generation-backwards", "user", uc.texts(5) + [
            uc.link("uk_rotate", [uk2_sk, d[1]["sk"]], seq=6, prev=h(uc, 4), generation=1, uk_sign_pk=uk1_pk,
                    uk_box_pk=uk1_box)["json"]], "bad_chain"),
        case("user-generation-skip", "user", uc.texts(4) + [
            uc.link("uk_rotate", [uk1_sk, d[1]["sk"]], seq=5, prev=h(uc, 3), generation=3, uk_sign_pk=uk2_pk,
                    uk_box_pk=uk2_box)["json"]], "bad_chain"),
        case("user-create-generation-2", "user", [
            uc.link("uk_create", [d[1]["sk"]], seq=1, prev=ZERO, generation=2, uk_sign_pk=uk1_pk, uk_box_pk=uk1_box,
                    **dev_fields(1))["json"]], "bad_chain"),
        case("user-create-not-first", "user", uc.texts(1) + [
            uc.link("uk_create", [d[2]["sk"]], seq=2, prev=h(uc, 0), generation=1, uk_sign_pk=uk2_pk,
                    uk_box_pk=uk2_box, **dev_fields(2))["json"]], "bad_chain"),
        case("user-create-not-by-its-device", "user", [
            uc.link("uk_create", [d[2]["sk"]], seq=1, prev=ZERO, generation=1, uk_sign_pk=uk1_pk,
                    uk_box_pk=uk1_box, **dev_fields(1))["json"]], "bad_signature"),
        case("user-bad-signature", "user", uc.texts(1) + [flip_sig(uc.records[1]["json"])], "bad_signature"),
        case("user-rotate-bad-device-signature", "user", uc.texts(4) + [flip_sig(uc.records[4]["json"], 1)],
             "bad_signature"),
        case("user-device-add-not-user-key", "user", uc.texts(1) + [
            uc.link("device_add", [d[1]["sk"]], seq=2, prev=h(uc, 0), **dev_fields(2))["json"]], "bad_signature"),
        case("user-device-add-old-user-key", "user", uc.texts(5) + [
            uc.link("device_add", [uk1_sk], seq=6, prev=h(uc, 4), **dev_fields(4))["json"]], "bad_signature"),
        case("user-device-add-wrong-id", "user", uc.texts(1) + [
            uc.link("device_add", [uk1_sk], seq=2, prev=h(uc, 0), device=d[3]["id"], device_sign_pk=d[2]["sign_pk"],
                    device_box_pk=d[2]["box_pk"])["json"]], "bad_chain"),
        case("user-device-add-twice", "user", uc.texts(2) + [
            uc.link("device_add", [uk1_sk], seq=3, prev=h(uc, 1), **dev_fields(2))["json"]], "bad_chain"),
        case("user-revoke-unknown-device", "user", uc.texts(1) + [
            uc.link("device_revoke", [uk1_sk], seq=2, prev=h(uc, 0), device=u5000_dev["id"])["json"]], "bad_chain"),
        case("user-revoke-twice", "user", uc.texts(4) + [
            uc.link("device_revoke", [uk1_sk], seq=5, prev=h(uc, 3), device=d[2]["id"])["json"]], "bad_chain"),
        case("user-revoke-by-outsider", "user", uc.texts(2) + [
            uc.link("device_revoke", [outsider_sk], seq=3, prev=h(uc, 1), device=d[2]["id"])["json"]],
             "bad_signature"),
        case("user-revoke-by-removed-admin", "user", uc.texts(2) + [
            uc.link("device_revoke", [admin2_sk], seq=3, prev=h(uc, 1), device=d[2]["id"])["json"]],
             "bad_signature"),
        case("user-rotate-revoked-device", "user", uc.texts(4) + [
            uc.link("uk_rotate", [uk1_sk, d[2]["sk"]], seq=5, prev=h(uc, 3), generation=2, uk_sign_pk=uk2_pk,
                    uk_box_pk=uk2_box)["json"]], "device_revoked"),
        case("user-rotate-foreign-device", "user", uc.texts(4) + [
            uc.link("uk_rotate", [uk1_sk, u5000_dev["sk"]], seq=5, prev=h(uc, 3), generation=2, uk_sign_pk=uk2_pk,
                    uk_box_pk=uk2_box)["json"]], "bad_signature"),
        case("user-wrong-chain", "user", uc.texts(1) + [
            uc.link("device_add", [uk1_sk], seq=2, prev=h(uc, 0), chain="u-2999", **dev_fields(2))["json"]],
             "bad_chain"),
        case("user-org-link", "user", [org.records[0]["json"]], "bad_chain"),
        case("team-forbidden", "team", tc.texts(2) + [
            tc.link("member_add", [uk1_sk], seq=3, prev=h(tc, 1), user="u-2003", role="myndighed", generation=1,
                    uk_sign_pk=u2003_pk)["json"]], "forbidden"),
        case("team-not-member", "team", tc.texts(2) + [
            tc.link("member_add", [outsider_sk], seq=3, prev=h(tc, 1), user="u-2003", role="myndighed",
                    generation=1, uk_sign_pk=u2003_pk)["json"]], "not_member"),
        case("team-remove-by-removed-member", "team", tc.texts(6) + [
            tc.link("member_remove", [u2003_sk], seq=7, prev=h(tc, 5), user="agent-team-vest")["json"]],
             "not_member"),
        case("team-create-not-admin", "team", [
            tc.link("team_create", [leder_sk], seq=1, prev=ZERO, user="u-2002", generation=1,
                    uk_sign_pk=leder_pk)["json"]], "not_member"),
        case("team-create-removed-admin", "team", [
            tc.link("team_create", [admin2_sk], seq=1, prev=ZERO, user="u-2002", generation=1,
                    uk_sign_pk=leder_pk)["json"]], "not_member"),
        case("team-create-not-first", "team", tc.texts(1) + [
            tc.link("team_create", [admin1_sk], seq=2, prev=h(tc, 0), user="u-2003", generation=1,
                    uk_sign_pk=u2003_pk)["json"]], "bad_chain"),
        case("team-first-not-create", "team", [
            tc.link("member_add", [admin1_sk], seq=1, prev=ZERO, user="u-2003", role="myndighed", generation=1,
                    uk_sign_pk=u2003_pk)["json"]], "bad_chain"),
        case("team-add-existing-member", "team", tc.texts(2) + [
            tc.link("member_add", [leder_sk], seq=3, prev=h(tc, 1), user=user, role="myndighed", generation=2,
                    uk_sign_pk=uk2_pk)["json"]], "bad_chain"),
        case("team-remove-non-member", "team", tc.texts(2) + [
            tc.link("member_remove", [leder_sk], seq=3, prev=h(tc, 1), user="u-5000")["json"]], "bad_chain"),
        case("team-remove-last-leder", "team", tc.texts(2) + [
            tc.link("member_remove", [leder_sk], seq=3, prev=h(tc, 1), user="u-2002")["json"]], "bad_chain"),
        case("team-leder-remove-last", "team", tc.texts(1) + [
            tc.link("leder_remove", [admin1_sk], seq=2, prev=h(tc, 0), user="u-2002")["json"]], "bad_chain"),
        case("team-leder-add-twice", "team", tc.texts(5) + [
            tc.link("leder_add", [leder_sk], seq=6, prev=h(tc, 4), user=user)["json"]], "bad_chain"),
        case("team-fork", "team", tc.texts(3) + [
            tc.link("member_add", [leder_sk], seq=3, prev=h(tc, 1), user="u-2003", role="myndighed", generation=1,
                    uk_sign_pk=u2003_pk)["json"]], "bad_chain"),
        case("team-bad-signature", "team", tc.texts(2) + [flip_sig(tc.records[2]["json"])], "bad_signature"),
        case("team-wrong-chain", "team", tc.texts(1) + [
            tc.link("member_add", [leder_sk], seq=2, prev=h(tc, 0), chain="team-oest", user=user, role="myndighed",
                    generation=1, uk_sign_pk=uk1_pk)["json"]], "bad_chain"),
    ]

    # ---- invalid thread chains ----
    def tl(op, signer, seq, prev, **fields):
        return th.link(op, [sk(signer)], seq=seq, prev=prev, **fields)["json"]

    invalid += [
        case("thread-broken-prev", "thread", th.texts(2) + [
            tl("thread_member_add", "u-3001", 3, hashlib.sha256(b"not the previous link").digest(),
               **pin("u-3003", "raadgiver"))], "bad_chain"),
        case("thread-fork", "thread", th.texts(3) + [
            tl("thread_member_add", "u-3001", 3, h(th, 1), **pin("u-3005", "fagperson"))], "bad_chain"),
        case("thread-seq-backwards", "thread", th.texts(4) + [
            tl("thread_member_add", "u-3001", 2, h(th, 3), **pin("u-3005", "fagperson"))], "bad_chain"),
        case("thread-skipped-seq", "thread", th.texts(2) + [
            tl("thread_member_add", "u-3001", 4, h(th, 1), **pin("u-3003", "raadgiver"))], "bad_chain"),
        case("thread-first-prev-not-zero", "thread", [
            tl("thread_create", "u-3001", 1, h(th, 0), institution="inst-skole-7", anonymous=1,
               **pin("u-3001", "fagperson"))], "bad_chain"),
        case("thread-first-not-create", "thread", [
            tl("thread_member_add", "u-3001", 1, ZERO, **pin("u-3002", "raadgiver"))], "bad_chain"),
        case("thread-create-not-first", "thread", th.texts(1) + [
            tl("thread_create", "u-3002", 2, h(th, 0), institution="inst-skole-7", anonymous=0,
               **pin("u-3002", "raadgiver"))], "bad_chain"),
        case("thread-create-wrong-signer", "thread", [
            tl("thread_create", "u-3002", 1, ZERO, institution="inst-skole-7", anonymous=1,
               **pin("u-3001", "fagperson"))], "bad_signature"),
        case("thread-bad-signature", "thread", th.texts(3) + [flip_sig(th.records[3]["json"])], "bad_signature"),
        case("thread-add-by-fagperson", "thread", th.texts(5) + [
            tl("thread_member_add", "u-3005", 6, h(th, 4), **pin("u-3006", "fagperson"))], "forbidden"),
        case("thread-add-by-leder", "thread", th.texts(4) + [
            tl("thread_member_add", "u-3004", 5, h(th, 3), **pin("u-3006", "fagperson"))], "forbidden"),
        case("thread-remove-by-fagperson", "thread", th.texts(5) + [
            tl("thread_member_remove", "u-3005", 6, h(th, 4), user="u-3004")], "forbidden"),
        case("thread-leave-by-someone-else", "thread", th.texts(5) + [
            tl("thread_member_leave", "u-3002", 6, h(th, 4), user="u-3005")], "forbidden"),
        case("thread-add-by-outsider", "thread", th.texts(2) + [
            tl("thread_member_add", "u-5000", 3, h(th, 1), **pin("u-3003", "raadgiver"))], "not_member"),
        case("thread-leave-by-outsider", "thread", th.texts(2) + [
            tl("thread_member_leave", "u-5000", 3, h(th, 1), user="u-5000")], "not_member"),
        case("thread-add-by-removed-raadgiver", "thread", th.texts(7) + [
            tl("thread_member_add", "u-3003", 8, h(th, 6), **pin("u-3006", "fagperson"))], "not_member"),
        case("thread-leave-twice", "thread", th.texts(6) + [
            tl("thread_member_leave", "u-3005", 7, h(th, 5), user="u-3005")], "not_member"),
        case("thread-add-present-member", "thread", th.texts(2) + [
            tl("thread_member_add", "u-3001", 3, h(th, 1), **pin("u-3002", "raadgiver"))], "bad_chain"),
        case("thread-add-with-anothers-key", "thread", th.texts(2) + [
            tl("thread_member_add", "u-3001", 3, h(th, 1), **pin("u-3006", "fagperson", 1, tk["u-3002"][0]))],
             "bad_chain"),
        case("thread-remove-non-member", "thread", th.texts(2) + [
            tl("thread_member_remove", "u-3001", 3, h(th, 1), user="u-3006")], "bad_chain"),
        case("thread-remove-departed", "thread", th.texts(6) + [
            tl("thread_member_remove", "u-3002", 7, h(th, 5), user="u-3005")], "bad_chain"),
        case("thread-remove-self", "thread", th.texts(2) + [
            tl("thread_member_remove", "u-3002", 3, h(th, 1), user="u-3002")], "bad_chain"),
        case("thread-wrong-chain", "thread", th.texts(1) + [
            th.link("thread_member_add", [sk("u-3001")], seq=2, prev=h(th, 0), chain=thread2,
                    **pin("u-3002", "raadgiver"))["json"]], "bad_chain"),
        case("thread-team-link", "thread", [tc.records[0]["json"]], "bad_chain"),
        case("team-thread-link", "team", [th.records[0]["json"]], "bad_chain"),
    ]

    # ---- invalid link texts: the error of parsing them ----
    def edit(text, fn):
        o = json.loads(text)
        fn(o)
        return compact(o)

    first = org.records[0]["json"]
    rot = uc.records[4]["json"]
    madd = tc.records[1]["json"]
    bad_json = [
        {"name": "unknown-key", "text": edit(first, lambda o: o.update(x=1)), "error": "bad_frame"},
        {"name": "member-of-another-op", "text": edit(org.records[4]["json"], lambda o: o.update(pk=b64(ZERO))),
         "error": "bad_frame"},
        {"name": "team-create-with-role", "text": edit(tc.records[0]["json"], lambda o: o.update(role="leder")),
         "error": "bad_frame"},
        {"name": "duplicate-key", "text": first[:-1] + ',"seq":1}', "error": "duplicate_key"},
        {"name": "duplicate-key-in-sig", "text": first.replace('"sig":', '"pk":"' + b64(ZERO) + '","sig":', 1),
         "error": "duplicate_key"},
        {"name": "missing-time", "text": edit(first, lambda o: o.pop("time")), "error": "bad_frame"},
        {"name": "missing-sigs", "text": edit(first, lambda o: o.pop("sigs")), "error": "bad_frame"},
        {"name": "prev-31-bytes", "text": edit(first, lambda o: o.update(prev=b64(bytes(31)))), "error": "bad_frame"},
        {"name": "pk-33-bytes", "text": edit(org.records[2]["json"], lambda o: o.update(pk=b64(bytes(33)))),
         "error": "bad_frame"},
        {"name": "sig-63-bytes", "text": edit(first, lambda o: o["sigs"][0].update(sig=b64(bytes(63)))),
         "error": "bad_frame"},
        {"name": "rotate-one-signature", "text": edit(rot, lambda o: o["sigs"].pop()), "error": "bad_frame"},
        {"name": "two-signatures", "text": edit(first, lambda o: o["sigs"].append(o["sigs"][0])),
         "error": "bad_frame"},
        {"name": "no-signature", "text": edit(first, lambda o: o.update(sigs=[])), "error": "bad_frame"},
        {"name": "unknown-op", "text": edit(first, lambda o: o.update(op="admin_promote")), "error": "bad_frame"},
        {"name": "op-not-a-string", "text": edit(first, lambda o: o.update(op=1)), "error": "bad_frame"},
        {"name": "seq-0", "text": edit(first, lambda o: o.update(seq=0)), "error": "bad_frame"},
        {"name": "seq-string", "text": edit(first, lambda o: o.update(seq="1")), "error": "bad_frame"},
        {"name": "generation-0", "text": edit(rot, lambda o: o.update(generation=0)), "error": "bad_frame"},
        {"name": "unknown-role", "text": edit(madd, lambda o: o.update(role="admin")), "error": "bad_frame"},
        {"name": "empty-user", "text": edit(madd, lambda o: o.update(user="")), "error": "bad_frame"},
        {"name": "user-with-space", "text": edit(madd, lambda o: o.update(user="u 2001")), "error": "bad_frame"},
        {"name": "time-with-offset", "text": edit(first, lambda o: o.update(time="2026-11-23T10:01:00+01:00")),
         "error": "bad_frame"},
        {"name": "null-member", "text": edit(first, lambda o: o.update(user=None)), "error": "bad_frame"},
        {"name": "array", "text": "[" + first + "]", "error": "bad_json"},
        {"name": "truncated", "text": first[:-1], "error": "bad_json"},
        {"name": "trailing-garbage", "text": first + "x", "error": "bad_json"},
    ]

    tcreate = th.records[0]["json"]
    tadd = th.records[1]["json"]
    tleave = th.records[5]["json"]
    bad_json += [
        {"name": "thread-id-lowercase", "text": edit(tadd, lambda o: o.update(thread=o["thread"].lower())),
         "error": "bad_frame"},
        {"name": "thread-id-25-chars", "text": edit(tadd, lambda o: o.update(thread=o["thread"][:-1])),
         "error": "bad_frame"},
        {"name": "thread-id-27-chars", "text": edit(tadd, lambda o: o.update(thread=o["thread"] + "A")),
         "error": "bad_frame"},
        {"name": "thread-id-message-prefix", "text": edit(tadd, lambda o: o.update(thread="M-" + o["thread"][2:])),
         "error": "bad_frame"},
        {"name": "thread-id-digit-1", "text": edit(tadd, lambda o: o.update(thread=o["thread"][:5] + "1" +
                                                                           o["thread"][6:])),
         "error": "bad_frame"},
        {"name": "thread-id-not-canonical", "text": edit(tadd, lambda o: o.update(thread=noncanonical(o["thread"]))),
         "error": "bad_frame"},
        {"name": "thread-id-team-name", "text": edit(tadd, lambda o: o.update(thread="team-vest")),
         "error": "bad_frame"},
        {"name": "thread-unknown-key", "text": edit(tadd, lambda o: o.update(x=1)), "error": "bad_frame"},
        {"name": "thread-team-key", "text": edit(tadd, lambda o: o.update(team=o.pop("thread"))),
         "error": "bad_frame"},
        {"name": "thread-team-op-name", "text": edit(tadd, lambda o: o.update(op="member_add")),
         "error": "bad_frame"},
        {"name": "thread-anonymous-integer", "text": edit(tcreate, lambda o: o.update(anonymous=1)),
         "error": "bad_frame"},
        {"name": "thread-create-no-institution", "text": edit(tcreate, lambda o: o.pop("institution")),
         "error": "bad_frame"},
        {"name": "thread-create-no-anonymous", "text": edit(tcreate, lambda o: o.pop("anonymous")),
         "error": "bad_frame"},
        {"name": "thread-create-by-leder", "text": edit(tcreate, lambda o: o.update(role="leder")),
         "error": "bad_frame"},
        {"name": "thread-add-with-institution", "text": edit(tadd, lambda o: o.update(institution="inst-skole-7")),
         "error": "bad_frame"},
        {"name": "thread-add-role-myndighed", "text": edit(tadd, lambda o: o.update(role="myndighed")),
         "error": "bad_frame"},
        {"name": "thread-add-role-agent", "text": edit(tadd, lambda o: o.update(role="agent")),
         "error": "bad_frame"},
        {"name": "thread-leave-with-role", "text": edit(tleave, lambda o: o.update(role="fagperson")),
         "error": "bad_frame"},
        {"name": "thread-add-no-pin", "text": edit(tadd, lambda o: o.pop("uk_sign_pk")), "error": "bad_frame"},
        {"name": "team-add-role-fagperson", "text": edit(madd, lambda o: o.update(role="fagperson")),
         "error": "bad_frame"},
        {"name": "team-add-role-raadgiver", "text": edit(madd, lambda o: o.update(role="raadgiver")),
         "error": "bad_frame"},
    ]

    out = {
        "description": "PROTOCOL.md 13 chain links from fixed seeds; generated by chain-gen.py (PyNaCl, hashlib), "
                       "independent of the C code",
        "root_seed": root_seed.hex(),
        "root_pk": root_pk.hex(),
        "org": {"links": org.records,
                "admins": [{"user": "u-9001", "uk_sign_pk": admin1_pk.hex(), "uk_generation": 1}],
                "enroll": [{"pk": enroll_pk.hex(), "not_after": "2027-06-30T23:59:59Z"}],
                "gateway_pk": gateway_pk.hex()},
        "user": {"user": user, "links": uc.records,
                 "generation": 2, "uk_sign_pk": uk2_pk.hex(), "uk_box_pk": uk2_box.hex(),
                 "devices": [{"device": d[n]["id"], "sign_pk": d[n]["sign_pk"].hex(), "box_pk": d[n]["box_pk"].hex(),
                              "revoked": n in (2, 3)} for n in (1, 2, 3, 4)]},
        "team": {"team": team, "links": tc.records,
                 "members": [{"user": "u-2002", "role": "leder", "uk_sign_pk": leder_pk.hex(), "uk_generation": 1,
                              "leder": True},
                             {"user": user, "role": "myndighed", "uk_sign_pk": uk1_pk.hex(), "uk_generation": 1,
                              "leder": True},
                             {"user": "agent-team-vest", "role": "agent", "uk_sign_pk": agent_pk.hex(),
                              "uk_generation": 1, "leder": False}]},
        "invalid_chains": invalid,
        "invalid_json": bad_json,
        "threads": [
            {"thread": thread, "links": th.records, "institution": "inst-skole-7", "anonymous": True,
             "creator": "u-3001", "version": len(th.records),
             "members": [
                 {"user": "u-3001", "role": "fagperson", "uk_sign_pk": tk["u-3001"][0].hex(), "uk_generation": 1,
                  "added": 1, "removed": 0},
                 {"user": "u-3002", "role": "raadgiver", "uk_sign_pk": tk["u-3002"][0].hex(), "uk_generation": 1,
                  "added": 2, "removed": 0},
                 {"user": "u-3003", "role": "raadgiver", "uk_sign_pk": tk["u-3003"][0].hex(), "uk_generation": 1,
                  "added": 3, "removed": 7},
                 {"user": "u-3004", "role": "leder", "uk_sign_pk": tk["u-3004"][0].hex(), "uk_generation": 1,
                  "added": 4, "removed": 9},
                 {"user": "u-3005", "role": "fagperson", "uk_sign_pk": u3005_g2_pk.hex(), "uk_generation": 2,
                  "added": 8, "removed": 0}]},
            {"thread": thread2, "links": th2.records, "institution": "inst-dagtilbud-3", "anonymous": False,
             "creator": "u-3002", "version": 1,
             "members": [
                 {"user": "u-3002", "role": "raadgiver", "uk_sign_pk": tk["u-3002"][0].hex(), "uk_generation": 1,
                  "added": 1, "removed": 0}]},
        ],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    if "--corpus" in sys.argv[1:]:
        corpus(out)


def corpus(out):
    d = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "fuzz", "corpus", "chain")
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.startswith("seed-"):
            os.remove(os.path.join(d, old))
    org = [r["json"] for r in out["org"]["links"]]
    user = [r["json"] for r in out["user"]["links"]]
    team = [r["json"] for r in out["team"]["links"]]
    items = [org, org + user + team, org + team + user]
    for t in out["threads"]:
        items.append([r["json"] for r in t["links"]])
    for c in out["invalid_chains"]:
        items.append(c["links"] if c["kind"] in ("org", "thread") else org + c["links"])
    for c in out["invalid_json"]:
        items.append([c["text"]])
    seen = set()
    for lines in items:
        data = ("\n".join(lines) + "\n").encode()
        if data in seen:
            continue
        seen.add(data)
        with open(os.path.join(d, "seed-" + hashlib.sha256(data).hexdigest()[:16]), "wb") as f:
            f.write(data)
    print("%d files in %s" % (len(seen), d))


if __name__ == "__main__":
    main()
