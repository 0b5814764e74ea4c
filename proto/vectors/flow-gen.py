#!/usr/bin/python3
"""Generate proto/vectors/flow.json: test vectors for the signed objects of
the underretning flow (PROTOCOL.md "Underretning flow"; proto/flow.h).

A second, independent implementation written against the spec with PyNaCl
(nacl.bindings) and hashlib; it does not call the C code. From fixed seeds
(organisation key, gateway key, team devices, a fagperson) it builds
certificates, a team roster, a receipt and events, and writes for each the
canonical JSON text, the signing input (hex) and the Ed25519 signature
(hex). Ed25519 is deterministic, so tests/unit/test-flow.c checks the C
signing inputs, signatures and JSON byte for byte.

The envelope hashes are over envelopes taken from proto/vectors/envelope.json
(written by envelope-gen.py); their signing inputs are rebuilt here from the
JSON fields.

Run with Debian's python3 (it has PyNaCl):

    /usr/bin/python3 proto/vectors/flow-gen.py
"""

import base64
import calendar
import hashlib
import json
import os
import struct
import time

from nacl import bindings as nb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "flow.json")

TAG_CERT = b"varsko-cert-v1"
TAG_DEVICE_ID = b"varsko-device-id-v1"
TAG_ROSTER = b"varsko-roster-v1"
TAG_RECEIPT = b"varsko-receipt-v1"
TAG_EVENT = b"varsko-event-v1"
TAG_REFUSAL = b"varsko-refusal-v1"
TAG_ENVHASH = b"varsko-envelope-hash-v1"
TAG_ENV_HEADER = b"varsko-envelope-v1"
TAG_ENV_SIG = b"varsko-envelope-sig-v1"


# ---- canonical field encoding (PROTOCOL.md "Signing inputs") ----

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


def ub64(t):
    return base64.b64decode(t, validate=True)


def tm(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def ptm(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def compact(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seed(label):
    return hashlib.sha256(b"varsko-flow-vector:" + label.encode()).digest()


def keypair(label):
    pk, sk = nb.crypto_sign_seed_keypair(seed(label))
    return seed(label), pk, sk


def sign(si, sk):
    return nb.crypto_sign(si, sk)[:64]


def device_id(sign_pk):
    h = hashlib.blake2b(field(TAG_DEVICE_ID) + field(sign_pk), digest_size=32).digest()
    return "d-" + h[:8].hex()


# ---- certificates ----

def cert(org_sk, label, serial, user, name, role, team, institutions, nb_, na):
    _, spk, _ = keypair(label + "/sign")
    box_pk = nb.crypto_scalarmult_base(seed(label + "/box"))
    dev = device_id(spk)
    si = (field(TAG_CERT) + u64(1) + u64(serial) + s(user) + s(name) + s(role) + s(team) +
          u64(len(institutions)) + b"".join(s(i) for i in institutions) + s(dev) + field(spk) + field(box_pk) +
          i64(nb_) + i64(na))
    return {
        "box_pk": b64(box_pk), "device": dev, "institutions": institutions, "name": name,
        "not_after": tm(na), "not_before": tm(nb_), "role": role, "serial": serial, "sig": b64(sign(si, org_sk)),
        "sign_pk": b64(spk), "team": team, "user": user, "version": 1,
    }


# ---- envelope hash ----

def env_signing_input(e):
    devices = [w["device"] for w in e["wraps"]]
    hdr = (field(TAG_ENV_HEADER) + u64(e["version"]) + s(e["kind"]) + s(e["object_id"]) + s(e["sender"]) +
           u64(len(devices)) + b"".join(s(d) for d in devices) + field(ub64(e["routing"])))
    si = field(TAG_ENV_SIG) + field(hdr) + field(ub64(e["epk"])) + u64(len(e["wraps"]))
    for w in e["wraps"]:
        si += s(w["device"]) + field(ub64(w["nonce"])) + field(ub64(w["key"]))
    return si + field(ub64(e["nonce"])) + field(ub64(e["ciphertext"]))


def envelope_hash(env_text):
    return hashlib.sha256(field(TAG_ENVHASH) + field(env_signing_input(json.loads(env_text)))).digest()


# ---- the signed objects ----

def roster(org_sk, team, version, issued, certs):
    certs = sorted(certs, key=lambda c: c["device"].encode())
    si = field(TAG_ROSTER) + u64(1) + s(team) + u64(version) + i64(issued) + u64(len(certs))
    for c in certs:
        si += s(c["device"]) + field(ub64(c["sign_pk"])) + field(ub64(c["box_pk"])) + u64(c["serial"])
    sig = sign(si, org_sk)
    obj = {"devices": certs, "issued": tm(issued), "sig": b64(sig), "team": team, "version": version}
    return {"json": compact(obj), "signing_input": si.hex(), "sig": sig.hex()}


def receipt(gw_sk, r):
    si = (field(TAG_RECEIPT) + u64(1) + s(r["reference"]) + s(r["submission"]) + field(r["envelope_hash"]) +
          s(r["sender"]) + s(r["sender_user"]) + s(r["institution"]) + s(r["team"]) + i64(r["received"]) +
          i64(r["vurdering_due"]) + i64(r["kvittering_due"]) + i64(r["tilbagemelding_due"]) + s(r["gateway"]))
    sig = sign(si, gw_sk)
    obj = dict(r)
    obj["envelope_hash"] = b64(r["envelope_hash"])
    for k in ("received", "vurdering_due", "kvittering_due", "tilbagemelding_due"):
        obj[k] = tm(r[k])
    obj["sig"] = b64(sig)
    obj["version"] = 1
    return {"json": compact(obj), "signing_input": si.hex(), "sig": sig.hex()}


NEEDS_ENVELOPE = ("kvitteret", "tilbagemelding", "omdirigeret")


def event(sk, reference, kind, device, t, akut=None, started=None, team=None, env_hash=None):
    """akut only for vurderet, started only for tilbagemelding, team only for
    omdirigeret, env_hash exactly for the kinds that carry an envelope."""
    assert (akut is not None) == (kind == "vurderet")
    assert (started is not None) == (kind == "tilbagemelding")
    assert (team is not None) == (kind == "omdirigeret")
    assert (env_hash is not None) == (kind in NEEDS_ENVELOPE)
    si = (field(TAG_EVENT) + u64(1) + s(reference) + s(kind) + s(device) + i64(t) +
          i64(-1 if akut is None else int(akut)) + i64(-1 if started is None else int(started)) +
          s(team or "") + u64(0 if env_hash is None else 1) + field(env_hash or bytes(32)))
    sig = sign(si, sk)
    obj = {"device": device, "kind": kind, "reference": reference, "sig": b64(sig), "time": tm(t), "version": 1}
    if akut is not None:
        obj["akut"] = bool(akut)
    if started is not None:
        obj["started"] = bool(started)
    if team is not None:
        obj["team"] = team
    if env_hash is not None:
        obj["envelope_hash"] = b64(env_hash)
    return {"json": compact(obj), "signing_input": si.hex(), "sig": sig.hex()}


def refusal(sk, reference, device, t, reason):
    """An agent's signed refusal (PROTOCOL.md 12.9)."""
    si = field(TAG_REFUSAL) + u64(1) + s(reference) + s(device) + i64(t) + s(reason)
    sig = sign(si, sk)
    obj = {"device": device, "reason": reason, "reference": reference, "sig": b64(sig), "time": tm(t),
           "version": 1}
    return {"json": compact(obj), "signing_input": si.hex(), "sig": sig.hex()}


def main():
    with open(os.path.join(HERE, "envelope.json"), encoding="utf-8") as f:
        envs = {v["name"]: v["envelope"] for v in json.load(f)["vectors"]}

    org_seed, org_pk, org_sk = keypair("org")
    nb_, na = ptm("2026-01-01T00:00:00Z"), ptm("2027-01-01T00:00:00Z")
    now = ptm("2026-11-23T09:00:00Z")

    gw_seed, gw_pk, gw_sk = keypair("gateway/sign")
    gateway_cert = cert(org_sk, "gateway", 1, "varskod", "Varsko gateway", "gateway", "", [], nb_, na)
    team = "team-vest"
    myn = cert(org_sk, "myndighed", 20, "u-2001", "Søren Ærø", "myndighed", team, [], nb_, na)
    led = cert(org_sk, "leder", 21, "u-2002", "Lene Leder", "leder", team, [], nb_, na)
    agent = cert(org_sk, "agent", 22, "agent-team-vest", "Agent team-vest", "agent", team, [], nb_, na)
    fag = cert(org_sk, "fagperson", 30, "u-1001", "Bjørk Åkesen", "fagperson", "", ["inst-nordskovskolen"], nb_, na)
    myn_seed, _, myn_sk = keypair("myndighed/sign")
    agent_seed, _, agent_sk = keypair("agent/sign")

    ros = roster(org_sk, team, 3, ptm("2026-11-23T08:59:00Z"), [myn, agent, led])

    ref = "U-2026-000001"
    received = ptm("2026-11-23T09:00:00Z")
    h_sub = envelope_hash(envs["one-recipient"])
    rec = receipt(gw_sk, {
        "reference": ref, "submission": "s-00112233445566778899aabbccddeeff", "envelope_hash": h_sub,
        "sender": fag["device"], "sender_user": fag["user"], "institution": "inst-nordskovskolen", "team": team,
        "received": received, "vurdering_due": received + 86400, "kvittering_due": ptm("2026-11-27T09:00:00Z"),
        "tilbagemelding_due": ptm("2027-01-22T09:00:00Z"), "gateway": gateway_cert["device"],
    })

    h_msg = envelope_hash(envs["three-recipients"])
    h_many = envelope_hash(envs["many-recipients"])
    events = [
        dict(name="leveret", signer_seed=gw_seed.hex(),
             **event(gw_sk, ref, "leveret", gateway_cert["device"], received + 1)),
        dict(name="modtaget", signer_seed=agent_seed.hex(),
             **event(agent_sk, ref, "modtaget", agent["device"], received + 5)),
        dict(name="vurderet", signer_seed=myn_seed.hex(),
             **event(myn_sk, ref, "vurderet", myn["device"], received + 3600, akut=True)),
        dict(name="kvitteret", signer_seed=myn_seed.hex(),
             **event(myn_sk, ref, "kvitteret", myn["device"], received + 7200, env_hash=h_msg)),
        dict(name="tilbagemelding", signer_seed=myn_seed.hex(),
             **event(myn_sk, ref, "tilbagemelding", myn["device"], received + 86400 * 30, started=False,
                     env_hash=h_msg)),
        dict(name="omdirigeret", signer_seed=myn_seed.hex(),
             **event(myn_sk, ref, "omdirigeret", myn["device"], received + 10800, team="team-oest",
                     env_hash=h_many)),
    ]
    refusals = [dict(name=reason, signer_seed=agent_seed.hex(),
                     **refusal(agent_sk, ref, agent["device"], received + 6 + k, reason))
                for k, reason in enumerate(("cannot_open", "bad_document", "failed_check"))]
    out = {
        "description": "PROTOCOL.md 'Underretning flow' signed objects from fixed seeds; generated by flow-gen.py "
                       "(PyNaCl, hashlib), independent of the C code",
        "org_seed": org_seed.hex(),
        "org_pk": org_pk.hex(),
        "gateway_seed": gw_seed.hex(),
        "gateway_cert": compact(gateway_cert),
        "sender_cert": compact(fag),
        "now": tm(now),
        "roster": ros,
        "receipt": dict(rec, envelope=envs["one-recipient"]),
        "events": events,
        "refusals": refusals,
        "envelope_hashes": [{"envelope": envs[n], "hash": envelope_hash(envs[n]).hex()}
                            for n in ("one-recipient", "three-recipients", "many-recipients")],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
