#!/usr/bin/python3
"""Consultation threads in varskod (PROTOCOL.md 17.3 to 17.5), end to end.

Real varskod and varskoctl, the real `varsko` CLI for the users' devices and
user keys, and raw frames for the rest: thread chain links signed here with
the users' own user keys (opened from their devices' key boxes), envelopes
sealed here to the members' user keys, read marks signed with the devices'
keys, all written from PROTOCOL.md 13.3, 11.2 and 17.1.

Users of the demo municipality: laerer-anna (fagperson at
inst-nordskovskolen), raadgiver-sofie (the rådgiver assigned to it, team
team-slagelse), leder-thomas (leder of team-slagelse), laerer-jonas
(fagperson at another institution), and myndighed-lene, agent-team-slagelse
and admin-ole (never members).

- thread_create without the assigned rådgiver is bad_input; by a leder or a
  myndighed forbidden; for an institution that is not the creator's
  forbidden; with a pin that is not the creator's current key stale_key;
  with sofie from the start thread_ok (pushed to sofie as thread_changed),
  the same links again thread_ok, other links under the same id exists.
- thread_get, thread_list for members; not_found for the outsider jonas
  (get, send, sync, mark) and for an unknown thread; forbidden for lene, the
  agent and the admin.
- thread_send from anna: seq 1, pushed to sofie's session, not to jonas's or
  anna's own; the same id and envelope again: duplicate, the same seq; the
  same id with another envelope: exists; recipients missing sofie or
  including jonas: not_member; sealed against an older version: stale_key;
  routing naming another thread: bad_input; a bad signature: bad_signature.
- thread_append: adding jonas (another institution) forbidden; sofie adds
  leder-thomas (her team's leder): thread_ok; thomas signing an add (neither
  creator nor rådgiver): forbidden; sofie removes thomas: he gets
  thread_changed, then nothing of later messages, and thread_sync and
  thread_get answer him not_found.
- thread_mark: a valid mark is stored once and pushed to the sender; a mark
  for another user forbidden; a bad signature bad_signature; a message the
  user is no recipient of not_found.
- thread_sync: each member gets the messages sealed to them, with marks, in
  seq order, paged with before/after, limit and more.
- Sends sent together (group commit), one of them refused: each is answered
  as if it had been alone (seq 4, stale_key, seq 5, a duplicate of 4).
- Every refusal stores nothing (row counts). An edited thread link makes
  thread_get answer bad_chain. The message's text and title appear neither
  in the database nor in varskod's log; the audit log has the thread's
  writes with ids only.
"""

import base64
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RawClient, b64, field, field_i64, field_u64, unb64  # noqa: E402
from test_team_chain import user_key as team_user_key  # noqa: E402
from test_user_keys import Home, out_of, parse_time  # noqa: E402

harness.require_modules()
import flowlib  # noqa: E402

ZERO32 = bytes(32)
ANNA, SOFIE, THOMAS, JONAS, LENE = "laerer-anna", "raadgiver-sofie", "leder-thomas", "laerer-jonas", \
    "myndighed-lene"
AGENT, ADMIN = "agent-team-slagelse", "admin-ole"
INST, OTHER_INST = "inst-nordskovskolen", "inst-halsskov-strandskole"
# Fixture text of a message (fictional); it must never appear outside ciphertext.
SECRET = "Fiktiv bekymring om eleven Sofus Eksempelsen i 3.b"
TITLE = "Sparring om Sofus Eksempelsen"


def b32id(prefix, label):
    """A canonical thread or message id (PROTOCOL.md 13.1, 17.1) derived from a label: deterministic."""
    raw = hashlib.sha256(b"test_thread_server:" + label.encode()).digest()[:16]
    return prefix + base64.b32encode(raw).decode().rstrip("=")


# ---- PROTOCOL.md 13.3 and 17.1, written from the text ----------------------------------

def thread_link_input(link):
    op = link["op"]
    pinned = op in ("thread_create", "thread_member_add")
    return (field("varsko-threadlink-v1") + field(link["thread"]) + field_u64(link["seq"]) +
            field(unb64(link["prev"])) + field(op) + field(link.get("institution", "")) +
            field_u64(1 if link.get("anonymous") else 0) + field(link["user"]) +
            field(link.get("role", "") if pinned else "") + field_u64(link.get("uk_generation", 0)) +
            field(unb64(link["uk_sign_pk"]) if pinned else ZERO32) + field_i64(parse_time(link["time"])))


def link_hash(link):
    return hashlib.sha256(thread_link_input(link)).digest()


def make_link(op, thread, seq, prev, user, signer, role=None, pin=None, institution=None, anonymous=None, t=None):
    """A thread link signed by signer (a nacl SigningKey); pin = (generation, uk_sign_pk b64)."""
    link = {"op": op, "thread": thread, "seq": seq, "prev": b64(prev), "user": user,
            "time": harness.fmt_time(t if t is not None else time.time())}
    if op == "thread_create":
        link["institution"], link["anonymous"] = institution, bool(anonymous)
    if role is not None:
        link["role"] = role
    if pin is not None:
        link["uk_generation"], link["uk_sign_pk"] = pin
    link["sigs"] = [{"pk": b64(bytes(signer.verify_key)),
                     "sig": b64(signer.sign(thread_link_input(link)).signature)}]
    return link


def routing(thread, version, kind="text"):
    return field("varsko-threadmsg-v1") + field(thread) + field_u64(version) + field(kind)


def mark_input(m):
    return (field("varsko-threadreceipt-v1") + field(m["thread"]) + field_u64(m["seq"]) + field(m["message"]) +
            field(unb64(m["envelope_hash"])) + field(m["kind"]) + field(m["user"]) + field(m["device"]) +
            field_i64(parse_time(m["time"])))


def make_mark(home, thread, seq, message, env, kind, user=None, t=None):
    m = {"thread": thread, "seq": seq, "message": message, "envelope_hash": b64(flowlib.envelope_hash(env)),
         "kind": kind, "user": user or home.user, "device": home.id,
         "time": harness.fmt_time(t if t is not None else time.time())}
    m["sig"] = b64(home.signing_key.sign(mark_input(m)).signature)
    return m


# ---- raw frames ---------------------------------------------------------------------------

async def req(cl, frame):
    """Send a frame and return its answer; pushes that arrive meanwhile are kept in cl.pushes."""
    if not hasattr(cl, "pushes"):
        cl.pushes = []
    try:
        await cl.send(frame)
        while True:
            a = await cl.recv()
            if "id" in a or a.get("type") == "error":
                return a
            cl.pushes.append(a)
    except harness.Closed as e:
        return {"type": "closed", "code": e.code}


def pushes(cl, kind):
    return [p for p in getattr(cl, "pushes", []) if p.get("type") == kind]


async def user_key(cl, home):
    """The user's current user key (SigningKey), its pin (generation, uk_sign_pk) and its recipient (key id, box_pk)."""
    sk, pin = await team_user_key(cl, home)
    ch = await req(cl, {"type": "chain_get", "id": "ur", "kind": "user", "chain": home.user})
    return sk, pin, flowlib.user_key_recipient(ch)


def seal(home, thread, version, message, recipients, text=SECRET, title=None, kind="thread_message"):
    """A thread message envelope from home's device to recipients [(key id, box_pk)]."""
    pt = {"text": text}
    if title is not None:
        pt["title"] = title
    sk = bytes(home.signing_key) + bytes(home.signing_key.verify_key)
    return flowlib.seal(kind, message, home.id, sk, recipients, routing(thread, version),
                        json.dumps(pt, separators=(",", ":"), ensure_ascii=False).encode())


def main():
    checks = harness.Checks()
    c = checks.check
    harness.load_demo()

    with harness.Env() as env:
        env.make_certs()
        env.write_config()
        for args in (("init",), ("import", harness.demo_file())):
            rc, out, err = env.ctl(*args)
            if not c(f"varskoctl {args[0]}", rc == 0, out_of(rc, out, err)):
                return checks.done()
        env.start_varskod()
        url, ca = env.ws_url, env.ca
        homes = {}
        for user in (ANNA, SOFIE, THOMAS, JONAS, LENE, AGENT, ADMIN):
            inv = env.invite(user)
            home = env.path("home-" + user)
            rc, out, err = env.cli(home, "enroll", "--server", url, "--code", inv["code"], "--fingerprint",
                                   inv["org_fingerprint"], ca=ca)
            if not c(f"{user} enrolls and makes a user key", rc == 0, out_of(rc, out, err)):
                return checks.done()
            homes[user] = Home(home)
        a, s, t, j, ln = (homes[u] for u in (ANNA, SOFIE, THOMAS, JONAS, LENE))

        def counts():
            db = env.db()
            try:
                return tuple(db.execute(q).fetchone()[0] for q in (
                    "SELECT count(*) FROM threads", "SELECT count(*) FROM chain_links WHERE kind = 'thread'",
                    "SELECT count(*) FROM thread_messages", "SELECT count(*) FROM thread_recipients",
                    "SELECT count(*) FROM thread_marks", "SELECT count(*) FROM thread_members"))
            finally:
                db.close()

        th = b32id("T-", "thread-1")
        other_th = b32id("T-", "thread-2")
        m1, m2, m3 = b32id("M-", "m1"), b32id("M-", "m2"), b32id("M-", "m3")
        res = {}

        async def scenario():
            async with RawClient(url, ca) as ca_, RawClient(url, ca) as cs, RawClient(url, ca) as ct, \
                    RawClient(url, ca) as cj, RawClient(url, ca) as cl:
                for cl_, h in ((ca_, a), (cs, s), (ct, t), (cj, j), (cl, ln)):
                    got = await cl_.login(h.id, h.signing_key)
                    if got.get("type") != "session":
                        res["login"] = got
                        return
                ka, pin_a, rc_a = await user_key(ca_, a)
                ks, pin_s, rc_s = await user_key(cs, s)
                kt, pin_t, rc_t = await user_key(ct, t)
                kj, pin_j, rc_j = await user_key(cj, j)
                kl, pin_l, _ = await user_key(cl, ln)
                t0 = time.time()

                def create_links(tid, with_sofie=True, inst=INST, pin=pin_a, t_=t0):
                    l1 = make_link("thread_create", tid, 1, ZERO32, ANNA, ka, role="fagperson", pin=pin,
                                   institution=inst, anonymous=False, t=t_)
                    out = [l1]
                    if with_sofie:
                        out.append(make_link("thread_member_add", tid, 2, link_hash(l1), SOFIE, ka, role="raadgiver",
                                             pin=pin_s, t=t_))
                    return out

                # -- thread_create: refusals, nothing stored --
                before = counts()
                res["no_sofie"] = await req(ca_, {"type": "thread_create", "id": "c1",
                                                  "links": create_links(th, with_sofie=False)})
                res["lene_create"] = await req(cl, {"type": "thread_create", "id": "c2", "links": [
                    make_link("thread_create", th, 1, ZERO32, LENE, kl, role="fagperson", pin=pin_l,
                              institution=INST, anonymous=False)]})
                res["thomas_create"] = await req(ct, {"type": "thread_create", "id": "c3", "links": [
                    make_link("thread_create", th, 1, ZERO32, THOMAS, kt, role="fagperson", pin=pin_t,
                              institution=INST, anonymous=False)]})
                res["other_inst"] = await req(ca_, {"type": "thread_create", "id": "c4",
                                                    "links": create_links(th, inst=OTHER_INST)})
                res["stale_pin"] = await req(ca_, {"type": "thread_create", "id": "c5",
                                                   "links": create_links(th, pin=(pin_a[0] + 1, pin_a[1]))})
                res["creator_refusals_stored"] = counts() != before

                # -- the thread, with sofie from the start --
                links = create_links(th)
                res["create"] = await req(ca_, {"type": "thread_create", "id": "c6", "links": links})
                res["after_create"] = counts()
                res["create_again"] = await req(ca_, {"type": "thread_create", "id": "c7", "links": links})
                res["create_other"] = await req(ca_, {"type": "thread_create", "id": "c8",
                                                      "links": create_links(th, t_=t0 + 1)})
                res["create_again_stored"] = counts() != res["after_create"]
                res["get_anna"] = await req(ca_, {"type": "thread_get", "id": "g1", "thread": th})
                res["get_sofie"] = await req(cs, {"type": "thread_get", "id": "g2", "thread": th})
                res["sofie_changed"] = pushes(cs, "thread_changed")
                res["get_jonas"] = await req(cj, {"type": "thread_get", "id": "g3", "thread": th})
                res["get_lene"] = await req(cl, {"type": "thread_get", "id": "g4", "thread": th})
                res["get_unknown"] = await req(ca_, {"type": "thread_get", "id": "g5", "thread": other_th})
                res["list_anna"] = await req(ca_, {"type": "thread_list", "id": "l1"})
                res["list_jonas"] = await req(cj, {"type": "thread_list", "id": "l2"})
                res["list_lene"] = await req(cl, {"type": "thread_list", "id": "l3"})
                # thread_raadgivere: whom a creating client must add (PROTOCOL.md 17.3).
                res["raad_anna"] = await req(ca_, {"type": "thread_raadgivere", "id": "r1",
                                                   "institution": "inst-nordskovskolen"})
                res["raad_jonas"] = await req(cj, {"type": "thread_raadgivere", "id": "r2",
                                                   "institution": "inst-nordskovskolen"})
                res["raad_lene"] = await req(cl, {"type": "thread_raadgivere", "id": "r3",
                                                  "institution": "inst-nordskovskolen"})
                res["raad_unknown"] = await req(ca_, {"type": "thread_raadgivere", "id": "r4",
                                                      "institution": "inst-findes-ikke"})
                for who in (AGENT, ADMIN):
                    async with RawClient(url, ca) as cx:
                        await cx.login(homes[who].id, homes[who].signing_key)
                        res["list_" + who] = await req(cx, {"type": "thread_list", "id": "lx"})
                        res["get_" + who] = await req(cx, {"type": "thread_get", "id": "gx", "thread": th})
                res["links"] = links

                # -- thread_send --
                e1 = seal(a, th, 2, m1, [rc_a, rc_s], title=TITLE)
                res["send"] = await req(ca_, {"type": "thread_send", "id": "s1", "thread": th, "envelope": e1})
                res["sofie_sync_ping"] = await req(cs, {"type": "thread_list", "id": "p1"})
                res["sofie_msgs"] = pushes(cs, "thread_message")
                res["e1"] = e1
                res["jonas_ping"] = await req(cj, {"type": "thread_list", "id": "p2"})
                res["jonas_msgs"] = pushes(cj, "thread_message")
                res["anna_msgs"] = pushes(ca_, "thread_message")
                after_send = counts()
                res["resend"] = await req(ca_, {"type": "thread_send", "id": "s2", "thread": th, "envelope": e1})
                res["reseal"] = await req(ca_, {"type": "thread_send", "id": "s3", "thread": th,
                                                "envelope": seal(a, th, 2, m1, [rc_a, rc_s])})
                res["missing_sofie"] = await req(ca_, {"type": "thread_send", "id": "s4", "thread": th,
                                                       "envelope": seal(a, th, 2, m2, [rc_a])})
                res["with_jonas"] = await req(ca_, {"type": "thread_send", "id": "s5", "thread": th,
                                                    "envelope": seal(a, th, 2, m2, [rc_a, rc_s, rc_j])})
                res["other_thread"] = await req(ca_, {"type": "thread_send", "id": "s6", "thread": th,
                                                      "envelope": seal(a, other_th, 2, m2, [rc_a, rc_s])})
                bad = seal(a, th, 2, m2, [rc_a, rc_s])
                bad["sig"] = b64(os.urandom(64))
                res["bad_sig"] = await req(ca_, {"type": "thread_send", "id": "s7", "thread": th, "envelope": bad})
                # an envelope that claims another sender (sofie's device) than the session's (anna's)
                other = seal(a, th, 2, m2, [rc_a, rc_s])
                other["sender"] = s.id
                res["other_sender"] = await req(ca_, {"type": "thread_send", "id": "s7o", "thread": th,
                                                      "envelope": other})
                # a thread message moved into an underretning: submit refuses what is not of kind underretning
                res["moved_to_submit"] = await req(ca_, {"type": "submit", "id": "s7u", "envelope": e1})
                res["wrong_kind"] = await req(ca_, {"type": "thread_send", "id": "s8", "thread": th,
                                                    "envelope": seal(a, th, 2, m2, [rc_a, rc_s], kind="message")})
                res["jonas_send"] = await req(cj, {"type": "thread_send", "id": "s9", "thread": th,
                                                   "envelope": seal(j, th, 2, m2, [rc_a, rc_s])})
                res["jonas_sync"] = await req(cj, {"type": "thread_sync", "id": "y0", "thread": th, "after": 0})
                res["jonas_mark"] = await req(cj, {"type": "thread_mark", "id": "k0",
                                                   "mark": make_mark(j, th, 1, m1, e1, "leveret")})
                res["send_refusals_stored"] = counts() != after_send

                # -- thread_append --
                h2 = link_hash(links[1])
                before = counts()
                res["add_jonas"] = await req(cs, {"type": "thread_append", "id": "a1", "thread": th, "link":
                                                  make_link("thread_member_add", th, 3, h2, JONAS, ks,
                                                            role="fagperson", pin=pin_j)})
                res["add_lene"] = await req(cs, {"type": "thread_append", "id": "a2", "thread": th, "link":
                                                 make_link("thread_member_add", th, 3, h2, LENE, ks,
                                                           role="myndighed", pin=pin_l)})
                res["add_stale"] = await req(cs, {"type": "thread_append", "id": "a3", "thread": th, "link":
                                                  make_link("thread_member_add", th, 3, h2, THOMAS, ks,
                                                            role="leder", pin=(pin_t[0], b64(os.urandom(32))))})
                res["add_by_outsider"] = await req(cj, {"type": "thread_append", "id": "a4", "thread": th, "link":
                                                        make_link("thread_member_add", th, 3, h2, JONAS, kj,
                                                                  role="fagperson", pin=pin_j)})
                res["add_refusals_stored"] = counts() != before
                l3 = make_link("thread_member_add", th, 3, h2, THOMAS, ks, role="leder", pin=pin_t)
                res["add_thomas"] = await req(cs, {"type": "thread_append", "id": "a5", "thread": th, "link": l3})
                h3 = link_hash(l3)
                before = counts()
                res["thomas_adds"] = await req(ct, {"type": "thread_append", "id": "a6", "thread": th, "link":
                                                    make_link("thread_member_add", th, 4, h3, JONAS, kt,
                                                              role="fagperson", pin=pin_j)})
                res["thomas_removes"] = await req(ct, {"type": "thread_append", "id": "a7", "thread": th, "link":
                                                       make_link("thread_member_remove", th, 4, h3, SOFIE, kt)})
                res["fork"] = await req(cs, {"type": "thread_append", "id": "a8", "thread": th, "link":
                                             make_link("thread_member_remove", th, 3, h2, ANNA, ks)})
                res["stale"] = await req(ca_, {"type": "thread_send", "id": "s10", "thread": th,
                                               "envelope": seal(a, th, 2, m2, [rc_a, rc_s])})
                res["append_refusals_stored"] = counts() != before
                e2 = seal(a, th, 3, m2, [rc_a, rc_s, rc_t])
                res["send2"] = await req(ca_, {"type": "thread_send", "id": "s11", "thread": th, "envelope": e2})
                res["thomas_ping"] = await req(ct, {"type": "thread_list", "id": "p3"})
                res["thomas_changed"] = pushes(ct, "thread_changed")
                res["thomas_msgs"] = pushes(ct, "thread_message")

                # -- thread_mark --
                before = counts()
                res["mark_forged"] = await req(cs, {"type": "thread_mark", "id": "k1",
                                                    "mark": make_mark(s, th, 1, m1, e1, "leveret", user=ANNA)})
                badm = make_mark(s, th, 1, m1, e1, "leveret")
                badm["sig"] = b64(os.urandom(64))
                res["mark_bad_sig"] = await req(cs, {"type": "thread_mark", "id": "k2", "mark": badm})
                res["mark_wrong_hash"] = await req(cs, {"type": "thread_mark", "id": "k3",
                                                        "mark": make_mark(s, th, 1, m1, e2, "leveret")})
                res["mark_not_recipient"] = await req(ct, {"type": "thread_mark", "id": "k4",
                                                           "mark": make_mark(t, th, 1, m1, e1, "leveret")})
                res["mark_refusals_stored"] = counts() != before
                mk = make_mark(s, th, 1, m1, e1, "leveret")
                res["mark"] = await req(cs, {"type": "thread_mark", "id": "k5", "mark": mk})
                res["mark_again"] = await req(cs, {"type": "thread_mark", "id": "k6", "mark": mk})
                res["mark_laest"] = await req(cs, {"type": "thread_mark", "id": "k7",
                                                   "mark": make_mark(s, th, 1, m1, e1, "laest")})
                res["anna_ping"] = await req(ca_, {"type": "thread_list", "id": "p4"})
                res["anna_marks"] = pushes(ca_, "thread_mark")
                res["mk"] = mk

                # -- thread_sync --
                res["sync_sofie"] = await req(cs, {"type": "thread_sync", "id": "y1", "thread": th, "after": 0})
                res["sync_thomas"] = await req(ct, {"type": "thread_sync", "id": "y2", "thread": th, "after": 0})
                res["sync_page"] = await req(cs, {"type": "thread_sync", "id": "y3", "thread": th, "before": 3,
                                                  "limit": 1})
                res["sync_both"] = await req(cs, {"type": "thread_sync", "id": "y4", "thread": th, "after": 0,
                                                  "before": 3})

                # -- removal: thomas gets the change, then nothing --
                l4 = make_link("thread_member_remove", th, 4, h3, THOMAS, ks)
                n_changed = len(pushes(ct, "thread_changed"))
                res["remove"] = await req(cs, {"type": "thread_append", "id": "a9", "thread": th, "link": l4})
                e3 = seal(a, th, 4, m3, [rc_a, rc_s])
                res["send3"] = await req(ca_, {"type": "thread_send", "id": "s12", "thread": th, "envelope": e3})
                res["removed_sync"] = await req(ct, {"type": "thread_sync", "id": "y5", "thread": th, "after": 0})
                res["removed_get"] = await req(ct, {"type": "thread_get", "id": "g6", "thread": th})
                res["removed_list"] = await req(ct, {"type": "thread_list", "id": "l4"})
                res["removed_changed"] = pushes(ct, "thread_changed")[n_changed:]
                res["removed_msgs"] = pushes(ct, "thread_message")
                res["sofie_ping2"] = await req(cs, {"type": "thread_list", "id": "p5"})
                res["sofie_msgs2"] = pushes(cs, "thread_message")
                res["list_anna2"] = await req(ca_, {"type": "thread_list", "id": "l5"})

                # -- group commit: sends sent together, one of them refused, each answered as if alone --
                m4, m5, m6 = b32id("M-", "m4"), b32id("M-", "m5"), b32id("M-", "m6")
                e4 = seal(a, th, 4, m4, [rc_a, rc_s])
                batch = [("b1", e4), ("b2", seal(a, th, 3, m5, [rc_a, rc_s, rc_t])),
                         ("b3", seal(a, th, 4, m6, [rc_a, rc_s])), ("b4", e4)]
                for rid, e in batch:
                    await ca_.send({"type": "thread_send", "id": rid, "thread": th, "envelope": e})
                answers = {}
                while len(answers) < len(batch):
                    f = await ca_.recv()
                    if "id" in f:
                        answers[f["id"]] = f
                res["batch"] = [answers[rid] for rid, _ in batch]
                res["sync_after_limit"] = await req(cs, {"type": "thread_sync", "id": "y6", "thread": th, "after": 0,
                                                         "limit": 2})
                # a removed member may still mark a message that was sealed to him (17.3: its recipients)
                res["removed_mark"] = await req(ct, {"type": "thread_mark", "id": "k8",
                                                     "mark": make_mark(t, th, 2, m2, e2, "laest")})

        try:
            harness.run(scenario())
        except Exception as e:  # noqa: BLE001
            c("the raw scenario ran", False, repr(e))

        def code(key):
            return (res.get(key) or {}).get("code")

        def dump(key):
            return json.dumps(res.get(key))[:300]

        c("logins of the raw clients", "login" not in res, dump("login"))
        for key, want, what in (
                ("no_sofie", "bad_input", "thread_create without the assigned raadgiver"),
                ("lene_create", "forbidden", "thread_create by a myndighed"),
                ("thomas_create", "forbidden", "thread_create by a leder"),
                ("other_inst", "forbidden", "thread_create at an institution that is not the creator's"),
                ("stale_pin", "stale_key", "thread_create pinning a key that is not the creator's current one"),
                ("create_other", "exists", "another thread_create under a thread id that is taken"),
                ("get_jonas", "not_found", "thread_get by the outsider"),
                ("get_lene", "forbidden", "thread_get by a myndighed"),
                ("list_lene", "forbidden", "thread_list by a myndighed"),
                ("list_" + AGENT, "forbidden", "thread_list by an agent"),
                ("get_" + AGENT, "forbidden", "thread_get by an agent"),
                ("list_" + ADMIN, "forbidden", "thread_list by an admin"),
                ("get_" + ADMIN, "forbidden", "thread_get by an admin"),
                ("get_unknown", "not_found", "thread_get of an unknown thread"),
                ("raad_jonas", "not_found", "thread_raadgivere for an institution that is not the caller's"),
                ("raad_lene", "forbidden", "thread_raadgivere by a myndighed"),
                ("raad_unknown", "not_found", "thread_raadgivere for an institution that does not exist"),
                ("reseal", "exists", "the same message id with another envelope"),
                ("missing_sofie", "not_member", "recipients missing the raadgiver"),
                ("with_jonas", "not_member", "recipients including the outsider"),
                ("other_thread", "bad_input", "an envelope whose routing names another thread"),
                ("bad_sig", "bad_signature", "an envelope with a bad signature"),
                ("wrong_kind", "bad_input", "an envelope of another kind"),
                ("moved_to_submit", "bad_input", "a thread message's envelope submitted as an underretning"),
                ("other_sender", "bad_input", "an envelope claiming a sender device other than the session's"),
                ("jonas_send", "not_found", "thread_send by the outsider"),
                ("jonas_sync", "not_found", "thread_sync by the outsider"),
                ("jonas_mark", "not_found", "thread_mark by the outsider"),
                ("add_jonas", "forbidden", "adding a fagperson of another institution"),
                ("add_lene", "bad_frame", "adding a myndighed (not a thread role)"),
                ("add_stale", "stale_key", "adding with a pin that is not the member's current key"),
                ("add_by_outsider", "not_found", "thread_append by the outsider"),
                ("thomas_adds", "forbidden", "an add signed by a member who is neither creator nor raadgiver"),
                ("thomas_removes", "forbidden", "a remove signed by a member who is neither creator nor raadgiver"),
                ("fork", "bad_chain", "a link that forks the chain"),
                ("stale", "stale_key", "a message sealed against the version before an add"),
                ("mark_forged", "forbidden", "a mark for another user"),
                ("mark_bad_sig", "bad_signature", "a mark with a bad signature"),
                ("mark_wrong_hash", "not_found", "a mark naming another envelope hash"),
                ("mark_not_recipient", "not_found", "a mark by a member the message was not sealed to"),
                ("sync_both", "bad_frame", "thread_sync with both after and before"),
                ("removed_sync", "not_found", "thread_sync by a removed member"),
                ("removed_get", "not_found", "thread_get by a removed member")):
            c(f"{what}: {want}", code(key) == want, dump(key))
        for key in ("creator_refusals_stored", "create_again_stored", "send_refusals_stored",
                    "add_refusals_stored", "append_refusals_stored", "mark_refusals_stored"):
            c(f"nothing stored by the refusals ({key})", res.get(key) is False, str(res.get(key)))

        cr = res.get("create") or {}
        c("thread_create with the raadgiver from the start: thread_ok, version 2",
          cr.get("type") == "thread_ok" and cr.get("thread") == th and cr.get("version") == 2, dump("create"))
        c("... one thread, two links, two members stored", res.get("after_create") == (1, 2, 0, 0, 0, 2),
          str(res.get("after_create")))
        again = res.get("create_again") or {}
        c("the same thread_create again: thread_ok, version 2", again.get("type") == "thread_ok" and
          again.get("version") == 2, dump("create_again"))
        c("sofie's session is told of the new thread (thread_changed, version 2)",
          [(p.get("thread"), p.get("version")) for p in res.get("sofie_changed", [])] == [(th, 2)],
          dump("sofie_changed"))
        for key in ("get_anna", "get_sofie"):
            g = res.get(key) or {}
            c(f"thread_get ({key}): the stored links as sent", g.get("type") == "thread" and
              g.get("links") == res.get("links"), dump(key))
        la = res.get("list_anna") or {}
        c("thread_list: anna's thread with its institution, version and no message yet",
          la.get("threads") == [{"thread": th, "institution": INST, "anonymous": False, "version": 2,
                                 "last_seq": 0}], dump("list_anna"))
        c("thread_raadgivere: the rådgiver assigned to anna's institution",
          (res.get("raad_anna") or {}).get("type") == "raadgivere" and
          res["raad_anna"].get("users") == ["raadgiver-sofie"] and
          res["raad_anna"].get("institution") == "inst-nordskovskolen", dump("raad_anna"))
        c("thread_list of the outsider is empty", (res.get("list_jonas") or {}).get("threads") == [],
          dump("list_jonas"))

        snd = res.get("send") or {}
        c("thread_send: seq 1, not a duplicate", snd.get("type") == "thread_sent" and snd.get("seq") == 1 and
          snd.get("message") == m1 and snd.get("duplicate") is False and snd.get("thread") == th, dump("send"))
        sm = res.get("sofie_msgs") or []
        c("sofie's session gets the message pushed, as sent, with anna's certificate",
          len(sm) == 1 and sm[0].get("seq") == 1 and sm[0].get("envelope") == res.get("e1") and
          sm[0].get("sender_cert", {}).get("device") == a.id and sm[0].get("received") == snd.get("received"),
          json.dumps(sm)[:300])
        c("the outsider's session gets nothing", res.get("jonas_msgs") == [], dump("jonas_msgs"))
        c("the sending session gets no push of its own message", res.get("anna_msgs") == [], dump("anna_msgs"))
        rs = res.get("resend") or {}
        c("the same message again: duplicate, the same seq and time", rs.get("type") == "thread_sent" and
          rs.get("seq") == 1 and rs.get("duplicate") is True and rs.get("received") == snd.get("received"),
          dump("resend"))

        c("sofie adds leder-thomas (her team's leder): thread_ok, version 3",
          (res.get("add_thomas") or {}).get("type") == "thread_ok" and res["add_thomas"].get("version") == 3,
          dump("add_thomas"))
        s2 = res.get("send2") or {}
        c("a message sealed to the three members at version 3: seq 2", s2.get("type") == "thread_sent" and
          s2.get("seq") == 2, dump("send2"))
        c("thomas's session gets it pushed (and not message 1)",
          [p.get("seq") for p in res.get("thomas_msgs", [])] == [2], dump("thomas_msgs"))

        mk = res.get("mark") or {}
        c("sofie's leveret mark: mark_ok", mk.get("type") == "mark_ok" and mk.get("seq") == 1 and
          mk.get("thread") == th, dump("mark"))
        c("the same mark again: mark_ok", (res.get("mark_again") or {}).get("type") == "mark_ok", dump("mark_again"))
        c("her laest mark: mark_ok", (res.get("mark_laest") or {}).get("type") == "mark_ok", dump("mark_laest"))
        am = res.get("anna_marks") or []
        c("the sender gets each new mark pushed once, with the marking device's certificate",
          [p.get("mark", {}).get("kind") for p in am] == ["leveret", "laest"] and am[0].get("mark") == res.get("mk")
          and am[0].get("cert", {}).get("device") == s.id, json.dumps(am)[:300])

        ys = res.get("sync_sofie") or {}
        msgs = ys.get("messages") or []
        c("thread_sync for sofie: messages 1 and 2 in order, more false",
          ys.get("type") == "messages" and [x.get("seq") for x in msgs] == [1, 2] and ys.get("more") is False,
          dump("sync_sofie"))
        c("... message 1 as sent, with anna's certificate and sofie's two marks",
          len(msgs) == 2 and msgs[0].get("envelope") == res.get("e1") and
          msgs[0].get("sender_cert", {}).get("device") == a.id and
          sorted(m.get("kind") for m in msgs[0].get("marks", [])) == ["laest", "leveret"] and
          msgs[1].get("marks") == [], dump("sync_sofie"))
        yt = res.get("sync_thomas") or {}
        c("thread_sync for thomas: only message 2 (message 1 was not sealed to him)",
          [x.get("seq") for x in yt.get("messages", [])] == [2], dump("sync_thomas"))
        yp = res.get("sync_page") or {}
        c("thread_sync before 3 limit 1: message 2, more true",
          [x.get("seq") for x in yp.get("messages", [])] == [2] and yp.get("more") is True, dump("sync_page"))

        c("sofie removes thomas: thread_ok, version 4",
          (res.get("remove") or {}).get("type") == "thread_ok" and res["remove"].get("version") == 4, dump("remove"))
        c("thomas is told (thread_changed, version 4)",
          [(p.get("thread"), p.get("version")) for p in res.get("removed_changed", [])] == [(th, 4)],
          dump("removed_changed"))
        c("a message after the removal: seq 3", (res.get("send3") or {}).get("seq") == 3, dump("send3"))
        c("the removed member gets no push of it", [p.get("seq") for p in res.get("removed_msgs", [])] == [2],
          dump("removed_msgs"))
        c("... nor the thread in his list", (res.get("removed_list") or {}).get("threads") == [],
          dump("removed_list"))
        c("sofie gets it", [p.get("seq") for p in res.get("sofie_msgs2", [])] == [1, 2, 3], dump("sofie_msgs2"))
        la2 = ((res.get("list_anna2") or {}).get("threads") or [{}])[0]
        c("thread_list after three messages: version 4, last_seq 3, last_time set",
          la2.get("version") == 4 and la2.get("last_seq") == 3 and "last_time" in la2, dump("list_anna2"))

        b = res.get("batch") or [{}] * 4
        c("sends sent together: seq 4, stale_key, seq 5, and the first one again a duplicate of seq 4",
          [x.get("seq") if x.get("type") == "thread_sent" else x.get("code") for x in b] == [4, "stale_key", 5, 4]
          and [x.get("duplicate") for x in b] == [False, None, False, True], dump("batch"))
        ya = res.get("sync_after_limit") or {}
        c("thread_sync after 0 limit 2 for sofie: messages 1 and 2, more true",
          [x.get("seq") for x in ya.get("messages", [])] == [1, 2] and ya.get("more") is True,
          dump("sync_after_limit"))
        c("a removed member marks a message that was sealed to him: mark_ok",
          (res.get("removed_mark") or {}).get("type") == "mark_ok", dump("removed_mark"))

        # -- the database and the log hold no plaintext; the audit log has ids only --
        env.stop_varskod()
        blob = b""
        for suffix in ("", "-wal", "-shm"):
            p = env.database + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    blob += f.read()
        log = env.read_log("varskod")
        for what, needle in (("text", SECRET), ("title", TITLE)):
            c(f"the message's {what} is not in the database", needle.encode() not in blob)
            c(f"the message's {what} is not in varskod's log", needle not in log)
        c("varskod's log names no thread id", th not in log)
        db = env.db()
        try:
            audit = db.execute("SELECT event, detail FROM audit WHERE event LIKE 'thread_%' ORDER BY seq").fetchall()
            recips = db.execute("SELECT seq, user FROM thread_recipients ORDER BY seq, user").fetchall()
        finally:
            db.close()
        c("the audit log has the thread's writes: create, appends, messages",
          [e for e, _ in audit] == ["thread_create", "thread_message", "thread_append", "thread_message",
                                    "thread_append", "thread_message", "thread_message", "thread_message"],
          str(audit))
        c("... with ids only", all(SECRET not in d and TITLE not in d for _, d in audit) and
          audit and audit[0][1] == f"thread={th} version=2", str(audit[:2]))
        c("each message's recipients are stored", recips == [(1, ANNA), (1, SOFIE), (2, ANNA), (2, THOMAS),
                                                             (2, SOFIE), (3, ANNA), (3, SOFIE), (4, ANNA), (4, SOFIE),
                                                             (5, ANNA), (5, SOFIE)], str(recips))

        # -- an edited link: thread_get answers bad_chain --
        db = env.db()
        try:
            row = db.execute("SELECT link_json FROM chain_links WHERE kind = 'thread' AND chain = ? AND seq = 2",
                             (th,)).fetchone()
            edited = json.loads(row[0])
            edited["role"] = "fagperson"
            db.execute("UPDATE chain_links SET link_json = ? WHERE kind = 'thread' AND chain = ? AND seq = 2",
                       (json.dumps(edited, separators=(",", ":"), sort_keys=True), th))
            db.commit()
        finally:
            db.close()
        env.start_varskod()

        async def get_edited():
            async with RawClient(url, ca) as cl_:
                await cl_.login(a.id, a.signing_key)
                return await req(cl_, {"type": "thread_get", "id": "g", "thread": th}), \
                    await req(cl_, {"type": "thread_sync", "id": "y", "thread": th, "after": 0})
        try:
            got, syn = harness.run(get_edited())
        except Exception as e:  # noqa: BLE001
            got, syn = {"error": repr(e)}, {}
        c("an edited thread link: thread_get answers bad_chain", got.get("code") == "bad_chain",
          json.dumps(got)[:200])
        c("... and so does thread_sync", syn.get("code") == "bad_chain", json.dumps(syn)[:200])
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
