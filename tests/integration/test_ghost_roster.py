#!/usr/bin/python3
"""A modified server adds a reader: nothing is sealed to it (issue 9, PROTOCOL.md 16.7).

varskod-ghost is varskod built with the test-only VARSKO_TEST_GHOST_ROSTER
(gateway/meson.build; never installed): it adds a device of its own to
every roster it hands out, certified with the organisation key it holds, as
a server an attacker controls could. Every team has its chain and team key
(flowlib setup(org=True)). The roster it answers does name the ghost (so
the flag works), yet the teacher's CLI seals the underretning to the team's
key and her own user key only, the team's agent files it, the intake worker
opens it, and no wrap of the stored envelope is for the ghost.
"""

import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402
from test_user_keys import request  # noqa: E402

harness.require_modules()
import nacl.signing  # noqa: E402

TEAM = "team-slagelse"
GHOST_SEED_TEXT = b"varsko-test-ghost-device"  # gateway/flow_submit.c


def main():
    checks = harness.Checks()
    c = checks.check
    ghost_bin = harness.binary("gateway/varskod-ghost")
    if not os.access(ghost_bin, os.X_OK):
        harness.skip("gateway/varskod-ghost is not built")
    with open(harness.binary("gateway/varskod"), "rb") as f:
        c("the ordinary varskod has none of the ghost's code", GHOST_SEED_TEXT not in f.read())
    with open(ghost_bin, "rb") as f:
        c("... which varskod-ghost has (the check above can fail)", GHOST_SEED_TEXT in f.read())
    seed = hashlib.blake2b(GHOST_SEED_TEXT, digest_size=32).digest()
    ghost = harness.device_id(bytes(nacl.signing.SigningKey(seed).verify_key))
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna", "myndighed-lene"]) as fl:
        fl.varskod = ghost_bin
        fl.setup(org=True)

        async def roster(cl, dev):
            return await request(cl, {"type": "roster", "id": "r", "team": TEAM})
        ans = fl.raw_session("myndighed-lene", roster)
        devices = [d.get("device") for d in (ans.get("roster") or {}).get("devices", [])]
        c("the modified server's roster names its ghost device (certified by the organisation key)",
          ghost in devices, f"{devices} / ghost {ghost}")

        path = fl.doc(age=9)
        rc, rec, out, err = fl.send("laerer-anna", path)
        ref = rec.get("reference") if rc == 0 and isinstance(rec, dict) else None
        c("the teacher sends an underretning", ref is not None and rec.get("team") == TEAM, out_of(rc, out, err))
        if ref is None:
            return checks.done()
        rows = fl.q("SELECT envelope FROM underretninger WHERE reference = ?", ref)
        wraps = sorted(w.get("device") for w in json.loads(rows[0][0]).get("wraps", [])) if rows else []
        c("it is sealed to the team key and her own user key; nothing to the ghost",
          wraps == [f"team:{TEAM}:1", "user:laerer-anna:1"] and ghost not in wraps, str(wraps))
        c("the team's agent files it", fl.wait_filed(TEAM, [ref], timeout=60) == {ref}, fl.read_log(f"agent-{TEAM}")[-300:])
        rc, j, out, err = fl.cli_json("myndighed-lene", "myndighed", "show", ref)
        with open(path, encoding="utf-8") as f:
            sent = json.load(f)
        c("the intake worker opens it", rc == 0 and isinstance(j, dict) and j.get("document") == sent,
          out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
