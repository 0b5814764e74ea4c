#!/usr/bin/python3
"""crash-receipts (TESTING.md): kill -9 of varskod at random moments during many submissions.

Mosquitto and the agents of team-slagelse and team-korsoer-skaelskoer run
throughout. Four raw WebSocket clients (two sessions each of laerer-anna's
and laerer-jonas's enrolled devices) submit N underretninger in all (sealed
once, up front, with flowlib.seal for the routed roster), each keeping up to
WINDOW submits in flight on its connection. Meanwhile varskod is killed with
SIGKILL KILLS times, once at a random point inside each of KILLS equal
slices of the run (measured in receipts; the seed is printed and can be set
with VARSKO_SEED), and started again. A client whose connection breaks
reconnects and sends again, with the same submission id and the same
envelope, every submission it has no receipt for, until each has one.

Then:
  - every receipt a client ever got (first answers and duplicates) verifies
    with PyNaCl as PROTOCOL.md 12.4 says: the gateway certificate pinned in
    the client's home verifies against the home's pinned organisation key
    (section 6/7.1), and the receipt's signature against its sign_pk (the
    verifier itself is checked against proto/vectors/flow.json and must
    refuse a receipt with one bit changed);
  - all receipts a submission got are the same receipt; each names the
    submission, the sender, the institution and the hash of the envelope
    that was sent;
  - every receipted submission is in the database exactly once with the
    receipt's reference; the stored receipt is byte-identical to the
    received one (which is, byte for byte, inside the received frame); the
    stored envelope is the one sent, and its hash (12.2) equals the
    receipt's envelope_hash and the stored envelope_hash column; nothing
    else is stored; each has its deadlines (due times equal to the
    receipt's), one outbox row and one `underretning_received` audit entry;
  - references are unique. They need NOT be gapless (a reference number
    may be taken by a transaction that a kill rolls back); gaps are only
    counted and printed;
  - PRAGMA integrity_check ok, `varskoctl audit verify` intact;
  - every underretning is filed exactly once by its team's agent, with one
    modtaget and one journaliseret event stored for it
    (flowlib.check_exactly_once);
  - at most one `leveret` per underretning, and one exactly when its outbox
    row has puback_at (a PUBACK that arrived just before a kill is not
    recorded; when modtaget then closes the row, there is no leveret: the
    number is printed);
  - no sanitizer report in any log.
"""

import asyncio
import calendar
import json
import os
import random
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402
from harness import field  # noqa: E402

N = int(os.environ.get("VARSKO_CRASH_N", "1000"))
KILLS = 5
WINDOW = 6  # submits in flight per connection (varskod allows 8 jobs per session)
CLIENTS = [("c1", "laerer-anna"), ("c2", "laerer-anna"), ("c3", "laerer-jonas"), ("c4", "laerer-jonas")]
INSTITUTION = {"laerer-anna": "inst-nordskovskolen", "laerer-jonas": "inst-halsskov-strandskole"}
AGE_GROUP = "6-13"  # the documents are made with age=9
TIME_LIMIT = 150.0  # seconds for all submissions
log = harness.log


# ---- PROTOCOL.md 6, 7.1, 12.4: certificate and receipt verification ----------------------

def ptime(s):
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s):
        raise ValueError(f"bad time {s!r}")
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def cert_signing_input(c):
    return (field(b"varsko-cert-v1") + flowlib.u64(c["version"]) + flowlib.u64(c["serial"]) + field(c["user"]) +
            field(c["name"]) + field(c["role"]) + field(c["team"]) + flowlib.u64(len(c["institutions"])) +
            b"".join(field(i) for i in c["institutions"]) + field(c["device"]) + field(flowlib.ub64(c["sign_pk"])) +
            field(flowlib.ub64(c["box_pk"])) + flowlib.i64(ptime(c["not_before"])) +
            flowlib.i64(ptime(c["not_after"])))


def receipt_signing_input(r):
    return (field(b"varsko-receipt-v1") + flowlib.u64(1) + field(r["reference"]) + field(r["submission"]) +
            field(flowlib.ub64(r["envelope_hash"])) + field(r["sender"]) + field(r["sender_user"]) +
            field(r["institution"]) + field(r["team"]) + flowlib.i64(ptime(r["received"])) +
            flowlib.i64(ptime(r["vurdering_due"])) + flowlib.i64(ptime(r["kvittering_due"])) +
            flowlib.i64(ptime(r["tilbagemelding_due"])) + field(r["gateway"]))


def ed25519_ok(pk, sig, msg):
    import nacl.exceptions
    import nacl.signing
    try:
        nacl.signing.VerifyKey(pk).verify(msg, sig)
        return True
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False


RECEIPT_KEYS = {"envelope_hash", "gateway", "institution", "kvittering_due", "received", "reference", "sender",
                "sender_user", "sig", "submission", "team", "tilbagemelding_due", "version", "vurdering_due"}
CERT_KEYS = {"box_pk", "device", "institutions", "name", "not_after", "not_before", "role", "serial", "sig",
             "sign_pk", "team", "user", "version"}


def verify_receipt(r, gw, org_pk):
    """PROTOCOL.md 12.4 at the receipt's own `received`. Returns None when it verifies, else why not."""
    try:
        if set(r) != RECEIPT_KEYS or r["version"] != 1:
            return "members or version"
        if not re.fullmatch(r"U-\d{4}-\d{6,9}", r["reference"]):
            return "reference form"
        t = ptime(r["received"])
        if set(gw) != CERT_KEYS or gw["version"] != 1:
            return "gateway certificate members or version"
        if harness.device_id(flowlib.ub64(gw["sign_pk"])) != gw["device"]:
            return "gateway certificate device id"
        if not ed25519_ok(org_pk, flowlib.ub64(gw["sig"]), cert_signing_input(gw)):
            return "gateway certificate signature (bad_cert)"
        if not ptime(gw["not_before"]) <= t <= ptime(gw["not_after"]):
            return "gateway certificate not valid at received"
        if gw["role"] != "gateway" or gw["device"] != r["gateway"]:
            return "not the gateway's certificate (bad_cert)"
        if len(flowlib.ub64(r["envelope_hash"])) != 32:
            return "envelope_hash length"
        if not ed25519_ok(flowlib.ub64(gw["sign_pk"]), flowlib.ub64(r["sig"]), receipt_signing_input(r)):
            return "signature (bad_signature)"
    except (KeyError, ValueError, TypeError) as e:
        return f"malformed: {type(e).__name__} {e}"
    return None


def self_test_verifier(c):
    """The verifier against the vector of proto/vectors/flow.json (written from PROTOCOL.md by another hand)."""
    with open(os.path.join(harness.SOURCE_ROOT, "proto", "vectors", "flow.json"), encoding="utf-8") as f:
        v = json.load(f)
    rj = json.loads(v["receipt"]["json"])
    gw = json.loads(v["gateway_cert"])
    org = bytes.fromhex(v["org_pk"])
    c("the receipt signing input built here equals the vector's",
      receipt_signing_input(rj).hex() == v["receipt"]["signing_input"])
    why = verify_receipt(rj, gw, org)
    c("the verifier accepts the vector receipt", why is None, str(why))
    bad = dict(rj)
    sig = bytearray(flowlib.ub64(bad["sig"]))
    sig[5] ^= 0x01
    bad["sig"] = flowlib.b64(bytes(sig))
    c("the verifier refuses the vector receipt with one bit of the signature flipped",
      verify_receipt(bad, gw, org) is not None)


# ---- the clients ------------------------------------------------------------------------

class Sub:
    __slots__ = ("client", "user", "sid", "env", "env_hash", "receipts", "frames", "sends", "errors")

    def __init__(self, client, user, sid, env):
        self.client, self.user, self.sid, self.env = client, user, sid, env
        self.env_hash = flowlib.envelope_hash(env)
        self.receipts = []  # (receipt object, duplicate, raw frame text) of every receipt answer
        self.frames = []
        self.sends = 0
        self.errors = []


class Stats:
    def __init__(self, marks):
        self.lock = threading.Lock()
        self.received = 0  # submissions with a receipt
        self.marks = list(marks)  # receipt counts at which the killer is woken
        self.trigger = threading.Event()
        self.connects = 0
        self.conn_errors = {}
        self.done = False

    def conn_error(self, e):
        k = type(e).__name__
        with self.lock:
            self.conn_errors[k] = self.conn_errors.get(k, 0) + 1


async def run_client(fl, name, user, subs, stats, deadline):
    """Submit every sub until each has a receipt; reconnect and resend after any failure."""
    import websockets
    dev = fl.device(user)
    pending = list(subs)
    seq = 0
    while pending and time.monotonic() < deadline:
        try:
            async with harness.RawClient(fl.ws_url, fl.ca, timeout=10.0) as cl:
                ans = await cl.login(dev.id, dev.signing_key)
                if ans.get("type") != "session":
                    raise ConnectionError(f"login refused: {ans.get('type')} {ans.get('error')}")
                with stats.lock:
                    stats.connects += 1
                inflight = {}
                todo = list(pending)
                while todo or inflight:
                    while todo and len(inflight) < WINDOW:
                        s = todo.pop(0)
                        seq += 1
                        fid = f"{name}-{seq}"
                        inflight[fid] = s
                        s.sends += 1
                        await cl.send({"type": "submit", "id": fid, "envelope": s.env})
                    raw = await asyncio.wait_for(cl.ws.recv(), 15.0)
                    frame = json.loads(raw)
                    s = inflight.pop(frame.get("id"), None)
                    if s is None:
                        continue  # a push or an answer to nothing of ours
                    if frame.get("type") == "receipt":
                        first = not s.receipts
                        s.receipts.append((frame.get("receipt"), frame.get("duplicate"), raw))
                        if first:
                            pending.remove(s)
                            with stats.lock:
                                stats.received += 1
                                if stats.marks and stats.received >= stats.marks[0]:
                                    stats.marks.pop(0)
                                    stats.trigger.set()
                    else:
                        # Answered but refused: remembered and tried again on the next connection.
                        s.errors.append(frame)
                        if len(s.errors) > 5:
                            raise RuntimeError(f"{s.sid} refused again and again: {frame}")
                if not pending:
                    return
        except (OSError, asyncio.TimeoutError, ConnectionError, harness.Closed, AssertionError, ValueError,
                websockets.exceptions.WebSocketException) as e:
            stats.conn_error(e)
            await asyncio.sleep(0.05)


async def route_roster(fl, user, institution, sid):
    """The team and roster devices for the user's documents (one route request)."""
    dev = fl.device(user)
    async with harness.RawClient(fl.ws_url, fl.ca, timeout=15.0) as cl:
        ans = await cl.login(dev.id, dev.signing_key)
        if ans.get("type") != "session":
            raise RuntimeError(f"raw login as {user} refused: {ans}")
        _, hjs = flowlib.routing_header(institution, AGE_GROUP, False, False, sid, int(time.time()))
        routed = await flowlib.request(cl, {"type": "route", "id": "r1", "header": hjs})
    if routed.get("type") != "routed":
        raise RuntimeError(f"route for {user}: {routed}")
    return routed["team"], [(d["device"], flowlib.ub64(d["box_pk"])) for d in routed["roster"]["devices"]]


def killer(fl, stats, rng, kills, errors):
    """SIGKILL varskod when the receipt count passes each mark (after a random 0..40 ms), then start it again."""
    try:
        for _ in range(KILLS):
            while not stats.done and not stats.trigger.wait(0.05):
                pass
            stats.trigger.clear()
            if stats.done:
                return
            time.sleep(rng.uniform(0, 0.04))
            at = stats.received
            rc = fl.kill("varskod", signal.SIGKILL)
            down = rng.uniform(0.05, 0.6)
            time.sleep(down)
            t0 = time.monotonic()
            fl.start_varskod()
            kills.append((at, rc, down, time.monotonic() - t0))
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        errors.append(f"{type(e).__name__}: {e}")


def main():
    checks = harness.Checks()
    c = checks.check
    seed = int(os.environ.get("VARSKO_SEED", str(int(time.time() * 1000) % 1000000)))
    rng = random.Random(seed)
    log(f"     seed {seed} (VARSKO_SEED), {N} submissions, {len(CLIENTS)} clients, {KILLS} kills")
    with flowlib.Flow(agents=["team-slagelse", "team-korsoer-skaelskoer"], users=["laerer-anna", "laerer-jonas"]) \
            as fl:
        fl.setup(org=False)  # raw envelopes to rosters: teams without a team key (PROTOCOL.md 16.7)
        self_test_verifier(c)

        # Route once per user; seal every document up front.
        routes = {}
        for user in ("laerer-anna", "laerer-jonas"):
            routes[user] = harness.run(route_roster(fl, user, INSTITUTION[user], "s-route-probe"))
            log(f"     {user}: team {routes[user][0]}, roster {[d for d, _ in routes[user][1]]}")
        per_client = {name: [] for name, _ in CLIENTS}
        created = int(time.time())
        t0 = time.monotonic()
        for k in range(N):
            name, user = CLIENTS[k % len(CLIENTS)]
            dev = fl.device(user)
            sid = f"s-crash-{name}-{k:05d}"
            p = fl.doc(institution=INSTITUTION[user], age=9, extra_text=f"(nedbrud {k})")
            with open(p, "rb") as f:
                pt = f.read()
            routing, _ = flowlib.routing_header(INSTITUTION[user], AGE_GROUP, False, False, sid, created)
            env = flowlib.seal("underretning", sid, dev.id, dev.sign_sk, routes[user][1], routing, pt)
            per_client[name].append(Sub(name, user, sid, env))
        log(f"     {N} envelopes sealed in {time.monotonic() - t0:.1f} s")
        subs = [s for v in per_client.values() for s in v]

        # Submit while varskod is killed at random moments.
        lo, hi = int(0.04 * N), int(0.92 * N)
        width = (hi - lo) / KILLS
        marks = [rng.randint(int(lo + i * width), int(lo + (i + 1) * width) - 1) for i in range(KILLS)]
        stats = Stats(marks)
        kills, kerr = [], []
        kt = threading.Thread(target=killer, args=(fl, stats, rng, kills, kerr), daemon=True)
        t0 = time.monotonic()
        deadline = t0 + TIME_LIMIT

        async def all_clients():
            await asyncio.gather(*(run_client(fl, name, user, per_client[name], stats, deadline)
                                   for name, user in CLIENTS))
        kt.start()
        try:
            harness.run(all_clients())
        finally:
            stats.done = True
            kt.join(60)
        dt = time.monotonic() - t0
        log(f"     submissions done in {dt:.1f} s; kill marks {marks}; kills (receipts at kill, exit, down s, "
            f"restart s): {[(a, r, round(d, 2), round(s, 2)) for a, r, d, s in kills]}")
        log(f"     connections {stats.connects}, connection failures {stats.conn_errors}")
        c("the kill thread ran without error", not kerr, str(kerr))
        c(f"varskod was killed {KILLS} times with SIGKILL, each during the submissions",
          len(kills) == KILLS and all(r == -signal.SIGKILL and 0 < a < N for a, r, _d, _s in kills), str(kills))
        c("varskod runs after the last restart", fl.alive("varskod"))
        missing = [s.sid for s in subs if not s.receipts]
        c(f"every one of the {N} submissions got a receipt (resending after each kill)", not missing,
          f"{len(missing)} without, e.g. {missing[:3]}")
        resent = [s for s in subs if s.sends > 1]
        dups = [s for s in subs if any(d for _r, d, _raw in s.receipts)]
        errs = [(s.sid, e.get("error"), e.get("message")) for s in subs for e in s.errors]
        log(f"     {len(resent)} submissions sent more than once; {len(dups)} answered duplicate (stored before a "
            f"kill whose receipt was lost); {sum(len(s.receipts) for s in subs)} receipts in all")
        c("no submission was refused with an error", not errs, f"{len(errs)}: {errs[:3]}")

        # Every receipt ever received verifies, and a submission has one receipt however often it is answered.
        gw_cert = {}
        org_pk = {}
        for user in ("laerer-anna", "laerer-jonas"):
            home = fl.homes[user]
            with open(os.path.join(home, "gateway.cert"), encoding="utf-8") as f:
                gw_cert[user] = json.load(f)
            with open(os.path.join(home, "org.pub"), encoding="utf-8") as f:
                org_pk[user] = flowlib.ub64(f.read().strip())
        with open(os.path.join(fl.state, "gateway.cert"), encoding="utf-8") as f:
            state_gw = json.load(f)
        c("the clients' pinned gateway certificate is varskod's", all(g == state_gw for g in gw_cert.values()))
        bad, differ, wrong, not_in_frame = [], [], [], []
        for s in subs:
            for r, _d, raw in s.receipts:
                why = verify_receipt(r, gw_cert[s.user], org_pk[s.user]) if isinstance(r, dict) else "not an object"
                if why:
                    bad.append(f"{s.sid}: {why}")
                elif flowlib.compact(r) not in raw:
                    not_in_frame.append(s.sid)
            if len({flowlib.compact(r) for r, _d, _raw in s.receipts}) > 1:
                differ.append((s.sid, [(r.get("reference"), d) for r, d, _raw in s.receipts]))
            if s.receipts:
                r = s.receipts[0][0]
                if not (isinstance(r, dict) and r.get("submission") == s.sid and
                        r.get("sender") == fl.device(s.user).id and r.get("sender_user") == s.user and
                        r.get("institution") == INSTITUTION[s.user] and r.get("team") == routes[s.user][0] and
                        r.get("envelope_hash") == flowlib.b64(s.env_hash)):
                    wrong.append(s.sid)
        n_rec = sum(len(s.receipts) for s in subs)
        c(f"all {n_rec} receipts received verify (gateway certificate against the pinned organisation key, "
          f"signature with the gateway key)", n_rec >= N and not bad, f"{len(bad)} bad: {bad[:3]}")
        c("each received receipt is canonical JSON, byte for byte inside its frame", not not_in_frame,
          str(not_in_frame[:3]))
        c("every answer to a resent submission carries the same receipt (same reference)", not differ,
          str(differ[:3]))
        c("each receipt names its submission, sender, institution, team and the hash of the envelope sent",
          not wrong, f"{len(wrong)}: {wrong[:3]}")
        refs = [s.receipts[0][0]["reference"] for s in subs if s.receipts and isinstance(s.receipts[0][0], dict)]
        c("references are unique", len(set(refs)) == len(refs), f"{len(refs) - len(set(refs))} repeated")
        nums = sorted(int(r.rsplit("-", 1)[1]) for r in set(refs))
        gaps = (nums[-1] - nums[0] + 1 - len(nums)) if nums else 0
        log(f"     references {nums[0] if nums else '-'}..{nums[-1] if nums else '-'}: {gaps} numbers unused "
            f"(gapless is not required)")

        # The database (read-only) against what the clients hold.
        rows = fl.q("SELECT reference, submission, sender_user, envelope, envelope_hash, receipt FROM underretninger")
        by_sub = {}
        for row in rows:
            by_sub.setdefault((row[2], row[1]), []).append(row)
        c(f"the database holds exactly {N} underretninger (nothing that was not receipted)", len(rows) == N,
          f"{len(rows)} rows")
        once, same_ref, same_bytes, env_same, hash_ok = [], [], [], [], []
        for s in subs:
            if not s.receipts:
                continue
            r = s.receipts[0][0]
            got = by_sub.get((s.user, s.sid), [])
            if len(got) != 1:
                once.append((s.sid, len(got)))
                continue
            ref, _sid, _u, env_text, env_hash_col, rtext = got[0]
            if ref != r["reference"]:
                same_ref.append((s.sid, ref, r["reference"]))
            if rtext.encode("utf-8") != flowlib.compact(r).encode("utf-8"):
                same_bytes.append(s.sid)
            try:
                stored_env = json.loads(env_text)
            except ValueError:
                stored_env = None
            if stored_env != s.env:
                env_same.append(s.sid)
            h = flowlib.envelope_hash(stored_env) if isinstance(stored_env, dict) else b""
            if not (h == flowlib.ub64(r["envelope_hash"]) == bytes(env_hash_col)):
                hash_ok.append(s.sid)
        c("every receipted submission is in the database exactly once", not once, str(once[:3]))
        c("with the reference of its receipt", not same_ref, str(same_ref[:3]))
        c("the stored receipt is byte-identical to the received one", not same_bytes,
          f"{len(same_bytes)}: {same_bytes[:3]}")
        c("the stored envelope is the one sent", not env_same, f"{len(env_same)}: {env_same[:3]}")
        c("the stored envelope's hash equals the receipt's envelope_hash and the envelope_hash column", not hash_ok,
          f"{len(hash_ok)}: {hash_ok[:3]}")
        rset = set(refs)
        dl = {}
        for ref, kind, due in fl.q("SELECT reference, kind, due_at FROM deadlines"):
            dl.setdefault(ref, {})[kind] = due
        dl_bad = []
        for s in subs:
            if not s.receipts:
                continue
            r = s.receipts[0][0]
            d = dl.get(r["reference"], {})
            if any(d.get(k) != ptime(r[f"{k}_due"]) for k in ("vurdering", "kvittering", "tilbagemelding")):
                dl_bad.append((r["reference"], d))
        c("each underretning has its deadlines, due exactly when its receipt says", not dl_bad, str(dl_bad[:2]))
        c("no deadline rows for anything else", set(dl) == rset, f"{len(set(dl) - rset)} other")
        ob = fl.q("SELECT reference, count(*) FROM outbox WHERE needs_ack = 1 GROUP BY reference")
        c("one outbox row per underretning", sorted(r for r, _n in ob) == sorted(rset) and all(n == 1 for _r, n in ob),
          f"{len(ob)} references, counts {sorted({n for _r, n in ob})}")
        au = fl.q("SELECT detail, count(*) FROM audit WHERE event = 'underretning_received' GROUP BY detail")
        c("one underretning_received audit entry per underretning",
          sorted(d for d, _n in au) == sorted(f"ref={r}" for r in rset) and all(n == 1 for _d, n in au),
          f"{len(au)} entries")

        # Filing: each team's agent files its underretninger exactly once.
        by_team = {}
        for s in subs:
            if s.receipts:
                by_team.setdefault(s.receipts[0][0]["team"], set()).add(s.receipts[0][0]["reference"])
        log(f"     per team: {[(t, len(v)) for t, v in sorted(by_team.items())]}")
        stamps = {t: {} for t in by_team}
        t0 = time.monotonic()
        for t, rs in sorted(by_team.items()):
            got = fl.wait_filed(t, rs, timeout=max(30.0, 120.0 - (time.monotonic() - t0)), stamps=stamps[t])
            c(f"{t}'s agent files all {len(rs)}", got == rs, f"missing {len(rs - got)}: {sorted(rs - got)[:4]}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
            time.sleep(0.5)
        log(f"     filed and acknowledged {time.monotonic() - t0:.1f} s after the last receipt")
        time.sleep(2 * fl.backoff_first + 2)
        for t, rs in sorted(by_team.items()):
            flowlib.check_exactly_once(checks, fl, t, rs, stamps=stamps[t], what=f"{t}: ")
        # leveret is stored with the first recorded PUBACK, in the same transaction. A PUBACK that arrived
        # just before a kill is not recorded, and when the agent's modtaget closes the row before a
        # republication, that underretning has neither puback_at nor leveret (FLOW.md step 5).
        lev = dict(fl.q("SELECT reference, count(*) FROM events WHERE kind = 'leveret' GROUP BY reference"))
        pub = dict(fl.q("SELECT reference, puback_at FROM outbox WHERE needs_ack = 1"))
        no_lev = sorted(r for r in rset if r not in lev)
        log(f"     {len(lev)} underretninger have a leveret event; {len(no_lev)} have none (their PUBACK was lost "
            f"with a kill and modtaget came first), e.g. {no_lev[:3]}")
        c("at most one leveret event per underretning", all(n == 1 for n in lev.values()) and set(lev) <= rset,
          f"counts {sorted(set(lev.values()))}")
        incons = sorted(r for r in rset if (r in lev) != (pub.get(r) is not None))
        c("a leveret event exactly for the underretninger whose outbox row has puback_at", not incons,
          f"{len(incons)}: {[(r, r in lev, pub.get(r)) for r in incons[:3]]}")

        for t in by_team:
            c(f"agent-{t} still running", fl.alive(f"agent-{t}"))
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        ic = fl.integrity()
        c("PRAGMA integrity_check ok", ic == [("ok",)], str(ic))
        rc, out, err = fl.ctl("audit", "verify")
        c("varskoctl audit verify: intact", rc == 0 and "intact" in out, out_of(rc, out, err))
        reports = [(n, m.group(0)) for n, text in fl.all_logs().items()
                   for m in [re.search(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:", text)] if m]
        c("no sanitizer report in any log", not reports, str(reports[:3]))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
