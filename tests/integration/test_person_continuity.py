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
her status shows both texts, decrypted, exactly as sent. The revoked device
cannot log in to fetch anything.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402

KVITTERING = "Tak for underretningen. Vi har modtaget den og vurderer sagen – Team Slagelse."
TILBAGEMELDING = "Vi har iværksat en undersøgelse (æøå)."


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:300]!r}"


def parse(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


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

        rc, rec, out, err = fl.send("laerer-anna", fl.doc(age=9))
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
        rc, out, err = fl.cli(home_2, "device", "recover", "--code", code)
        c("varsko device recover with the recovery code", rc == 0, out_of(rc, out, err))
        rc, j, out, err = fl.cli_json("laerer-anna", "underret", "status", ref)
        steps = {s.get("step"): s for s in (j or {}).get("steps", [])}
        c("after recovery the new device reads the kvittering exactly as sent",
          steps.get("kvitteret", {}).get("message") == KVITTERING, out_of(rc, out, err))
        c("... and the tilbagemelding",
          steps.get("tilbagemelding", {}).get("message") == TILBAGEMELDING, out_of(rc, out, err))
        c("varskod is still running", fl.alive("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
