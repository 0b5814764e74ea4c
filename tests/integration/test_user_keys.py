#!/usr/bin/python3
"""User keys on the wire (PROTOCOL.md 15) end to end: real varskod, real varskoctl, real `varsko` CLI.

A user's first device makes the user key and shows a recovery code once;
`whoami` then shows the device and user key generation 1. A second device
of the same user is enrolled but not approved until `varsko device recover`
with the recovery code (a wrong code fails in Danish, the right one works,
after which both devices list both and the second opens the user key).
Ten wrong codes lock recovery (recovery_locked) until `varskoctl recovery
unlock`. Raw frames that try to break a chain, write another user's chain,
keys or recovery box, or seal the user key to a device the chain does not
name are each refused with their code, and nothing is stored. A device
enrolled behind the clients' back is not listed as the user's, and a chain
link edited in the database makes chain_get answer bad_chain and the CLI
refuse.
"""

import calendar
import hashlib
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RawClient, b64, field, field_i64, field_u64, unb64  # noqa: E402

harness.require_modules()
import nacl.public  # noqa: E402
import nacl.signing  # noqa: E402

CODE_RE = re.compile(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b")
WRONG_CODE = "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-A"  # well-formed, 128 zero bits: never the real one
ZERO32 = bytes(32)


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:400]!r} stderr={err.strip()[:400]!r}"


def parse_json(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


# ---- PROTOCOL.md 13.3 and 14, written from the text --------------------------------

def parse_time(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def user_link_input(link):
    """The signing input of a user-chain link (13.3)."""
    op = link["op"]
    with_dev = op in ("uk_create", "device_add")
    return (field("varsko-userlink-v1") + field(link["user"]) + field_u64(link["seq"]) +
            field(unb64(link["prev"])) + field(op) + field(link.get("device", "")) +
            field(unb64(link["device_sign_pk"]) if with_dev else b"") +
            field(unb64(link["device_box_pk"]) if with_dev else b"") +
            field_u64(link.get("generation", 0)) +
            field(unb64(link["uk_sign_pk"]) if "uk_sign_pk" in link else ZERO32) +
            field(unb64(link["uk_box_pk"]) if "uk_box_pk" in link else ZERO32) +
            field_i64(parse_time(link["time"])))


def link_hash(link):
    return hashlib.sha256(user_link_input(link)).digest()


def kdf(seed, subkey, ctx=b"vskuser1"):
    """crypto_kdf_derive_from_key(32, subkey, ctx, seed) (14.1)."""
    return hashlib.blake2b(b"", digest_size=32, key=seed, salt=subkey.to_bytes(8, "little") + bytes(8),
                           person=ctx + bytes(8)).digest()


def keyset_input(s):
    """The signing input of a key box set (14.3)."""
    b = (field("varsko-keybox-v1") + field(s["owner"]) + field_u64(s["generation"]) + field(unb64(s["pub"])) +
         field(unb64(s["prev_box"]) if "prev_box" in s else b"") + field_u64(len(s["boxes"])))
    for bx in s["boxes"]:
        b += field(bx["recipient"]) + field(unb64(bx["sealed"]))
    return b


def fake_set(owner, recipients):
    """A key box set that parses but is signed by nobody in particular."""
    return {"boxes": [{"recipient": r, "sealed": b64(os.urandom(80))} for r in sorted(recipients)],
            "generation": 1, "owner": owner, "pub": b64(os.urandom(32)), "sig": b64(os.urandom(64)),
            "signer": b64(os.urandom(32))}


class Home:
    """The keys of an enrolled home (device.key, device.cert)."""

    def __init__(self, home):
        with open(os.path.join(home, "device.key"), encoding="utf-8") as f:
            k = json.load(f)
        with open(os.path.join(home, "device.cert"), encoding="utf-8") as f:
            self.cert = json.load(f)
        self.signing_key = nacl.signing.SigningKey(unb64(k["sign_sk"])[:32])
        self.box_sk = nacl.public.PrivateKey(unb64(k["box_sk"]))
        self.id = self.cert["device"]
        self.user = self.cert["user"]


async def request(cl, frame):
    """Send a frame and return the answer to it (pushes skipped); a close gives {"type": "closed"}."""
    try:
        await cl.send(frame)
        while True:
            a = await cl.recv()
            if "id" in a or a.get("type") == "error":
                return a
    except harness.Closed as e:
        return {"type": "closed", "code": e.code}


def main():
    checks = harness.Checks()
    c = checks.check
    doc = harness.load_demo()
    users = [u for u in harness.demo_users(doc) if u[0] and u[2]]
    if len(users) < 2:
        harness.skip("the demo document has fewer than two users")
    u1, u2 = users[0][0], users[1][0]

    with harness.Env() as env:
        env.make_certs()
        env.write_config()
        ca, url = env.ca, env.ws_url
        for args in (("init",), ("import", harness.demo_file())):
            rc, out, err = env.ctl(*args)
            if not c(f"varskoctl {args[0]}", rc == 0, out_of(rc, out, err)):
                return checks.done()
        env.start_varskod()

        def enroll(home, user, *extra):
            inv = env.invite(user)
            return env.cli(home, "enroll", "--server", url, "--code", inv["code"], "--fingerprint",
                           inv["org_fingerprint"], *extra, ca=ca)

        # -- the first device makes the user key and shows the recovery code once --
        home_a, home_b, home_c = env.path("home-a"), env.path("home-b"), env.path("home-c")
        rc, out, err = enroll(home_a, u1)
        m = CODE_RE.search(out)
        c("first device: enroll succeeds and prints a recovery code with the Danish instruction",
          rc == 0 and m is not None and "gendannelseskode" in out and "kun denne ene gang" in out,
          out_of(rc, out, err))
        code = m.group(0) if m else None
        if code is None:
            return checks.done()
        c("the recovery code is not kept in the home",
          not any(code in open(os.path.join(home_a, f), errors="replace").read()
                  for f in os.listdir(home_a) if os.path.isfile(os.path.join(home_a, f))))
        c("no setup is left pending in the home", not os.path.exists(os.path.join(home_a, "userkey.pending")))
        a = Home(home_a)
        rc, out, err = env.cli(home_a, "whoami")
        c("whoami of the first device shows the device and user key generation 1",
          rc == 0 and a.id in out and "generation 1" in out, out_of(rc, out, err))
        rc, out, err = env.cli(home_a, "whoami", "--json")
        j = parse_json(out) or {}
        uk = j.get("user_key") or {}
        c("whoami --json: state ok, generation 1, the device holds the user key, no new code",
          rc == 0 and uk.get("state") == "ok" and j.get("user_key_generation") == 1 and
          uk.get("holds_user_key") is True and "recovery_code" not in j, out_of(rc, out, err))

        # Another user's first device, with --json.
        home_u2 = env.path("home-u2")
        rc, out, err = enroll(home_u2, u2, "--json")
        j = parse_json(out) or {}
        c("enroll --json of another user's first device has recovery_code and user_key_state ok",
          rc == 0 and CODE_RE.fullmatch(j.get("recovery_code", "")) is not None and
          j.get("user_key_state") == "ok", out_of(rc, out, err))

        # -- a second device of the same user is not approved until recovered --
        rc, out, err = enroll(home_b, u1)
        c("second device: enrolled, but not approved as the user's (Danish, names device recover)",
          rc == 0 and "ikke godkendt" in out and "device recover" in out and not CODE_RE.search(out),
          out_of(rc, out, err))
        b = Home(home_b)
        rc, out, err = env.cli(home_b, "whoami", "--json")
        j = parse_json(out) or {}
        c("whoami --json of the second device: not_cross_signed, no user key",
          rc == 0 and (j.get("user_key") or {}).get("state") == "not_cross_signed" and
          j.get("user_key_generation") == 0, out_of(rc, out, err))
        rc, out, err = env.cli(home_b, "device", "recover", "--code", WRONG_CODE)
        c("device recover with a wrong code fails in Danish (crypto, exit != 0)",
          rc != 0 and "crypto" in err and "passer ikke" in err, out_of(rc, out, err))
        rc, out, err = env.cli(home_b, "device", "recover", "--code", "not-a-code")
        c("device recover with something that is no code: bad_input, no try used",
          rc != 0 and "bad_input" in err and "Intet forsøg" in err, out_of(rc, out, err))
        # The right code on stdin (as a person types it: lower case, spaces).
        r = subprocess.run([env.cli_bin, "device", "recover"], input=code.lower().replace("-", " ") + "\n",
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "VARSKO_HOME": home_b, "HOME": env.tmp})
        c("device recover with the right code on stdin works and does not echo it",
          r.returncode == 0 and "godkendt" in r.stdout and "generation 1" in r.stdout and
          code not in r.stdout + r.stderr, out_of(r.returncode, r.stdout, r.stderr))
        # A new device shows as a notice on the user's other device, once.
        rc, out, err = env.cli(home_a, "whoami")
        c("the first device's next command tells (on stderr, in Danish) that a new device was added",
          rc == 0 and b.id in err and "ny enhed" in err and "it-afdeling" in err, out_of(rc, out, err))
        rc, out, err = env.cli(home_a, "whoami")
        c("... and only once", rc == 0 and "ny enhed" not in err, out_of(rc, out, err))
        rc, out, err = env.cli(home_b, "whoami")
        c("the device that added itself is not told about itself", rc == 0 and "ny enhed" not in err,
          out_of(rc, out, err))
        for name, home in (("first", home_a), ("second", home_b)):
            rc, out, err = env.cli(home, "device", "list", "--json")
            j = parse_json(out) or {}
            devs = {d.get("device"): d for d in j.get("devices", [])}
            c(f"device list on the {name} device lists both devices, each with a key box",
              rc == 0 and set(devs) == {a.id, b.id} and all(d.get("key_box") and d.get("certified")
                                                           for d in devs.values()), out_of(rc, out, err))
        rc, out, err = env.cli(home_b, "whoami")
        c("whoami of the second device: it opens the user key (generation 1) and lists both devices",
          rc == 0 and "generation 1" in out and a.id in out and b.id in out, out_of(rc, out, err))
        rc, out, err = env.cli(home_b, "device", "recover", "--code", code)
        c("recovering a device that is already the user's changes nothing",
          rc == 0 and "allerede" in out, out_of(rc, out, err))
        rc, out, err = env.cli(home_b, "device", "list")
        c("device list (text) shows both devices and marks this one",
          rc == 0 and a.id in out and b.id in out and "denne enhed" in out, out_of(rc, out, err))
        rc, out, err = env.cli(home_b, "device", "--help")
        c("varsko device --help lists recover and list", rc == 0 and "device recover" in out and
          "device list" in out, out_of(rc, out, err))

        # -- ten wrong codes lock recovery until the operator unlocks it --
        rc, out, err = enroll(home_c, u1)
        c("third device enrolled, not approved", rc == 0 and "ikke godkendt" in out, out_of(rc, out, err))
        wrong = []
        for _ in range(10):
            rc, out, err = env.cli(home_c, "device", "recover", "--code", WRONG_CODE)
            wrong.append((rc, "crypto" in err))
        c("ten wrong codes each fail with crypto", all(rc != 0 and cr for rc, cr in wrong), str(wrong))
        rc, out, err = env.cli(home_c, "device", "recover", "--code", code)
        c("then even the right code is refused: recovery_locked (Danish)",
          rc != 0 and "recovery_locked" in err and "spærret" in err, out_of(rc, out, err))
        rc, out, err = env.ctl("recovery", "unlock", u1)
        c("varskoctl recovery unlock", rc == 0, out_of(rc, out, err))
        rc, out, err = env.cli(home_c, "device", "recover", "--code", code)
        c("after the unlock the right code works", rc == 0 and "godkendt" in out, out_of(rc, out, err))
        cdev = Home(home_c)

        # -- a device inserted behind the clients' back --
        inv_e = env.invite(u1)
        sk_e = nacl.signing.SigningKey.generate()
        box_e = nacl.public.PrivateKey.generate()
        dev_e = harness.device_id(bytes(sk_e.verify_key))

        async def enroll_confirm():
            async with RawClient(url, ca) as cl:
                ans = await cl.enroll(inv_e["code"], sk_e, bytes(box_e.public_key), label="ghost")
                if ans.get("type") != "enrolled":
                    return ans
                return await cl.confirm(sk_e)
        ans = harness.run(enroll_confirm())
        c("a raw enroll + enroll_confirm of a device for the same user is confirmed",
          ans.get("type") == "confirmed", json.dumps(ans)[:200])
        rc, out, err = env.ctl("devices", "--json")
        rows = parse_json(out) or []
        c("varskoctl lists it as an active device of the user",
          any(d.get("device") == dev_e and d.get("user") == u1 and not d.get("revoked") and not d.get("pending")
              for d in rows), out_of(rc, out, err))
        rc, out, err = env.cli(home_a, "device", "list", "--json")
        j = parse_json(out) or {}
        listed = [d.get("device") for d in j.get("devices", [])]
        c("device list does not list it as the user's device (the chain never named it)",
          rc == 0 and dev_e not in listed and set(listed) == {a.id, b.id, cdev.id}, out_of(rc, out, err))

        # -- raw frames: each refused with its code, nothing stored --
        async def attacks():
            res = {}
            async with RawClient(url, ca) as cl:
                s = await cl.login(a.id, a.signing_key)
                res["login"] = s.get("type")
                ch = await request(cl, {"type": "chain_get", "id": "g1", "kind": "user", "chain": u1})
                ks = await request(cl, {"type": "keys_get", "id": "g2", "owner": "user:" + u1})
                res["before"] = (ch.get("links"), ks.get("sets"))
                links = ch.get("links") or []
                if not links:
                    return res
                head = links[-1]
                # The encoder of 13.3 written here agrees with the chain: the head's signature verifies.
                try:
                    nacl.signing.VerifyKey(unb64(head["sigs"][0]["pk"])).verify(
                        user_link_input(head), unb64(head["sigs"][0]["sig"]))
                    res["encoder"] = True
                except Exception:  # noqa: BLE001
                    res["encoder"] = False
                cur = {}
                for ln in links:
                    if "uk_sign_pk" in ln:
                        cur = {"uk_sign_pk": ln["uk_sign_pk"], "uk_box_pk": ln["uk_box_pk"]}

                def add_link(prev, seq, chain=u1):
                    return {"op": "device_add", "user": chain, "seq": seq, "prev": b64(prev), "device": dev_e,
                            "device_sign_pk": b64(bytes(sk_e.verify_key)),
                            "device_box_pk": b64(bytes(box_e.public_key)), "time": harness.fmt_time(time.time()),
                            "sigs": []}

                bad_prev = add_link(os.urandom(32), head["seq"] + 1)
                bad_prev["sigs"] = [{"pk": cur["uk_sign_pk"], "sig": b64(os.urandom(64))}]
                res["bad_prev"] = await request(cl, {"type": "chain_append", "id": "a1", "kind": "user",
                                                     "chain": u1, "link": bad_prev})
                bad_sig = add_link(link_hash(head), head["seq"] + 1)
                bad_sig["sigs"] = [{"pk": cur["uk_sign_pk"], "sig": b64(os.urandom(64))}]
                res["bad_sig"] = await request(cl, {"type": "chain_append", "id": "a2", "kind": "user",
                                                    "chain": u1, "link": bad_sig})
                by_dev = add_link(link_hash(head), head["seq"] + 1)
                by_dev["sigs"] = [{"pk": b64(bytes(a.signing_key.verify_key)),
                                   "sig": b64(a.signing_key.sign(user_link_input(by_dev)).signature)}]
                res["by_device"] = await request(cl, {"type": "chain_append", "id": "a3", "kind": "user",
                                                      "chain": u1, "link": by_dev})
                other = add_link(ZERO32, 1, chain=u2)
                other["sigs"] = [{"pk": cur["uk_sign_pk"], "sig": b64(os.urandom(64))}]
                res["other_chain"] = await request(cl, {"type": "chain_append", "id": "a4", "kind": "user",
                                                        "chain": u2, "link": other})
                res["other_keys"] = await request(cl, {"type": "keys_put", "id": "k1",
                                                       "set": fake_set("user:" + u2, ["device:" + a.id])})
                # A set signed by the real user key (opened from this device's own box) that also seals
                # the key to the device the chain does not name.
                mine = next(s for s in ks["sets"] if s["generation"] == len(
                    [ln for ln in links if ln["op"] in ("uk_create", "uk_rotate")]))
                box = next(bx for bx in mine["boxes"] if bx["recipient"] == "device:" + a.id)
                seed = nacl.public.SealedBox(a.box_sk).decrypt(unb64(box["sealed"]))
                uk_sign = nacl.signing.SigningKey(kdf(seed, 1))
                res["uk_derived"] = b64(bytes(uk_sign.verify_key)) == cur["uk_sign_pk"]
                ghost_box = nacl.public.SealedBox(box_e.public_key).encrypt(seed)
                st = {k: v for k, v in mine.items() if k not in ("sig",)}
                st["boxes"] = sorted(mine["boxes"] + [{"recipient": "device:" + dev_e, "sealed": b64(ghost_box)}],
                                     key=lambda x: x["recipient"].encode())
                st["sig"] = b64(uk_sign.sign(keyset_input(st)).signature)
                res["ghost_keys"] = await request(cl, {"type": "keys_put", "id": "k2", "set": st})
                res["other_recovery"] = await request(cl, {"type": "recovery_put", "id": "r1", "box": {
                    "user": u2, "salt": b64(os.urandom(16)), "opslimit": 2, "memlimit": 67108864,
                    "nonce": b64(os.urandom(24)), "box": b64(os.urandom(64))}})
                ch2 = await request(cl, {"type": "chain_get", "id": "g3", "kind": "user", "chain": u1})
                ks2 = await request(cl, {"type": "keys_get", "id": "g4", "owner": "user:" + u1})
                res["after"] = (ch2.get("links"), ks2.get("sets"))
                res["u2_chain"] = (await request(cl, {"type": "chain_get", "id": "g5", "kind": "user",
                                                      "chain": u2})).get("links")
            return res

        def rec_u2():
            db = env.db()
            try:
                return db.execute("SELECT box_json, tries FROM recovery_boxes WHERE user = ?", (u2,)).fetchall()
            finally:
                db.close()

        rec_before = rec_u2()
        u2_links_before = None
        try:
            res = harness.run(attacks())
        except Exception as e:  # noqa: BLE001
            res = {}
            c("raw attacks ran", False, repr(e))
        c("raw client logged in as the first device", res.get("login") == "session", str(res.get("login")))
        c("the test's encoder of 13.3 verifies the chain's head", res.get("encoder") is True)

        def code_of(key):
            return (res.get(key) or {}).get("code")
        for key, want, what in (("bad_prev", "bad_chain", "chain_append with a broken prev"),
                                ("bad_sig", "bad_signature", "chain_append with a bad signature"),
                                ("by_device", "bad_signature", "device_add signed by a device, not the user key"),
                                ("other_chain", "forbidden", "chain_append to another user's chain"),
                                ("other_keys", "forbidden", "keys_put for another owner"),
                                ("ghost_keys", "not_cross_signed",
                                 "keys_put with a recipient the chain does not name"),
                                ("other_recovery", "forbidden", "recovery_put for another user")):
            c(f"{what}: {want}", code_of(key) == want, json.dumps(res.get(key))[:300])
        c("the user key derived from this device's box is the chain's", res.get("uk_derived") is True)
        before, after = res.get("before"), res.get("after")
        c("nothing stored: the chain and the key box sets are unchanged",
          before is not None and before[0] and before == after, f"{str(before)[:200]} / {str(after)[:200]}")
        u2_links_before = res.get("u2_chain")
        c("nothing stored: the other user's chain has only its own first link",
          isinstance(u2_links_before, list) and len(u2_links_before) == 1, str(u2_links_before)[:200])
        c("nothing stored: the other user's recovery box is unchanged", rec_u2() == rec_before and rec_before,
          str(rec_before)[:100])

        # -- a setup that broke off after uk_create: whoami completes it from the seeds kept in the home --
        u3 = users[2][0] if len(users) > 2 else None
        if u3 is not None:
            home_d, home_f = env.path("home-d"), env.path("home-f")
            rc, out, err = enroll(home_d, u3)
            m = CODE_RE.search(out)
            c("a third user's first device enrolls with a code", rc == 0 and m is not None, out_of(rc, out, err))
            old_code = m.group(0) if m else ""
            d = Home(home_d)

            async def own_seed():
                async with RawClient(url, ca) as cl:
                    await cl.login(d.id, d.signing_key)
                    ks = await request(cl, {"type": "keys_get", "id": "k", "owner": "user:" + u3})
                    box = ks["sets"][0]["boxes"][0]
                    return nacl.public.SealedBox(d.box_sk).decrypt(unb64(box["sealed"]))
            seed = harness.run(own_seed())
            db = env.db()
            try:
                db.execute("DELETE FROM key_sets WHERE owner = ?", ("user:" + u3,))
                db.execute("DELETE FROM recovery_boxes WHERE user = ?", (u3,))
                db.commit()
            finally:
                db.close()
            fd = os.open(os.path.join(home_d, "userkey.pending"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps({"recovery": True, "seeds": [b64(seed)], "user": u3}) + "\n")
            rc, out, err = env.cli(home_d, "whoami")
            m = CODE_RE.search(out)
            c("whoami completes a broken-off setup: key box set again, a new recovery code shown once",
              rc == 0 and m is not None and m.group(0) != old_code and "generation 1" in out and
              not os.path.exists(os.path.join(home_d, "userkey.pending")), out_of(rc, out, err))
            new_code = m.group(0) if m else ""
            rc, out, err = env.cli(home_d, "whoami")
            c("the next whoami has nothing left to do (no code)", rc == 0 and not CODE_RE.search(out) and
              "generation 1" in out, out_of(rc, out, err))
            enroll(home_f, u3)
            rc, out, err = env.cli(home_f, "device", "recover", "--code", new_code)
            c("a new device of that user recovers with the new code", rc == 0 and "generation 1" in out,
              out_of(rc, out, err))

        # -- a chain link edited in the database --
        db = env.db()
        try:
            row = db.execute("SELECT link_json FROM chain_links WHERE kind = 'user' AND chain = ? AND seq = 2",
                             (u1,)).fetchone()
            orig = row[0] if row else None
            if orig:
                link = json.loads(orig)
                t = parse_time(link["time"]) - 3600
                link["time"] = harness.fmt_time(t)
                db.execute("UPDATE chain_links SET link_json = ? WHERE kind = 'user' AND chain = ? AND seq = 2",
                           (json.dumps(link, separators=(",", ":"), sort_keys=True), u1))
                db.commit()
        finally:
            db.close()
        c("a link of the chain was edited in the database", orig is not None)

        async def get_chain():
            async with RawClient(url, ca) as cl:
                await cl.login(a.id, a.signing_key)
                return await request(cl, {"type": "chain_get", "id": "g1", "kind": "user", "chain": u1})
        ans = harness.run(get_chain())
        c("chain_get of the edited chain: bad_chain", ans.get("code") == "bad_chain", json.dumps(ans)[:200])
        rc, out, err = env.cli(home_b, "device", "list")
        c("device list refuses the edited chain with a clear message",
          rc != 0 and "bad_chain" in err and "tampered" in err, out_of(rc, out, err))
        rc, out, err = env.cli(home_a, "whoami")
        c("whoami refuses the edited chain too", rc != 0 and "bad_chain" in err, out_of(rc, out, err))
        home_g = env.path("home-g")
        rc, out, err = enroll(home_g, u1)
        c("enroll while the chain is broken: the enrollment stands, the setup failure is explained",
          rc == 0 and "Enheden er tilmeldt" in out and "bad_chain" in err and "står ved magt" in err and
          "varsko whoami" in err, out_of(rc, out, err))
        if orig:
            db = env.db()
            try:
                db.execute("UPDATE chain_links SET link_json = ? WHERE kind = 'user' AND chain = ? AND seq = 2",
                           (orig, u1))
                db.commit()
            finally:
                db.close()
            rc, out, err = env.cli(home_a, "device", "list")
            c("restored, the chain verifies again", rc == 0 and b.id in out, out_of(rc, out, err))
            rc, out, err = env.cli(home_g, "whoami")
            c("whoami of the device enrolled meanwhile: not yet approved, no new user key",
              rc == 0 and "ikke godkendt" in out and not CODE_RE.search(out), out_of(rc, out, err))

        # A chain the server takes back (its last link deleted): the server's shorter chain still
        # verifies, but the devices remember what they saw and refuse it.
        db = env.db()
        try:
            last = db.execute("SELECT max(seq) FROM chain_links WHERE kind = 'user' AND chain = ?", (u1,)).fetchone()[0]
            db.execute("DELETE FROM chain_links WHERE kind = 'user' AND chain = ? AND seq = ?", (u1, last))
            db.commit()
        finally:
            db.close()
        rc, out, err = env.cli(home_a, "whoami")
        c("a chain taken back by the server is refused by a device that saw it (bad_chain, went backwards)",
          rc != 0 and "bad_chain" in err and "backwards" in err, out_of(rc, out, err))

        c("varskod is still running", env.alive("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
