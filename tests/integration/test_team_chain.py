#!/usr/bin/python3
"""The organisation root and team chains on the wire (PROTOCOL.md 16), end to end.

Real varskod, real varskoctl, the real `varsko` CLI for the users' devices
and user keys, and raw frames (links signed here with the users' own user
keys, opened from their devices' key boxes) for what the CLI would never
send:

- `varskoctl org init --root-key FILE` makes an offline root key and the
  org chain; varskod's hello then carries root_pk, `varskoctl invite` gives
  the root's fingerprint, `org show` lists the chain; `org admin-add` needs
  the root key file (a wrong one is refused) and a user with role admin
  and a user key.
- An admin creates a team's chain naming its leder; the leder adds a
  member. Refused, each with its code and nothing stored: team_create by a
  leder who is no admin (not_member), member_add by a member who is not a
  leder (forbidden) and by an outsider (not_member), a link signed with
  another user's key (forbidden), a broken prev and a fork (bad_chain), a
  member the municipality places in another team (bad_input), a pinned key
  that is not the member's current one (stale_key), an unknown team
  (not_found), any org link over the wire (forbidden).
- An edited team or org link in the database makes chain_get answer
  bad_chain, and the CLI refuse.
- Enrollment with the organisation key's fingerprint instead of the
  root's leaves nothing on the server; the CLI pins the root; `varsko team
  create|add|show` work for the admin, the leder and a member, and refuse
  the others; a server that stops sending the root is refused by homes
  that pinned it.
"""

import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RawClient, b64, field, field_i64, field_u64, unb64  # noqa: E402
from test_user_keys import Home, kdf, out_of, parse_json, parse_time, request  # noqa: E402

harness.require_modules()
import nacl.public  # noqa: E402
import nacl.signing  # noqa: E402

ZERO32 = bytes(32)
TEAM = "team-slagelse"
OTHER_TEAM = "team-korsoer-skaelskoer"
ADMIN, LEDER, MEMBER, OUTSIDER, ELSEWHERE = "admin-ole", "leder-thomas", "myndighed-lene", "leder-hanne", \
    "myndighed-peter"
AGENT = "agent-team-slagelse"


def team_link_input(link):
    """The signing input of a team-chain link (13.3), written from the text."""
    op = link["op"]
    role = "leder" if op == "team_create" else link.get("role", "")
    return (field("varsko-teamlink-v1") + field(link["team"]) + field_u64(link["seq"]) +
            field(unb64(link["prev"])) + field(op) + field(link["user"]) + field(role) +
            field_u64(link.get("uk_generation", 0)) +
            field(unb64(link["uk_sign_pk"]) if "uk_sign_pk" in link else ZERO32) +
            field_i64(parse_time(link["time"])))


def team_hash(link):
    return hashlib.sha256(team_link_input(link)).digest()


def make_link(op, team, seq, prev, user, signer, role=None, pin=None):
    """A team link signed by signer (a nacl SigningKey); pin = (generation, uk_sign_pk b64)."""
    link = {"op": op, "team": team, "seq": seq, "prev": b64(prev), "user": user,
            "time": harness.fmt_time(time.time())}
    if op == "member_add":
        link["role"] = role
    if pin is not None:
        link["uk_generation"], link["uk_sign_pk"] = pin
    link["sigs"] = [{"pk": b64(bytes(signer.verify_key)), "sig": b64(signer.sign(team_link_input(link)).signature)}]
    return link


async def user_key(cl, home):
    """The user's current user key (SigningKey) and its pin (generation, uk_sign_pk), from the home's box."""
    ch = await request(cl, {"type": "chain_get", "id": "uc", "kind": "user", "chain": home.user})
    ks = await request(cl, {"type": "keys_get", "id": "uk", "owner": "user:" + home.user})
    gen, pk = 0, None
    for ln in ch.get("links", []):
        if ln["op"] in ("uk_create", "uk_rotate"):
            gen, pk = ln["generation"], ln["uk_sign_pk"]
    st = next(s for s in ks["sets"] if s["generation"] == gen)
    box = next(bx for bx in st["boxes"] if bx["recipient"] == "device:" + home.id)
    seed = nacl.public.SealedBox(home.box_sk).decrypt(unb64(box["sealed"]))
    sk = nacl.signing.SigningKey(kdf(seed, 1))
    assert b64(bytes(sk.verify_key)) == pk
    return sk, (gen, pk)


async def pin_of(cl, user):
    """(generation, uk_sign_pk) of user's current user key, from its chain."""
    ch = await request(cl, {"type": "chain_get", "id": "pc", "kind": "user", "chain": user})
    gen, pk = 0, None
    for ln in ch.get("links", []):
        if ln["op"] in ("uk_create", "uk_rotate"):
            gen, pk = ln["generation"], ln["uk_sign_pk"]
    return gen, pk


async def append(cl, team, link, rid="t"):
    return await request(cl, {"type": "chain_append", "id": rid, "kind": "team", "chain": team, "link": link})


async def team_links(cl, team, rid="tg"):
    return await request(cl, {"type": "chain_get", "id": rid, "kind": "team", "chain": team})


def main():
    checks = harness.Checks()
    c = checks.check
    harness.load_demo()

    with harness.Env() as env:
        env.make_certs()
        env.write_config()
        ca, url = env.ca, env.ws_url
        for args in (("init",), ("import", harness.demo_file())):
            rc, out, err = env.ctl(*args)
            if not c(f"varskoctl {args[0]}", rc == 0, out_of(rc, out, err)):
                return checks.done()
        root_file = env.path("root.key")
        rc, out, err = env.ctl("org", "show")
        c("org show before org init: not_found", rc != 0 and "not_found" in err, out_of(rc, out, err))
        old_fpr = env.invite(ADMIN)["org_fingerprint"]
        rc, out, err = env.ctl("org", "admin-add", ADMIN)
        c("org admin-add without --root-key is a usage error", rc == 2, out_of(rc, out, err))
        rc, out, err = env.ctl("org", "init", "--root-key", root_file)
        c("varskoctl org init makes the root key file and the chain", rc == 0 and os.path.exists(root_file) and
          "root key fingerprint" in out, out_of(rc, out, err))
        c("the root key file is private (0600)", os.stat(root_file).st_mode & 0o077 == 0)
        with open(root_file, encoding="utf-8") as f:
            root_pk = bytes(nacl.signing.SigningKey(unb64(f.read().strip())[:32]).verify_key)
        root_fpr = harness.fingerprint(root_pk)
        c("org init prints the root key's fingerprint", root_fpr in out, out_of(rc, out, err))
        rc, out, err = env.ctl("org", "init", "--root-key", root_file)
        c("org init a second time: exists", rc != 0 and "exists" in err, out_of(rc, out, err))
        inv = env.invite(MEMBER)
        c("varskoctl invite now gives the root's fingerprint", inv.get("org_fingerprint") == root_fpr, str(inv))
        env.start_varskod()

        # -- enrollment checks the root's fingerprint --
        inv = env.invite(ADMIN)
        home = env.path("home-" + ADMIN)
        rc, out, err = env.cli(home, "enroll", "--server", url, "--code", inv["code"], "--fingerprint", old_fpr,
                               ca=ca)
        c("enrolling with the organisation key's fingerprint (not the root's) is refused",
          rc != 0 and root_fpr in err, out_of(rc, out, err))
        rc, out, err = env.ctl("devices", "--json")
        c("... and leaves no device or pending enrollment on the server", rc == 0 and parse_json(out) == [],
          out_of(rc, out, err))
        homes = {}
        for user in (ADMIN, LEDER, MEMBER, OUTSIDER, ELSEWHERE, AGENT):
            inv = env.invite(user) if user != ADMIN else inv
            home = env.path("home-" + user)
            rc, out, err = env.cli(home, "enroll", "--server", url, "--code", inv["code"], "--fingerprint",
                                   inv["org_fingerprint"], ca=ca)
            if not c(f"{user} enrolls with the root's fingerprint and makes a user key", rc == 0,
                     out_of(rc, out, err)):
                return checks.done()
            homes[user] = Home(home)
        with open(os.path.join(env.path("home-" + ADMIN), "root.pub"), encoding="ascii") as f:
            c("the home pins the root key", unb64(f.read().strip()) == root_pk)

        # -- admins are the root's to make --
        rc, out, err = env.ctl("org", "admin-add", LEDER, "--root-key", root_file)
        c("org admin-add of a user without role admin: bad_input", rc != 0 and "bad_input" in err,
          out_of(rc, out, err))
        wrong_root = env.path("wrong-root.key")
        with open(wrong_root, "w", encoding="utf-8") as f:
            sk = nacl.signing.SigningKey.generate()
            f.write(b64(bytes(sk) + bytes(sk.verify_key)) + "\n")
        os.chmod(wrong_root, 0o600)
        rc, out, err = env.ctl("org", "admin-add", ADMIN, "--root-key", wrong_root)
        c("org admin-add with another root key: bad_signature", rc != 0 and "bad_signature" in err,
          out_of(rc, out, err))
        rc, out, err = env.ctl("org", "admin-add", ADMIN, "--root-key", root_file)
        c("org admin-add of the admin", rc == 0 and "admin_add" in out, out_of(rc, out, err))
        rc, out, err = env.ctl("org", "show", "--json")
        j = parse_json(out) or {}
        c("org show --json: root fingerprint, one admin, one enrollment key, the gateway key",
          rc == 0 and j.get("root_fingerprint") == root_fpr and [a.get("user") for a in j.get("admins", [])] ==
          [ADMIN] and len(j.get("enrollment_keys", [])) == 1 and j.get("gateway_fingerprint"),
          out_of(rc, out, err))

        # -- the CLI: an admin creates a team, its leder adds a member, a member may not --
        h = {u: env.path("home-" + u) for u in homes}
        rc, out, err = env.cli(h[OUTSIDER], "team", "show", OTHER_TEAM)
        c("varsko team show of a team without a chain says so (Danish)", rc == 0 and "ingen teamkæde" in out,
          out_of(rc, out, err))
        rc, out, err = env.cli(h[OUTSIDER], "team", "create", OTHER_TEAM, OUTSIDER)
        c("varsko team create by a leder who is no admin: not_member", rc != 0 and "not_member" in err,
          out_of(rc, out, err))
        rc, out, err = env.cli(h[ADMIN], "team", "create", OTHER_TEAM, OUTSIDER)
        c("varsko team create by the admin, naming the team's leder", rc == 0 and "oprettet" in out,
          out_of(rc, out, err))
        rc, out, err = env.cli(h[ELSEWHERE], "team", "add", OTHER_TEAM, ELSEWHERE)
        c("varsko team add by someone who is not a leder of the team: refused (not_member)",
          rc != 0 and "not_member" in err, out_of(rc, out, err))
        rc, out, err = env.cli(h[OUTSIDER], "team", "add", OTHER_TEAM, ELSEWHERE)
        c("varsko team add by the team's leder", rc == 0 and "tilføjet" in out, out_of(rc, out, err))
        rc, out, err = env.cli(h[ELSEWHERE], "team", "show", OTHER_TEAM, "--json")
        j = parse_json(out) or {}
        members = {m.get("user"): m for m in j.get("members", [])}
        c("varsko team show --json on the member's device: the leder and the member, verified",
          rc == 0 and set(members) == {OUTSIDER, ELSEWHERE} and members[OUTSIDER].get("leder") is True and
          members[ELSEWHERE].get("leder") is False and members[ELSEWHERE].get("this") is True,
          out_of(rc, out, err))
        rc, out, err = env.cli(h[ELSEWHERE], "team", "leder-add", OTHER_TEAM, ELSEWHERE)
        c("a member who is not a leder cannot change the team: forbidden", rc != 0 and "forbidden" in err,
          out_of(rc, out, err))
        rc, out, err = env.cli(h[ELSEWHERE], "team", "--help")
        c("varsko team --help lists show, create, add and remove",
          rc == 0 and all(w in out for w in ("team show", "team create", "team add", "team remove")),
          out_of(rc, out, err))

        a, ld, mb, out_h, el = (homes[u] for u in (ADMIN, LEDER, MEMBER, OUTSIDER, ELSEWHERE))

        async def scenario():
            res = {}
            async with RawClient(url, ca) as cl_a, RawClient(url, ca) as cl_l, RawClient(url, ca) as cl_m, \
                    RawClient(url, ca) as cl_o:
                res["hello_root"] = cl_a.hello.get("root_pk")
                for cl, h in ((cl_a, a), (cl_l, ld), (cl_m, mb), (cl_o, out_h)):
                    s = await cl.login(h.id, h.signing_key)
                    if s.get("type") != "session":
                        res["login"] = s
                        return res
                org = await request(cl_a, {"type": "chain_get", "id": "o", "kind": "org", "chain": "org"})
                res["org_links"] = [ln["op"] for ln in org.get("links", [])]
                res["org_certs"] = (org.get("certs"), org.get("revoked"))
                res["org_bad_id"] = await request(cl_a, {"type": "chain_get", "id": "o2", "kind": "org",
                                                         "chain": "slagelse"})
                res["org_append"] = await request(cl_a, {"type": "chain_append", "id": "o3", "kind": "org",
                                                         "chain": "org", "link": org["links"][0]})
                res["empty"] = await team_links(cl_a, TEAM)
                res["unknown_team"] = await team_links(cl_a, "team-nowhere")
                ka, pin_a = await user_key(cl_a, a)
                kl, pin_l = await user_key(cl_l, ld)
                km, pin_m = await user_key(cl_m, mb)
                ko, pin_o = await user_key(cl_o, out_h)
                pin_el = await pin_of(cl_a, el.user)
                pin_ag = await pin_of(cl_a, AGENT)

                # team_create by a leder who is not an admin: not_member
                res["create_by_leder"] = await append(cl_l, TEAM, make_link("team_create", TEAM, 1, ZERO32, LEDER,
                                                                             kl, pin=pin_l))
                # team_create signed with the admin's key but sent by the leder's device: forbidden
                res["foreign_key"] = await append(cl_l, TEAM, make_link("team_create", TEAM, 1, ZERO32, LEDER, ka,
                                                                         pin=pin_l))
                # team_create with a stale pin of the leder: stale_key
                res["stale_pin"] = await append(cl_a, TEAM, make_link("team_create", TEAM, 1, ZERO32, LEDER, ka,
                                                                       pin=(pin_l[0], pin_a[1])))
                # team_create naming a leder of another team: bad_input
                res["wrong_team"] = await append(cl_a, TEAM, make_link("team_create", TEAM, 1, ZERO32, OUTSIDER, ka,
                                                                        pin=pin_o))
                res["after_refusals"] = (await team_links(cl_a, TEAM)).get("links")
                # the admin creates the team naming its leder
                l1 = make_link("team_create", TEAM, 1, ZERO32, LEDER, ka, pin=pin_l)
                res["create"] = await append(cl_a, TEAM, l1)
                # the leder adds a member
                l2 = make_link("member_add", TEAM, 2, team_hash(l1), MEMBER, kl, role="myndighed", pin=pin_m)
                res["add"] = await append(cl_l, TEAM, l2)
                h2 = team_hash(l2)
                # a member who is not a leder adds someone: forbidden
                res["by_member"] = await append(cl_m, TEAM, make_link("member_add", TEAM, 3, h2, AGENT, km,
                                                                       role="agent", pin=pin_ag))
                # an outsider (another team's leder): not_member
                res["by_outsider"] = await append(cl_o, TEAM, make_link("member_remove", TEAM, 3, h2, MEMBER, ko))
                # a member placed in another team by the municipality: bad_input
                res["elsewhere"] = await append(cl_l, TEAM, make_link("member_add", TEAM, 3, h2, ELSEWHERE, kl,
                                                                       role="myndighed", pin=pin_el))
                # a broken prev and a fork: bad_chain
                res["bad_prev"] = await append(cl_l, TEAM, make_link("member_remove", TEAM, 3, os.urandom(32),
                                                                      MEMBER, kl))
                res["fork"] = await append(cl_l, TEAM, make_link("member_remove", TEAM, 2, team_hash(l1), LEDER,
                                                                  kl))
                # a bad signature
                bad = make_link("member_remove", TEAM, 3, h2, MEMBER, kl)
                bad["sigs"][0]["sig"] = b64(os.urandom(64))
                res["bad_sig"] = await append(cl_l, TEAM, bad)
                # another team's chain id in the link: bad_chain
                res["other_id"] = await append(cl_l, TEAM, make_link("member_remove", OTHER_TEAM, 3, h2, MEMBER,
                                                                      kl))
                final = await team_links(cl_m, TEAM)
                res["final"] = final
                res["expected"] = [l1, l2]
            return res

        try:
            res = harness.run(scenario())
        except Exception as e:  # noqa: BLE001
            res = {}
            c("the raw scenario ran", False, repr(e))

        def code(key):
            return (res.get(key) or {}).get("code")
        c("logins of the raw clients", "login" not in res, json.dumps(res.get("login"))[:200])
        c("hello carries root_pk, the root key file's public key", res.get("hello_root") == b64(root_pk),
          str(res.get("hello_root")))
        c("chain_get org: enroll_key, gateway_key, admin_add; no certs or revoked",
          res.get("org_links") == ["enroll_key", "gateway_key", "admin_add"] and res.get("org_certs") == ([], []),
          str(res.get("org_links")))
        for key, want, what in (("org_bad_id", "bad_frame", "chain_get org with a chain id other than org"),
                                ("org_append", "forbidden", "chain_append of an org link over the wire"),
                                ("unknown_team", "not_found", "chain_get of a team the municipality lacks"),
                                ("create_by_leder", "not_member", "team_create by a leder who is no admin"),
                                ("foreign_key", "forbidden", "a link signed with another user's key"),
                                ("stale_pin", "stale_key", "a pin that is not the member's current user key"),
                                ("wrong_team", "bad_input", "team_create naming another team's leder"),
                                ("by_member", "forbidden", "member_add by a member who is not a leder"),
                                ("by_outsider", "not_member", "member_remove by an outsider"),
                                ("elsewhere", "bad_input", "member_add of a user placed in another team"),
                                ("bad_prev", "bad_chain", "a broken prev"),
                                ("fork", "bad_chain", "a fork (a second link 2)"),
                                ("bad_sig", "bad_signature", "a bad signature"),
                                ("other_id", "bad_chain", "another team's chain id in the link")):
            c(f"{what}: {want}", code(key) == want, json.dumps(res.get(key))[:300])
        c("a team without a chain has no links", (res.get("empty") or {}).get("links") == [],
          json.dumps(res.get("empty"))[:200])
        c("nothing was stored by the refused team_create attempts", res.get("after_refusals") == [],
          str(res.get("after_refusals"))[:200])
        c("the admin creates the team naming its leder: chain_ok seq 1",
          (res.get("create") or {}).get("type") == "chain_ok" and res["create"].get("seq") == 1,
          json.dumps(res.get("create"))[:300])
        c("the leder adds a member: chain_ok seq 2",
          (res.get("add") or {}).get("type") == "chain_ok" and res["add"].get("seq") == 2,
          json.dumps(res.get("add"))[:300])
        final = res.get("final") or {}
        c("the stored chain is exactly the two accepted links, as sent",
          final.get("links") == res.get("expected") and final.get("certs") == [] and final.get("revoked") == [],
          json.dumps(final)[:300])

        # -- an edited row is refused on every read --
        db = env.db()
        try:
            row = db.execute("SELECT link_json FROM chain_links WHERE kind = 'team' AND chain = ? AND seq = 2",
                             (TEAM,)).fetchone()
            edited = json.loads(row[0])
            edited["role"] = "leder"
            db.execute("UPDATE chain_links SET link_json = ? WHERE kind = 'team' AND chain = ? AND seq = 2",
                       (json.dumps(edited, separators=(",", ":"), sort_keys=True), TEAM))
            db.commit()
        finally:
            db.close()

        async def read(kind, chain):
            async with RawClient(url, ca) as cl:
                await cl.login(mb.id, mb.signing_key)
                return await request(cl, {"type": "chain_get", "id": "r", "kind": kind, "chain": chain})
        got = harness.run(read("team", TEAM))
        c("an edited team link: chain_get answers bad_chain", got.get("code") == "bad_chain", json.dumps(got)[:200])
        rc, out, err = env.cli(h[MEMBER], "team", "show", TEAM)
        c("... and varsko team show refuses it: bad_chain", rc != 0 and "bad_chain" in err, out_of(rc, out, err))
        db = env.db()
        try:
            db.execute("UPDATE chain_links SET link_json = ? WHERE kind = 'team' AND chain = ? AND seq = 2",
                       (json.dumps(row and json.loads(row[0]), separators=(",", ":"), sort_keys=True), TEAM))
            ol = db.execute("SELECT link_json FROM chain_links WHERE kind = 'org' AND seq = 3").fetchone()
            o = json.loads(ol[0])
            o["user"] = LEDER
            db.execute("UPDATE chain_links SET link_json = ? WHERE kind = 'org' AND seq = 3",
                       (json.dumps(o, separators=(",", ":"), sort_keys=True),))
            db.commit()
        finally:
            db.close()
        got = harness.run(read("org", "org"))
        c("an edited org link (another admin): chain_get org answers bad_chain", got.get("code") == "bad_chain",
          json.dumps(got)[:200])
        got = harness.run(read("team", TEAM))
        c("... and so does every team chain, whose admins come from it", got.get("code") == "bad_chain",
          json.dumps(got)[:200])
        rc, out, err = env.ctl("org", "show")
        c("varskoctl org show refuses the edited org chain: bad_chain", rc != 0 and "bad_chain" in err,
          out_of(rc, out, err))
        rc, out, err = env.cli(h[OUTSIDER], "team", "show", OTHER_TEAM)
        c("varsko team show refuses a team whose admins come from the edited org chain",
          rc != 0 and "bad_chain" in err, out_of(rc, out, err))

        # -- a server that drops the root: a home that pinned it refuses to log in --
        env.stop_varskod()
        db = env.db()
        try:
            db.execute("DELETE FROM meta WHERE key = 'org_root_pk'")
            db.execute("DELETE FROM chain_links WHERE kind = 'org'")
            db.commit()
        finally:
            db.close()
        env.start_varskod()
        rc, out, err = env.cli(h[MEMBER], "whoami")
        c("hello without root_pk: a home that pinned the root refuses (bad_chain)",
          rc != 0 and "bad_chain" in err, out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
