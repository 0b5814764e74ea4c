#!/usr/bin/python3
"""Enrollment and login end to end: real varskod, real varskoctl, real `varsko` CLI.

The walking skeleton's "Done means": two demo users enroll two devices with
one-time codes and `varsko whoami` shows who they are; used, unknown and
expired codes are refused with their own error; a revoked device is refused
while another keeps working; bad signatures, malformed JSON, unknown frame
types and oversize frames get the documented answers and close codes; the
server keeps serving; the audit chain verifies and holds every event; key
files are private; and no demo user's name reaches the daemon's log.
"""

import json
import os
import random
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Closed, RawClient, find_key  # noqa: E402

harness.require_modules()
import nacl.public  # noqa: E402
import nacl.signing  # noqa: E402

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:300]!r}"


def unknown_code_like(code):
    """A code of the same shape as `code` (same separators) with fresh random characters."""
    rnd = random.SystemRandom()
    return "".join(rnd.choice(CODE_ALPHABET) if ch.isalnum() else ch for ch in code)


def expire_latest_invite(env):
    """Move the expiry of the newest invite one hour into the past.

    The schema is the store's business, so this finds the invite table (a
    table whose name contains "invite" with an "expires..." column) instead of
    naming it. Returns a description of what was changed, or None.
    """
    db = env.db()
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            if "invite" not in t.lower():
                continue
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{t}")')]
            exp = [c for c in cols if c.lower().startswith("expires")]
            if not exp:
                continue
            col = exp[0]
            row = db.execute(f'SELECT rowid, "{col}" FROM "{t}" ORDER BY rowid DESC LIMIT 1').fetchone()
            if row is None:
                return None
            past = int(time.time()) - 3600
            value = past if isinstance(row[1], int) else harness.fmt_time(past)
            db.execute(f'UPDATE "{t}" SET "{col}" = ? WHERE rowid = ?', (value, row[0]))
            db.commit()
            return f"{t}.{col}"
    finally:
        db.close()
    return None


def main():
    checks = harness.Checks()
    c = checks.check
    doc = harness.load_demo()
    users = [u for u in harness.demo_users(doc) if u[0] and u[2]]
    if len(users) < 2:
        harness.skip("the demo document has fewer than two users")
    # Two users with different roles when the demo has them.
    u1 = users[0]
    u2 = next((u for u in users[1:] if u[2] != u1[2]), users[1])

    with harness.Env() as env:
        env.make_certs()
        env.write_config(max_frame=65536, handshake_timeout=10)
        ca = env.ca
        url = env.ws_url

        rc, out, err = env.ctl("init")
        c("varskoctl init", rc == 0, out_of(rc, out, err))
        if rc != 0:
            return checks.done()
        rc, out, err = env.ctl("init")
        c("varskoctl init refuses to run twice", rc != 0, out_of(rc, out, err))
        rc, out, err = env.ctl("import", harness.demo_file())
        c("varskoctl import of the demo", rc == 0, out_of(rc, out, err))
        rc, out, err = env.ctl("import", harness.demo_file())
        c("varskoctl import again (idempotent)", rc == 0, out_of(rc, out, err))

        for key in ("org.key", "gateway.key"):
            p = os.path.join(env.state, key)
            mode = os.stat(p).st_mode & 0o777 if os.path.exists(p) else None
            c(f"{key} written by init is mode 0600", mode == 0o600, f"mode {mode and oct(mode)}")

        env.start_varskod()
        harness.log(f"varskod on {url}")

        inv1 = env.invite(u1[0])
        inv2 = env.invite(u2[0])
        c("invite --json has user, code, expires, org_fingerprint",
          all(k in inv1 for k in ("user", "code", "expires", "org_fingerprint")) and inv1["user"] == u1[0],
          json.dumps(sorted(inv1)))
        c("two invites give two different codes", inv1["code"] != inv2["code"])

        home1 = env.path("home1")
        home2 = env.path("home2")
        rc, out, err = env.cli(home1, "enroll", "--server", url, "--code", inv1["code"], "--ca", ca,
                               "--fingerprint", inv1["org_fingerprint"], "--label", "laptop-1")
        c(f"enroll device 1 ({u1[2]}) with --ca and --fingerprint", rc == 0, out_of(rc, out, err))
        rc, out, err = env.cli(home2, "enroll", "--server", url, "--code", inv2["code"], ca=ca)
        c(f"enroll device 2 ({u2[2]}) with VARSKO_CA", rc == 0, out_of(rc, out, err))

        devices = {}
        for n, home, (uid, _name, role) in ((1, home1, u1), (2, home2, u2)):
            rc, out, err = env.cli(home, "whoami")
            c(f"whoami device {n} shows user {uid} and role {role}",
              rc == 0 and uid in out and role in out, out_of(rc, out, err))
            rc, out, err = env.cli(home, "whoami", "--json")
            try:
                j = json.loads(out)
            except ValueError:
                j = None
            c(f"whoami --json device {n} parses", j is not None, out_of(rc, out, err))
            if j is not None:
                c(f"whoami --json device {n}: user and role",
                  find_key(j, "user") == uid and find_key(j, "role") == role,
                  f"user={find_key(j, 'user')!r} role={find_key(j, 'role')!r}")
                devices[n] = find_key(j, "device")
            key = os.path.join(home, "device.key")
            mode = os.stat(key).st_mode & 0o777 if os.path.exists(key) else None
            c(f"VARSKO_HOME {n}/device.key is mode 0600", mode == 0o600, f"mode {mode and oct(mode)}")
            hmode = os.stat(home).st_mode & 0o777
            c(f"VARSKO_HOME {n} is mode 0700", hmode == 0o700, oct(hmode))
        c("the two devices have different ids",
          devices.get(1) and devices.get(2) and devices[1] != devices[2], str(devices))

        # -- refused codes --
        rc, out, err = env.cli(env.path("home3"), "enroll", "--server", url, "--code", inv1["code"], ca=ca)
        c("a used code is refused with code_used", rc != 0 and "code_used" in out + err, out_of(rc, out, err))
        rc, out, err = env.cli(env.path("home4"), "enroll", "--server", url,
                               "--code", unknown_code_like(inv1["code"]), ca=ca)
        c("an unknown code is refused with code_unknown", rc != 0 and "code_unknown" in out + err,
          out_of(rc, out, err))
        inv_exp = env.invite(u1[0])
        where = expire_latest_invite(env)
        c("the newest invite's expiry moved into the past", where is not None, "no invite table found")
        rc, out, err = env.cli(env.path("home5"), "enroll", "--server", url, "--code", inv_exp["code"], ca=ca)
        c("an expired code is refused with code_expired", rc != 0 and "code_expired" in out + err,
          out_of(rc, out, err))

        # -- enrollment without ghosts: nothing is active on the server until the client stored its certificate --
        u3 = next((u for u in users if u not in (u1, u2)), u1)

        def server_side(user):
            """{device: "active" | "revoked" | "pending"} of user by `varskoctl devices --json`."""
            rc, out, err = env.ctl("devices", "--json")
            try:
                rows = json.loads(out)
            except ValueError:
                return None
            return {d["device"]: "pending" if d.get("pending") else "revoked" if d.get("revoked") else "active"
                    for d in rows if d.get("user") == user}

        before = server_side(u3[0]) or {}
        inv_g = env.invite(u3[0])
        wrong = "0000-0000-0000-0000-0000-0000-0000-0000"
        home_g = env.path("home-ghost")
        rc, out, err = env.cli(home_g, "enroll", "--server", url, "--code", inv_g["code"], "--fingerprint", wrong,
                               ca=ca)
        c("enroll with a wrong fingerprint is refused (bad_cert) and says nothing was sent",
          rc != 0 and "bad_cert" in out + err and inv_g["org_fingerprint"] in out + err, out_of(rc, out, err))
        c("... and leaves no device and no pending enrollment on the server", server_side(u3[0]) == before,
          f"{server_side(u3[0])} before {before}")
        c("... and no key in the home", not os.path.exists(os.path.join(home_g, "device.key")))

        # A client that enrolls and then loses its connection before it confirms.
        sk_g = nacl.signing.SigningKey.generate()
        box_g = nacl.public.PrivateKey.generate()
        dev_g = harness.device_id(bytes(sk_g.verify_key))

        async def enroll_no_confirm():
            async with RawClient(url, ca) as cl:
                return await cl.enroll(inv_g["code"], sk_g, bytes(box_g.public_key), label="ghost")

        async def login_as(dev, key):
            async with RawClient(url, ca) as cl:
                return await cl.login(dev, key)

        async def confirm_fresh(key):
            async with RawClient(url, ca) as cl:
                ans = await cl.confirm(key)
                code, _ = await cl.wait_closed()
                return ans, code
        try:
            ans = harness.run(enroll_no_confirm())
            c("a raw enroll answered enrolled", ans.get("type") == "enrolled", json.dumps(ans)[:200])
            time.sleep(0.3)
            c("the unconfirmed enrollment is pending, not a device", server_side(u3[0]).get(dev_g) == "pending",
              str(server_side(u3[0])))
            ans = harness.run(login_as(dev_g, sk_g))
            c("a pending device cannot log in (device_pending)", ans.get("code") == "device_pending", str(ans))
            # The code is still usable: the CLI enrolls with the fingerprint and replaces the pending one.
            rc, out, err = env.cli(home_g, "enroll", "--server", url, "--code", inv_g["code"],
                                   "--fingerprint", inv_g["org_fingerprint"], ca=ca)
            c("the same code works after the broken enrollment", rc == 0, out_of(rc, out, err))
            side = server_side(u3[0])
            c("the broken attempt is gone, the new device is active",
              dev_g not in side and list(side.values()).count("active") == list(before.values()).count("active") + 1,
              str(side))
            ans, code = harness.run(confirm_fresh(sk_g))
            c("the replaced attempt can no longer be confirmed (unknown_device, close 1008)",
              ans.get("code") == "unknown_device" and code == 1008, f"{ans} close {code}")
            rc, out, err = env.cli(home_g, "whoami")
            c("the CLI's new device works", rc == 0 and u3[0] in out, out_of(rc, out, err))
        except Exception as e:  # noqa: BLE001
            c("broken enrollment", False, repr(e))

        # A client that stored its certificate and crashed before confirming: the next command confirms.
        inv_c = env.invite(u3[0])
        sk_c = nacl.signing.SigningKey.generate()
        box_c = nacl.public.PrivateKey.generate()
        dev_c = harness.device_id(bytes(sk_c.verify_key))

        async def enroll_store_crash():
            async with RawClient(url, ca) as cl:
                return cl.hello, await cl.enroll(inv_c["code"], sk_c, bytes(box_c.public_key), label="crash")
        try:
            hello, ans = harness.run(enroll_store_crash())
            home_c = env.path("home-crash")
            os.makedirs(home_c, mode=0o700)
            files = {
                "device.key": json.dumps({"sign_sk": harness.b64(sk_c._signing_key),
                                          "box_sk": harness.b64(bytes(box_c))}, separators=(",", ":")) + "\n",
                "device.cert": json.dumps(ans["cert"], separators=(",", ":"), sort_keys=True) + "\n",
                "gateway.cert": json.dumps(ans["gateway_cert"], separators=(",", ":"), sort_keys=True) + "\n",
                "org.pub": ans["org_pk"] + "\n",
                "server": url + "\n",
                "ca.pem": open(ca).read(),
            }
            for name, text in files.items():
                fd = os.open(os.path.join(home_c, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(text)
            c("hello's org_pk is the enrolled frame's", hello.get("org_pk") == ans.get("org_pk"))
            c("stored but unconfirmed: pending on the server", server_side(u3[0]).get(dev_c) == "pending",
              str(server_side(u3[0])))
            rc, out, err = env.cli(home_c, "whoami")
            c("the next command confirms the stored device and logs in", rc == 0 and u3[0] in out,
              out_of(rc, out, err))
            c("... and the device is active", server_side(u3[0]).get(dev_c) == "active", str(server_side(u3[0])))
            ans2, code = harness.run(confirm_fresh(sk_c))
            c("a confirmation repeated after success is answered confirmed again",
              ans2.get("type") == "confirmed" and code == 1000, f"{ans2} close {code}")
        except Exception as e:  # noqa: BLE001
            c("stored-then-crashed enrollment", False, repr(e))

        # -- a device enrolled and logged in by the raw client (own signatures) --
        inv_raw = env.invite(u2[0])
        sk = nacl.signing.SigningKey.generate()
        box = nacl.public.PrivateKey.generate()
        raw_dev = harness.device_id(bytes(sk.verify_key))

        async def raw_enroll():
            async with RawClient(url, ca) as cl:
                sub = cl.subprotocol
                ans = await cl.enroll(inv_raw["code"], sk, bytes(box.public_key), label="raw")
                conf = await cl.confirm(sk)
                code, _ = await cl.wait_closed()
                return sub, ans, conf, code
        try:
            sub, ans, conf, code = harness.run(raw_enroll())
            c("subprotocol varsko.v1 negotiated", sub == "varsko.v1", repr(sub))
            cert = ans.get("cert") or {}
            c("raw enroll -> enrolled with a certificate for the user and our device id",
              ans.get("type") == "enrolled" and cert.get("user") == u2[0] and cert.get("device") == raw_dev,
              json.dumps(ans)[:300])
            org_pk = ans.get("org_pk")
            c("org_pk fingerprint equals the invite's org_fingerprint",
              org_pk is not None and harness.fingerprint(harness.unb64(org_pk)) == inv_raw["org_fingerprint"])
            c("enroll_confirm -> confirmed with the same certificate",
              conf.get("type") == "confirmed" and conf.get("cert") == ans.get("cert"), json.dumps(conf)[:300])
            c("connection closed 1000 after confirmed", code == 1000, f"close {code}")
        except Exception as e:  # noqa: BLE001 - a check, not a crash
            c("raw enroll", False, repr(e))

        async def raw_session():
            res = {}
            async with RawClient(url, ca) as cl:
                res["login"] = await cl.login(raw_dev, sk)
                res["whoami"] = await cl.request({"type": "whoami", "id": "w1"})
                res["bad_json"] = await cl.request_text('{"type":"ping","id":')
                res["ping1"] = await cl.request({"type": "ping", "id": "p1"})
                res["unknown"] = await cl.request({"type": "no_such_type", "id": "u1"})
                res["dup"] = await cl.request_text('{"type":"ping","type":"ping"}')
                res["ping2"] = await cl.request({"type": "ping", "id": "p2"})
                await cl.send_text('{"type":"ping","id":"' + "x" * 70000 + '"}')
                try:
                    extra = await cl.recv()
                    res["oversize"] = ("frame", extra)
                    res["oversize_close"] = await cl.wait_closed()
                except Closed as e:
                    res["oversize_close"] = (e.code, e.reason)
            return res

        try:
            r = harness.run(raw_session())
            c("raw login with a valid signature -> session",
              r["login"].get("type") == "session" and r["login"].get("id") == "l1", json.dumps(r["login"])[:300])
            c("whoami -> session with our certificate",
              r["whoami"].get("type") == "session" and find_key(r["whoami"], "device") == raw_dev
              and r["whoami"].get("id") == "w1", json.dumps(r["whoami"])[:300])
            c("malformed JSON -> error bad_json", r["bad_json"].get("code") == "bad_json", str(r["bad_json"]))
            c("connection usable after bad_json (ping -> pong)",
              r["ping1"].get("type") == "pong" and r["ping1"].get("id") == "p1", str(r["ping1"]))
            c("unknown type -> error unknown_type echoing the id",
              r["unknown"].get("code") == "unknown_type" and r["unknown"].get("id") == "u1", str(r["unknown"]))
            c("duplicate key -> error duplicate_key", r["dup"].get("code") == "duplicate_key", str(r["dup"]))
            c("connection usable after errors (ping -> pong)", r["ping2"].get("type") == "pong", str(r["ping2"]))
            c("oversize frame -> close 1009", r["oversize_close"][0] == 1009, str(r["oversize_close"]))
        except Exception as e:  # noqa: BLE001
            c("raw session", False, repr(e))

        # -- a login with a bad signature --
        async def bad_sig():
            async with RawClient(url, ca) as cl:
                ans = await cl.login(devices.get(2) or "d-0000000000000000", nacl.signing.SigningKey.generate())
                code, _ = await cl.wait_closed()
                return ans, code
        try:
            ans, code = harness.run(bad_sig())
            c("login with a bad signature -> error bad_signature", ans.get("code") == "bad_signature", str(ans))
            c("... and close 1008", code == 1008, f"close {code}")
        except Exception as e:  # noqa: BLE001
            c("bad-signature login", False, repr(e))

        # -- the other login refusals, each on its own connection --
        async def refused_login(**kw):
            async with RawClient(url, ca) as cl:
                ans = await cl.login(**kw)
                code, _ = await cl.wait_closed()
                return ans, code

        stranger = nacl.signing.SigningKey.generate()
        cases = [
            ("origin not in the list", "auth_failed",
             dict(device=raw_dev, signing_key=sk, origin="wss://evil.example:443")),
            ("time 1000 s off", "bad_time", dict(device=raw_dev, signing_key=sk, t=harness.utc_now() - 1000)),
            ("unknown device", "unknown_device",
             dict(device=harness.device_id(bytes(stranger.verify_key)), signing_key=stranger)),
        ]
        for what, want, kw in cases:
            try:
                ans, code = harness.run(refused_login(**kw))
                c(f"login with {what} -> {want}, close 1008", ans.get("code") == want and code == 1008,
                  f"{ans} close {code}")
            except Exception as e:  # noqa: BLE001
                c(f"login with {what}", False, repr(e))

        async def before_login():
            async with RawClient(url, ca) as cl:
                a = await cl.request({"type": "whoami", "id": "w0"})
                b = await cl.request({"type": "ping", "id": "p0"})
                return a, b
        try:
            a, b = harness.run(before_login())
            c("whoami before login -> not_authenticated, connection stays",
              a.get("code") == "not_authenticated" and b.get("type") == "pong", f"{a} {b}")
        except Exception as e:  # noqa: BLE001
            c("whoami before login", False, repr(e))

        # -- revocation --
        rc, out, err = env.ctl("revoke", devices.get(1) or "")
        c("varskoctl revoke device 1", rc == 0, out_of(rc, out, err))
        rc, out, err = env.cli(home1, "whoami")
        c("revoked device 1: whoami refused with device_revoked",
          rc != 0 and "device_revoked" in out + err, out_of(rc, out, err))
        rc, out, err = env.cli(home2, "whoami")
        c("device 2 still works after device 1 was revoked", rc == 0 and u2[0] in out, out_of(rc, out, err))
        rc, out, err = env.ctl("devices", "--json")
        states = device_states(out)
        c("varskoctl devices --json: device 1 revoked, device 2 not",
          rc == 0 and states.get(devices.get(1)) is True and states.get(devices.get(2)) is False,
          f"{states} {out_of(rc, out, err)}")

        # -- after all of that the server still serves device 2 --
        rc, out, err = env.cli(home2, "whoami", "--json")
        c("after all bad input the server still serves device 2", rc == 0 and u2[0] in out, out_of(rc, out, err))
        c("varskod is still running", env.alive("varskod"))

        rc = env.stop_varskod()
        c("varskod exits 0 on SIGTERM (no sanitizer report)", rc == 0, f"exit {rc}")

        rc, out, err = env.ctl("audit", "verify")
        c("varskoctl audit verify: intact", rc == 0 and "intact" in out, out_of(rc, out, err))

        events = audit_events(env)
        for ev in ("login_ok", "login_refused", "enroll_ok", "enroll_pending", "enroll_replaced", "enroll_refused",
                   "revoke", "frame_refused"):
            c(f"audit log has {ev}", ev in events, f"events: {sorted(events)}")

        # A changed audit row must be found.
        if tamper_audit(env):
            rc, out, err = env.ctl("audit", "verify")
            c("audit verify finds a changed entry", rc != 0, out_of(rc, out, err))
        else:
            c("audit table found for the tamper check", False)

        logtext = env.read_log("varskod")
        c("varskod wrote a log", len(logtext) > 0)
        leaked = [n for (_u, n, _r) in harness.demo_users(doc) if n and n in logtext]
        c("no demo user's display name in the varskod log", not leaked, f"{len(leaked)} names found")
        codes = [inv1["code"], inv2["code"], inv_exp["code"], inv_raw["code"]]
        c("no enrollment code in the varskod log", not any(x in logtext for x in codes))
    return checks.done()


def device_states(text):
    """{device id: revoked?} from `varskoctl devices --json` (a list of objects,
    or an object holding one); a device counts as revoked when any of its
    fields named like "revoked" is set."""
    try:
        j = json.loads(text)
    except ValueError:
        return {}
    if isinstance(j, dict):
        j = next((v for v in j.values() if isinstance(v, list)), [])
    out = {}
    for d in j if isinstance(j, list) else []:
        if not isinstance(d, dict):
            continue
        dev = find_key(d, "device")
        flags = [v for k, v in d.items() if "revoked" in k]
        out[dev] = any(v not in (None, False, 0, "", "-") for v in flags)
    return out


def audit_events(env):
    """The set of event names in the audit table (the table named like 'audit' with an 'event' column)."""
    db = env.db()
    try:
        for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if "audit" not in t.lower():
                continue
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{t}")')]
            if "event" in cols:
                return {r[0] for r in db.execute(f'SELECT DISTINCT event FROM "{t}"')}
    except sqlite3.Error as e:
        harness.log(f"audit table: {e}")
    finally:
        db.close()
    return set()


def tamper_audit(env):
    """Change the event name of the first login_ok entry in place, as someone
    with write access to the database file would (dropping any trigger that
    guards the table first). True when a row changed."""
    db = env.db()
    try:
        for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if "audit" not in t.lower() or "event" not in [r[1] for r in db.execute(f'PRAGMA table_info("{t}")')]:
                continue
            for (trig,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                                      (t,)).fetchall():
                db.execute(f'DROP TRIGGER "{trig}"')
            cur = db.execute(f'UPDATE "{t}" SET event = ? WHERE rowid = '
                             f'(SELECT min(rowid) FROM "{t}" WHERE event = ?)', ("login_refused", "login_ok"))
            db.commit()
            return cur.rowcount == 1
    except sqlite3.Error as e:
        harness.log(f"tamper: {e}")
    finally:
        db.close()
    return False


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.SubprocessError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
