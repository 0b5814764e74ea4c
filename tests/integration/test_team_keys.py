#!/usr/bin/python3
"""Team key sets (PROTOCOL.md 16.5, 16.6), end to end with the real CLI and a real agent.

Real varskod, varskoctl, mosquitto, the `varsko` CLI and varsko-agent; raw
frames only to read the stored sets and for a put the CLI would never send:

- org init before anyone enrolls; an admin creates team-slagelse with its
  leder (`varsko team create`), the leder adds the agent and a myndighed
  member (`varsko team add`); `varsko team show` says there is no team key.
- `varsko team key` by the leder makes generation 1, sealed to exactly the
  three members' current user keys and signed by the leder's; the leder's
  box opens to a seed that derives the set's pub; a second run has nothing
  to do; `team show` says generation 1, ok. An outsider's `varsko team key`
  and a raw keys_put by a non-member are refused (not_member).
- The agent, started before it is a member, logs "not a member" once. Once
  a member it keeps the key fit on its own: a member added later gets a box
  in generation 1 within seconds (same pub), and removing a member makes it
  create generation 2, without a box for the removed member, whose
  prev_box holds generation 1's seed. Its log names no user.
"""

import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from harness import b64, field, field_u64, unb64  # noqa: E402
from test_user_keys import Home, kdf, keyset_input, out_of, parse_json, request  # noqa: E402

harness.require_modules()
import nacl.bindings  # noqa: E402
import nacl.public  # noqa: E402
import nacl.signing  # noqa: E402

TEAM = "team-slagelse"
ADMIN, LEDER, MEMBER, LATE, OUTSIDER = "admin-ole", "leder-thomas", "myndighed-lene", "myndighed-maja", \
    "leder-hanne"
AGENT = "agent-" + TEAM
OWNER = "team:" + TEAM


async def user_seed(cl, home):
    """The user's current user-key seed and generation, from the home's box of its key box set."""
    ch = await request(cl, {"type": "chain_get", "id": "uc", "kind": "user", "chain": home.user})
    ks = await request(cl, {"type": "keys_get", "id": "uk", "owner": "user:" + home.user})
    gen = max(ln["generation"] for ln in ch["links"] if ln["op"] in ("uk_create", "uk_rotate"))
    st = next(s for s in ks["sets"] if s["generation"] == gen)
    box = next(bx for bx in st["boxes"] if bx["recipient"] == "device:" + home.id)
    return nacl.public.SealedBox(home.box_sk).decrypt(unb64(box["sealed"])), gen


def box_key(seed, ctx):
    return nacl.public.PrivateKey.from_seed(kdf(seed, 2, ctx))


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[], users=[]) as fl:
        rc, out, err = fl.setup_org([{"id": LATE, "name": "Maja Testesen", "role": "myndighed", "team": TEAM}])
        if not c("org init before anyone enrolls", rc == 0, out_of(rc, out, err)):
            return checks.done()
        for u in (ADMIN, LEDER, MEMBER, LATE, OUTSIDER, AGENT):
            fl.enroll(u)
        homes = {u: Home(fl.homes[u]) for u in fl.homes}
        rc, out, err = fl.ctl("org", "admin-add", ADMIN, "--root-key", fl.root_key)
        c("org admin-add", rc == 0, out_of(rc, out, err))

        def cli(user, *args):
            return fl.cli(fl.homes[user], *args)

        def sets():
            async def go(cl, dev):
                return await request(cl, {"type": "keys_get", "id": "k", "owner": OWNER})
            ans = fl.raw_session(LEDER, go)
            return ans.get("sets", []) if ans.get("type") == "keys" else None

        def recipients(s):
            return sorted(bx["recipient"] for bx in s["boxes"])

        def wait(pred, t=20.0):
            deadline = time.monotonic() + t
            while time.monotonic() < deadline:
                v = pred()
                if v:
                    return v
                time.sleep(0.3)
            return pred()

        # -- the agent before it is a member: "not a member" once --
        fl.start_agent(TEAM)
        ok = wait(lambda: "not a member of the team chain yet" in fl.read_log(AGENT), 15)
        time.sleep(2 * 5 + 1)
        log = fl.read_log(AGENT)
        c("agent not yet a member logs it once", ok and log.count("not a member of the team chain yet") == 1, log)
        fl.stop_agent(TEAM)

        # -- the team and its members --
        rc, out, err = cli(ADMIN, "team", "create", TEAM, LEDER)
        c("admin creates the team with its leder", rc == 0, out_of(rc, out, err))
        for u in (AGENT, MEMBER):
            rc, out, err = cli(LEDER, "team", "add", TEAM, u)
            c(f"leder adds {u}", rc == 0, out_of(rc, out, err))
        rc, out, err = cli(LEDER, "team", "show", TEAM, "--json")
        j = parse_json(out) or {}
        c("team show --json: no key yet", rc == 0 and j.get("key_state") == "none" and j.get("key_generation") == 0,
          out_of(rc, out, err))
        rc, out, err = cli(LEDER, "team", "show", TEAM)
        c("team show: ingen teamnøgle endnu", rc == 0 and "ingen teamnøgle endnu" in out, out_of(rc, out, err))

        # -- generation 1 by the leder --
        rc, out, err = cli(OUTSIDER, "team", "key", TEAM)
        c("team key by an outsider: not_member", rc != 0 and "not_member" in err, out_of(rc, out, err))
        rc, out, err = cli(LEDER, "team", "key", TEAM, "--json")
        j = parse_json(out) or {}
        c("team key by the leder makes generation 1", rc == 0 and j == {"team": TEAM, "changed": 2},
          out_of(rc, out, err))
        ss = sets() or []
        want1 = sorted(f"user:{u}:1" for u in (LEDER, AGENT, MEMBER))
        c("one set, generation 1, sealed to the three members' current user keys",
          len(ss) == 1 and ss[0]["generation"] == 1 and recipients(ss[0]) == want1 and "prev_box" not in ss[0],
          json.dumps(ss)[:600])

        async def leder_view(cl, dev):
            seed, gen = await user_seed(cl, homes[LEDER])
            return seed, gen
        lseed, lgen = fl.raw_session(LEDER, leder_view)
        lsk = nacl.signing.SigningKey(kdf(lseed, 1))
        s1 = ss[0] if ss else {}
        c("signed by the leder's current user key", s1.get("signer") == b64(bytes(lsk.verify_key)) and
          nacl.signing.VerifyKey(bytes(lsk.verify_key)).verify(keyset_input(s1), unb64(s1["sig"])) is not None)
        bx = next((b for b in s1.get("boxes", []) if b["recipient"] == f"user:{LEDER}:{lgen}"), None)
        seed1 = nacl.public.SealedBox(box_key(lseed, b"vskuser1")).decrypt(unb64(bx["sealed"])) if bx else b""
        c("the leder's box opens to a seed that derives the set's pub",
          bx is not None and bytes(box_key(seed1, b"vskteam1").public_key) == unb64(s1["pub"]))
        rc, out, err = cli(LEDER, "team", "key", TEAM)
        c("team key again: nothing to do", rc == 0 and "intet at gøre" in out, out_of(rc, out, err))
        rc, out, err = cli(MEMBER, "team", "show", TEAM, "--json")
        j = parse_json(out) or {}
        c("team show --json: generation 1, ok", j.get("key_generation") == 1 and j.get("key_state") == "ok",
          out_of(rc, out, err))
        rc, out, err = cli(MEMBER, "team", "show", TEAM)
        c("team show: teamnøgle: generation 1", rc == 0 and "teamnøgle: generation 1" in out, out_of(rc, out, err))

        # -- a put by a non-member --
        async def outsider_put(cl, dev):
            seed, gen = await user_seed(cl, homes[OUTSIDER])
            sk = nacl.signing.SigningKey(kdf(seed, 1))
            s = dict(s1)
            s["signer"] = b64(bytes(sk.verify_key))
            s["sig"] = b64(sk.sign(keyset_input(s)).signature)
            return await request(cl, {"type": "keys_put", "id": "p", "set": s})
        ans = fl.raw_session(OUTSIDER, outsider_put)
        c("keys_put by a non-member: not_member", ans.get("type") == "error" and ans.get("code") == "not_member",
          str(ans))

        # -- the agent keeps the key fit --
        before = len(fl.read_log(AGENT))
        fl.start_agent(TEAM)
        rc, out, err = cli(LEDER, "team", "add", TEAM, LATE)
        c("leder adds a member later", rc == 0, out_of(rc, out, err))
        t0 = time.monotonic()
        got = wait(lambda: (lambda s: s if s and f"user:{LATE}:1" in recipients(s[-1]) else None)(sets()), 20)
        harness.log(f"     box added after {time.monotonic() - t0:.1f} s")
        c("the agent adds a box for the member added later, within seconds",
          got and len(got) == 1 and recipients(got[0]) == sorted(want1 + [f"user:{LATE}:1"]) and
          got[0]["pub"] == s1["pub"], fl.read_log(AGENT)[before:][-1500:])
        c("the agent logs 'team key: boxes added'", wait(lambda: "team key: boxes added" in fl.read_log(AGENT), 5))

        rc, out, err = cli(LEDER, "team", "remove", TEAM, MEMBER)
        c("leder removes a member", rc == 0, out_of(rc, out, err))
        t0 = time.monotonic()
        got = wait(lambda: (lambda s: s if s and len(s) == 2 else None)(sets()), 20)
        harness.log(f"     generation 2 after {time.monotonic() - t0:.1f} s")
        s2 = got[1] if got else {}
        want2 = sorted(f"user:{u}:1" for u in (LEDER, AGENT, LATE))
        c("the agent makes generation 2 without the removed member's box",
          bool(got) and s2.get("generation") == 2 and recipients(s2) == want2, json.dumps(got)[:800] if got else
          fl.read_log(AGENT)[-1500:])
        c("the agent logs 'team key: generation 2 made'",
          wait(lambda: "team key: generation 2 made" in fl.read_log(AGENT), 5))
        bx = next((b for b in s2.get("boxes", []) if b["recipient"] == f"user:{LEDER}:{lgen}"), None)
        prev_ok = False
        if bx is not None and "prev_box" in s2:
            seed2 = nacl.public.SealedBox(box_key(lseed, b"vskuser1")).decrypt(unb64(bx["sealed"]))
            c("generation 2's seed derives its pub", bytes(box_key(seed2, b"vskteam1").public_key) == unb64(s2["pub"]))
            nonce = hashlib.sha256(field("varsko-prevbox-v1") + field(OWNER) + field_u64(2)).digest()[:24]
            prev = nacl.bindings.crypto_secretbox_open(unb64(s2["prev_box"]), nonce, kdf(seed2, 3, b"vskteam1"))
            prev_ok = prev == seed1
        c("generation 2's prev_box holds generation 1's seed", prev_ok)
        c("generation 2 is signed by the agent's user key", bool(s2) and s2["signer"] != s1["signer"])
        rc, out, err = cli(LEDER, "team", "show", TEAM, "--json")
        j = parse_json(out) or {}
        c("team show --json: generation 2, ok", j.get("key_generation") == 2 and j.get("key_state") == "ok",
          out_of(rc, out, err))
        rc, out, err = cli(MEMBER, "team", "key", TEAM)
        c("team key by the removed member: not_member", rc != 0 and "not_member" in err, out_of(rc, out, err))
        time.sleep(6)
        c("the agent left generation 2 alone", len(sets() or []) == 2)

        log = fl.read_log(AGENT)
        named = [u for u in (ADMIN, LEDER, MEMBER, LATE, OUTSIDER, "Maja", "Lene", "Thomas") if u in log]
        c("the agent's log names no user", not named, f"{named}: {log[-1500:]}")
        c("agent still running", fl.alive(AGENT))
        rc = fl.stop_agent(TEAM)
        c("agent exits 0 on SIGTERM", rc == 0, f"exit {rc}")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
