#!/usr/bin/python3
"""Revocation rotates (issue 9, item 4), for a person's devices, end to end.

Real varskod, Mosquitto, agent and the `varsko` CLI. Anna has two devices,
A (her first) and B (recovered with her code); a kvittering to her (user
key generation 1) opens on both. From A she revokes B: the user chain gets
device_revoke and uk_rotate (signed by the previous user key and A),
generation 2 is sealed to A alone, varskod revokes B (it can no longer log
in), and A shows a new recovery code. A kvittering sent afterwards goes to
generation 2, which B never had. A reads both kvitteringer (generation 1
through generation 2's prev_box). The old recovery code no longer opens the
recovery box; a new device recovers with the new code and reads both.
When the operator revokes a device instead (varskoctl revoke, no user key),
the user's next command on a device holding the key revokes it in the
chain and rotates (lazy rotation), showing a new code. A device cannot
revoke itself, an unknown device is not found, and revoking
B twice changes nothing.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402

CODE_RE = re.compile(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b")
K1 = "Første kvittering: vi har modtaget underretningen."
K2 = "Anden kvittering: sendt efter at en enhed blev fjernet."


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:300]!r}"


def parse(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


def enroll(fl, user, home, *extra):
    inv = fl.invite(user)
    return fl.cli(home, "enroll", "--server", fl.ws_url, "--code", inv["code"], "--ca", fl.ca,
                  "--fingerprint", inv["org_fingerprint"], *extra)


def messages(fl, home, ref):
    rc, out, err = fl.cli(home, "underret", "status", ref, "--json")
    steps = {s.get("step"): s for s in (parse(out) or {}).get("steps", [])}
    return rc, steps.get("kvitteret", {}).get("message"), out_of(rc, out, err)


def wraps(fl, ref):
    rows = fl.q("SELECT envelope FROM events WHERE reference = ? AND kind = 'kvitteret'", ref)
    return [w["device"] for (e,) in rows for w in json.loads(e)["wraps"]]


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=["team-slagelse"], users=["myndighed-lene"]) as fl:
        fl.setup()
        home_a, home_b, home_c = fl.path("home-a"), fl.path("home-b"), fl.path("home-c")
        rc, out, err = enroll(fl, "laerer-anna", home_a, "--json")
        code1 = (parse(out) or {}).get("recovery_code")
        if not c("device A: anna's first device, with her recovery code", rc == 0 and code1, out_of(rc, out, err)):
            return checks.done()
        rc, out, err = enroll(fl, "laerer-anna", home_b)
        rc2, out2, err2 = fl.cli(home_b, "device", "recover", "--code", code1)
        c("device B: enrolled and recovered with the code", rc == 0 and rc2 == 0, out_of(rc2, out2, err2))
        a, b = flowlib.Device(home_a), flowlib.Device(home_b)

        fl.homes["laerer-anna"] = home_a
        rc, rec, out, err = fl.send("laerer-anna", fl.doc(age=9))
        if not c("anna sends U1", rc == 0 and isinstance(rec, dict), out_of(rc, out, err)):
            return checks.done()
        u1 = rec["reference"]
        fl.wait_filed("team-slagelse", [u1], timeout=60)
        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "kvitter", u1, "--besked", K1)
        c("lene kvitters U1 (to generation 1)", rc == 0 and wraps(fl, u1) == ["user:laerer-anna:1"],
          out_of(rc, out, err) + str(wraps(fl, u1)))
        c("B reads U1's kvittering", messages(fl, home_b, u1)[1] == K1, messages(fl, home_b, u1)[2])

        # -- A revokes B --
        rc, out, err = fl.cli(home_a, "device", "revoke", b.id)
        code2 = (CODE_RE.search(out) or [None])[0]
        c("A revokes B: done, in Danish, with a new recovery code shown once",
          rc == 0 and "fjernet" in out and code2 and code2 != code1, out_of(rc, out, err))
        links = [json.loads(t) for (t,) in fl.q("SELECT link_json FROM chain_links WHERE chain = 'laerer-anna' "
                                               "ORDER BY seq")]
        ops = [l["op"] for l in links]
        c("the chain ends with device_revoke of B and uk_rotate to generation 2",
          ops[-2:] == ["device_revoke", "uk_rotate"] and links[-2].get("device") == b.id and
          links[-1].get("generation") == 2, str(ops))
        c("uk_rotate is signed by the previous user key and by device A",
          [s["pk"] for s in links[-1]["sigs"]] == [links[0]["uk_sign_pk"], a.cert["sign_pk"]],
          str(links[-1].get("sigs"))[:200])
        sets = fl.q("SELECT set_json FROM key_sets WHERE owner = 'user:laerer-anna' AND generation = 2")
        recips = [x["recipient"] for x in json.loads(sets[0][0])["boxes"]] if sets else []
        c("generation 2 is sealed to A alone (not to B)", recips == [f"device:{a.id}"], str(recips))
        c("varskod revoked B too", fl.count("devices", "id = ? AND revoked_at IS NOT NULL", b.id) == 1)
        rc, out, err = fl.cli(home_b, "whoami")
        c("B can no longer log in (device_revoked)", rc != 0 and "device_revoked" in out + err, out_of(rc, out, err))

        # -- a kvittering after the revocation --
        rc, rec, out, err = fl.send("laerer-anna", fl.doc(age=10))
        u2 = rec["reference"] if isinstance(rec, dict) else None
        c("anna sends U2 from A", rc == 0 and u2, out_of(rc, out, err))
        fl.wait_filed("team-slagelse", [u2], timeout=60)
        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "kvitter", u2, "--besked", K2)
        c("lene kvitters U2: sealed to generation 2", rc == 0 and wraps(fl, u2) == ["user:laerer-anna:2"],
          out_of(rc, out, err) + str(wraps(fl, u2)))
        c("A reads U1's kvittering (generation 1, through generation 2)", messages(fl, home_a, u1)[1] == K1,
          messages(fl, home_a, u1)[2])
        c("A reads U2's kvittering (generation 2)", messages(fl, home_a, u2)[1] == K2, messages(fl, home_a, u2)[2])

        # -- recovery after the rotation: the old code no longer, the new one does --
        rc, out, err = enroll(fl, "laerer-anna", home_c)
        rc, out, err = fl.cli(home_c, "device", "recover", "--code", code1)
        c("a new device: the old recovery code no longer opens (crypto)", rc != 0 and "crypto" in err,
          out_of(rc, out, err))
        rc, out, err = fl.cli(home_c, "device", "recover", "--code", code2 or "")
        c("... the new one does", rc == 0, out_of(rc, out, err))
        c("the recovered device reads both kvitteringer",
          messages(fl, home_c, u1)[1] == K1 and messages(fl, home_c, u2)[1] == K2, messages(fl, home_c, u2)[2])

        # -- an operator revokes C (varskoctl revoke): A's next command rotates (lazy rotation) --
        c_id = flowlib.Device(home_c).id
        rc, out, err = fl.ctl("revoke", c_id)
        c("the operator revokes device C", rc == 0, out_of(rc, out, err))
        rc, out, err = fl.cli(home_a, "whoami")
        code3 = (CODE_RE.search(err) or [None])[0]
        c("A's next command revokes C in the chain, rotates, and shows a new recovery code (Danish, stderr)",
          rc == 0 and "tilbagekaldt af din it-afdeling" in err and code3 and code3 != code2, out_of(rc, out, err))
        links = [json.loads(t) for (t,) in fl.q("SELECT link_json FROM chain_links WHERE chain = 'laerer-anna' "
                                               "ORDER BY seq")]
        c("the chain: device_revoke of C, uk_rotate to generation 3",
          [l["op"] for l in links[-2:]] == ["device_revoke", "uk_rotate"] and links[-2].get("device") == c_id
          and links[-1].get("generation") == 3, str([l["op"] for l in links]))
        sets = fl.q("SELECT set_json FROM key_sets WHERE owner = 'user:laerer-anna' AND generation = 3")
        recips = [x["recipient"] for x in json.loads(sets[0][0])["boxes"]] if sets else []
        c("generation 3 is sealed to A alone", recips == [f"device:{a.id}"], str(recips))
        rc, out, err = fl.cli(home_a, "whoami")
        c("... once: the next command does nothing more", rc == 0 and "tilbagekaldt" not in err,
          out_of(rc, out, err))

        # -- refusals --
        rc, out, err = fl.cli(home_a, "device", "revoke", a.id)
        c("a device cannot revoke itself (forbidden, Danish)", rc != 0 and "forbidden" in err and
          "selv" in err, out_of(rc, out, err))
        rc, out, err = fl.cli(home_a, "device", "revoke", "d-0000000000000000")
        c("an unknown device: not_found", rc != 0 and "not_found" in err, out_of(rc, out, err))
        n_links = fl.count("chain_links", "chain = 'laerer-anna'")
        rc, out, err = fl.cli(home_a, "device", "revoke", b.id)
        c("revoking B again: exists, nothing appended",
          rc != 0 and "exists" in err and fl.count("chain_links", "chain = 'laerer-anna'") == n_links,
          out_of(rc, out, err))
        c("varskod is still running", fl.alive("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
