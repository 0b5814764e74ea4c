#!/usr/bin/python3
"""Continuity for a person (issue 9, "Done means"): the kvittering belongs to the teacher, not to a device.

Real varskod, Mosquitto, agent and the `varsko` CLI. Anna enrolls her first
device (the CLI makes her user key and shows the recovery code once) and
sends an underretning; team-slagelse's agent files it. Her device is then
lost: the operator revokes it, so Anna has no device at all, online or
not. Lene sends the kvittering and the tilbagemelding anyway: they are
sealed to Anna's user key, and varskod refuses an envelope to her (revoked)
device instead. Anna enrolls a new device, which cannot read them until it
recovers the user key with her recovery code; after `varsko device recover`
her status shows both texts, decrypted, exactly as sent, and `varsko
underret show` her own copy of the underretning; as the lost device
was revoked by the operator (not in her chain), that first command also
rotates her user key and shows a new recovery code. The revoked device
cannot log in to fetch anything. Finally the test opens Anna's recovery box
itself (PyNaCl, with the code the CLI showed) to learn her user key, and
reads varskod's whole memory (/proc/PID/mem, as root) and its database:
neither holds the document's text, the kvittering's, nor any part of the
user key.
"""

import base64
import hashlib
import json
import os
import re
import struct
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402

CODE_RE = re.compile(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b")
KVITTERING = "Tak for underretningen. Vi har modtaget den og vurderer sagen – Team Slagelse."
TILBAGEMELDING = "Vi har iværksat en undersøgelse (æøå)."


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:300]!r}"


def parse(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


def memory_search(pid, needles, chunk=16 << 20, region_max=1 << 30):
    """Which needles ({name: bytes}) occur in the readable memory of process pid, and how many bytes were read.

    Read mapping by mapping in chunks (with an overlap, so nothing is missed at a chunk's edge). Mappings
    larger than region_max are reservations (a sanitizer's shadow memory), not data, and are left out."""
    found, total = set(), 0
    overlap = max(len(v) for v in needles.values())
    with open(f"/proc/{pid}/maps", encoding="ascii") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if hi - lo > region_max:
                continue
            tail = b""
            for at in range(lo, hi, chunk):
                try:
                    mem.seek(at)
                    data = mem.read(min(chunk, hi - at))
                except (OSError, ValueError, OverflowError):
                    break
                total += len(data)
                window = tail + data
                found |= {k for k, v in needles.items() if v in window}
                tail = window[-overlap:]
    return found, total


def user_key_secrets(box_json, code_text, user):
    """Open a recovery box (PROTOCOL.md 14.5) with the code; the secrets of every user-key generation in it (14.1)."""
    import nacl.bindings as nb
    import nacl.encoding
    import nacl.hash
    import nacl.pwhash
    box = json.loads(box_json)
    letters = code_text.replace("-", "").upper()
    code = base64.b32decode(letters + "=" * (-len(letters) % 8))[:16]
    key = nacl.pwhash.argon2id.kdf(32, code, base64.b64decode(box["salt"]), opslimit=box["opslimit"],
                                   memlimit=box["memlimit"])
    pt = nb.crypto_secretbox_open(base64.b64decode(box["box"]), base64.b64decode(box["nonce"]), key)
    fields, i = [], 0
    while i < len(pt):
        n = struct.unpack(">I", pt[i:i + 4])[0]
        fields.append(pt[i + 4:i + 4 + n])
        i += 4 + n
    assert fields[0] == b"varsko-recovery-v1" and fields[1] == user.encode()
    n = struct.unpack(">Q", fields[2])[0]
    out = {}
    for g, seed in enumerate(fields[3:3 + n], 1):
        def kdf(sub, seed=seed):
            return nacl.hash.blake2b(b"", digest_size=32, key=seed, salt=struct.pack("<Q", sub) + bytes(8),
                                     person=b"vskuser1" + bytes(8), encoder=nacl.encoding.RawEncoder)
        box_seed = kdf(2)
        out.update({f"generation {g} seed": seed, f"generation {g} sign seed": kdf(1),
                    f"generation {g} box seed": box_seed,
                    f"generation {g} box secret key": hashlib.sha512(box_seed).digest()[:32],
                    f"generation {g} previous-generation key": kdf(3)})
    return out


def enroll_json(fl, user, home):
    """`varsko enroll --json` for user into home: (rc, parsed answer, out, err)."""
    inv = fl.invite(user)
    rc, out, err = fl.cli(home, "enroll", "--server", fl.ws_url, "--code", inv["code"], "--ca", fl.ca,
                          "--fingerprint", inv["org_fingerprint"], "--json")
    return rc, parse(out), out, err


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=["team-slagelse"], users=["myndighed-lene"]) as fl:
        fl.setup()

        # -- Anna's first device: the user key and the recovery code --
        home_1 = fl.path("home-anna-1")
        rc, j, out, err = enroll_json(fl, "laerer-anna", home_1)
        code = (j or {}).get("recovery_code")
        if not c("anna's first device enrolls and is shown her recovery code", rc == 0 and code,
                 out_of(rc, out, err)):
            return checks.done()
        fl.homes["laerer-anna"] = home_1
        dev_1 = flowlib.Device(home_1).id

        marker = f"Unik bekymringstekst {uuid.uuid4().hex}"
        rc, rec, out, err = fl.send("laerer-anna", fl.doc(age=9, extra_text=marker))
        if not c("anna sends an underretning", rc == 0 and isinstance(rec, dict), out_of(rc, out, err)):
            return checks.done()
        ref = rec["reference"]
        c("team-slagelse's agent files it", fl.wait_filed("team-slagelse", [ref], timeout=60) == {ref})

        # -- the device is lost: revoked; Anna now has no device at all --
        rc, out, err = fl.ctl("revoke", dev_1)
        c("the operator revokes anna's only device", rc == 0, out_of(rc, out, err))
        c("anna has no active device", fl.count("devices", "user = 'laerer-anna' AND revoked_at IS NULL") == 0)

        # -- Lene sends the kvittering and the tilbagemelding while Anna has no device --
        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "kvitter", ref, "--besked", KVITTERING)
        c("lene: kvitter while the notifier has no device (sealed to her user key)", rc == 0, out_of(rc, out, err))
        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "tilbagemeld", ref, "--iværksat", "ja",
                                 "--besked", TILBAGEMELDING)
        c("lene: tilbagemeld while the notifier has no device", rc == 0, out_of(rc, out, err))
        envs = fl.q("SELECT envelope FROM events WHERE reference = ? AND kind IN ('kvitteret', 'tilbagemelding')",
                    ref)
        wraps = [w["device"] for (e,) in envs for w in json.loads(e)["wraps"]]
        c("both are sealed to anna's user key and to nothing else",
          len(envs) == 2 and wraps == ["user:laerer-anna:1", "user:laerer-anna:1"], str(wraps))

        # -- the revoked device can fetch nothing --
        rc, out, err = fl.cli(home_1, "underret", "status", ref)
        c("the lost (revoked) device is refused", rc != 0 and "device_revoked" in out + err, out_of(rc, out, err))

        # -- Anna's new device: not hers until she recovers with the code --
        home_2 = fl.path("home-anna-2")
        rc, j, out, err = enroll_json(fl, "laerer-anna", home_2)
        c("anna's new device enrolls, not yet approved (no new recovery code)",
          rc == 0 and isinstance(j, dict) and "recovery_code" not in j, out_of(rc, out, err))
        fl.homes["laerer-anna"] = home_2
        rc, j, out, err = fl.cli_json("laerer-anna", "underret", "status", ref)
        steps = {s.get("step"): s for s in (j or {}).get("steps", [])}
        c("before recovery the new device verifies the status but cannot read the kvittering",
          rc == 0 and "kvitteret" in steps and steps["kvitteret"].get("message") is None, out_of(rc, out, err))
        rc, out, err = fl.cli(home_2, "underret", "show", ref)
        c("before recovery the new device cannot open her own copy (it holds no user key yet)",
          rc != 0 and marker not in out, out_of(rc, out, err))
        rc, out, err = fl.cli(home_2, "device", "recover", "--code", code)
        c("varsko device recover with the recovery code", rc == 0, out_of(rc, out, err))
        rc, j, out, err = fl.cli_json("laerer-anna", "underret", "status", ref)
        steps = {s.get("step"): s for s in (j or {}).get("steps", [])}
        # The lost device was revoked by the operator, not in Anna's chain: the new device, now holding the
        # key, revokes it there and rotates (lazy rotation), showing a new recovery code on stderr.
        new_code = (CODE_RE.search(err) or [None])[0]
        c("the new device's next command rotates the user key (the lost device was revoked by the operator) "
          "and shows a new recovery code", "tilbagekaldt af din it-afdeling" in err and new_code and new_code != code,
          out_of(rc, out, err))
        code = new_code or code
        c("after recovery the new device reads the kvittering exactly as sent",
          steps.get("kvitteret", {}).get("message") == KVITTERING, out_of(rc, out, err))
        c("... and the tilbagemelding",
          steps.get("tilbagemelding", {}).get("message") == TILBAGEMELDING, out_of(rc, out, err))
        rc, out, err = fl.cli(home_2, "underret", "show", ref)
        c("... and her own copy of the underretning (sealed to her user key at sending), on the new device",
          rc == 0 and marker in out and "aabnet" not in out, out_of(rc, out, err)[:300])
        c("reading her own copy marks nothing as opened",
          fl.count("events", "reference = ? AND kind = 'aabnet'", ref) == 0)
        c("varskod is still running", fl.alive("varskod"))

        # -- what varskod holds: no plaintext, no user key, in memory or on disk --
        rows = fl.q("SELECT box_json FROM recovery_boxes WHERE user = 'laerer-anna'")
        secrets = user_key_secrets(rows[0][0], code, "laerer-anna") if rows else {}
        c("the test opened anna's recovery box with her (new) code: both generations of her user key",
          len(secrets) == 10, str(sorted(secrets)))
        plain = {"the document's text": marker.encode(), "the kvittering": KVITTERING.encode(),
                 "the tilbagemelding": TILBAGEMELDING.encode()}
        wanted = dict(plain, **secrets)
        db = b""
        for suffix in ("", "-wal"):
            p = fl.database + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    db += f.read()
        found = [k for k, v in wanted.items() if v in db]
        c("varskod's database (and WAL) holds none of them", db != b"" and found == [], str(found))
        if os.geteuid() == 0:
            with open(os.path.join(fl.homes["laerer-anna"], "gateway.cert"), encoding="ascii") as f:
                control = base64.b64decode(json.load(f)["sign_pk"])
            found, total = memory_search(fl.procs["varskod"][0].pid, dict(wanted, control=control))
            c(f"varskod's memory ({total // 1024} KiB read) holds none of them", total > 1 << 20 and
              not (found - {"control"}), str(sorted(found - {"control"})))
            c("... while the same scan does find what varskod does hold (its gateway certificate's key)",
              "control" in found)
        else:
            harness.log("     not root: the memory scan is left out")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
