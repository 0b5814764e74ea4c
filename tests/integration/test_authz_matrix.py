#!/usr/bin/python3
"""authz-matrix (TESTING.md): every role x every flow request x own/foreign.

Two underretninger are set up with the raw client: UA from laerer-anna
(inst-nordskovskolen -> team-slagelse) and UJ from laerer-jonas
(inst-halsskov-strandskole -> team-korsoer-skaelskoer). Then every actor

    laerer-anna, laerer-jonas          fagperson
    myndighed-lene / myndighed-peter   myndighed of team-slagelse / team-korsoer-skaelskoer
    leder-thomas                       leder of team-slagelse
    raadgiver-sofie                    raadgiver of team-slagelse
    agent-team-slagelse / agent-team-korsoer-skaelskoer   the teams' agent devices

sends, over its own logged-in raw WebSocket session, every request (route,
submit, mine, inbox, fetch, status, notifier_devices, roster, overview, report_get) and
an event of every kind, each once for its own side and once for the other
side. "Own" is: for fagpersoner their institution and their underretning; for
team members their team's institution, team and underretning (UA for
team-slagelse, UJ for team-korsoer-skaelskoer); "foreign" is the other one.
mine, inbox, overview and report_get take no argument and have one cell (report_get
is always for the leder's own team: a frame cannot name another).

Every request is well-formed so that authorization is the only possible
reason for a refusal: envelopes are sealed for the right roster, events are
signed by the session's own device, and kvitteret/tilbagemelding carry an
envelope to the notifier's user key (from chain_get), omdirigeret one
to team-ung's roster (from roster) with the original routing bytes.

The expected answers are the table POLICY below, written from
proto/PROTOCOL.md 12.8 / docs/FLOW.md "Who sees what" (requests) and
proto/flow.h / PROTOCOL.md 12.5 (who signs which event kind):

    ok  the success answer of the request (routed, receipt, items, ...)
    F   error forbidden: the role may never make this request / sign this kind
    NF  error not_found: the role may, but the underretning is not the session's
        to see (another team's, someone else's), so references cannot be probed

The afsluttet cells act on a second pair, UA2 and UJ2 (same sides), so that
closing does not end the case the later cells work on: after afsluttet the
case takes no more decisions (PROTOCOL.md 12.5, the case's states).

Also: events signed by another device than the session's (forbidden), a
leveret signed by a non-gateway device over the WebSocket and over MQTT, an
omdirigering whose envelope carries other routing bytes than the
underretning's (bad_input), every decision on the closed UA2 (case_state),
and a myndighed moved to another team by `varskoctl import` (her devices are
revoked: her open session is closed, nothing of the old team is shown).
After every cell the rows of underretninger and of events (other than the
gateway's own leveret) change exactly as the cell's expected outcome says;
at the end the stored events are exactly the allowed event cells. A table of
what every cell got is printed; a cell that differs from POLICY fails.
"""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import request  # noqa: E402

SIDE = {  # side -> (team, institution)
    "A": ("team-slagelse", "inst-nordskovskolen"),
    "J": ("team-korsoer-skaelskoer", "inst-halsskov-strandskole"),
}
OTHER = {"A": "J", "J": "A"}
NEW_TEAM = "team-ung"  # where the allowed omdirigeret cells move UA and UJ

# (user, column label in POLICY, own side)
ACTORS = [
    ("laerer-anna", "anna", "A"),
    ("laerer-jonas", "jonas", "J"),
    ("myndighed-lene", "lene", "A"),
    ("myndighed-peter", "peter", "J"),
    ("leder-thomas", "thomas", "A"),
    ("raadgiver-sofie", "sofie", "A"),
    ("agent-team-slagelse", "ag-sl", "A"),
    ("agent-team-korsoer-skaelskoer", "ag-ko", "J"),
]

# The documented policy. Each cell is own/foreign ("-": the request has no
# foreign variant). route foreign = an institution that is not the
# fagperson's: PROTOCOL.md 12.8 limits only submit to the certificate's
# institutions ("route, submit, mine: fagperson; submit only for one of the
# certificate's institutions"), so route is allowed for any institution.
POLICY = """
request           anna    jonas   lene    peter   thomas  sofie   ag-sl   ag-ko
route             ok/F    ok/F    F/F     F/F     F/F     F/F     F/F     F/F
submit            ok/F    ok/F    F/F     F/F     F/F     F/F     F/F     F/F
mine              ok/-    ok/-    F/-     F/-     F/-     F/-     F/-     F/-
inbox             F/-     F/-     ok/-    ok/-    ok/-    F/-     F/-     F/-
fetch             ok/NF   ok/NF   ok/NF   ok/NF   ok/NF   F/F     F/F     F/F
status            ok/NF   ok/NF   ok/NF   ok/NF   ok/NF   F/F     F/F     F/F
notifier_devices  F/F     F/F     ok/NF   ok/NF   ok/NF   F/F     F/F     F/F
roster            F/F     F/F     ok/ok   ok/ok   F/F     F/F     F/F     F/F
overview          F/-     F/-     F/-     F/-     ok/-    F/-     F/-     F/-
report_get        F/-     F/-     F/-     F/-     ok/-    F/-     F/-     F/-
leveret           F/F     F/F     F/NF    F/NF    F/NF    F/F     F/NF    F/NF
modtaget          F/F     F/F     F/NF    F/NF    F/NF    F/F     ok/NF   ok/NF
journaliseret     F/F     F/F     F/NF    F/NF    F/NF    F/F     ok/NF   ok/NF
aabnet            F/F     F/F     ok/NF   ok/NF   ok/NF   F/F     F/NF    F/NF
vurderet          F/F     F/F     ok/NF   ok/NF   F/NF    F/F     F/NF    F/NF
kvitteret         F/F     F/F     ok/NF   ok/NF   F/NF    F/F     F/NF    F/NF
tilbagemelding    F/F     F/F     ok/NF   ok/NF   F/NF    F/F     F/NF    F/NF
afsluttet         F/F     F/F     ok/NF   ok/NF   F/NF    F/F     F/NF    F/NF
omdirigeret       F/F     F/F     ok/NF   ok/NF   F/NF    F/F     F/NF    F/NF
"""

REQUESTS = ["route", "submit", "mine", "inbox", "fetch", "status", "notifier_devices", "roster", "overview",
            "report_get"]
KINDS = ["leveret", "modtaget", "journaliseret", "aabnet", "vurderet", "kvitteret", "tilbagemelding", "afsluttet",
         "omdirigeret"]
SUCCESS = {"route": "routed", "submit": "receipt", "mine": "items", "inbox": "items", "fetch": "underretning",
           "status": "timeline", "notifier_devices": "devices", "roster": "routed", "overview": "deadlines",
           "report_get": "report"}
SUCCESS.update({k: "event_ok" for k in KINDS})
KVITTERING_TEXT = b"Tak for underretningen (fiktiv test)."


def parse_policy():
    lines = [ln.split() for ln in POLICY.strip().splitlines()]
    cols = lines[0][1:]
    if cols != [a[1] for a in ACTORS]:
        raise RuntimeError(f"POLICY columns {cols} differ from ACTORS")
    table = {}
    for row in lines[1:]:
        req, cells = row[0], row[1:]
        if len(cells) != len(cols):
            raise RuntimeError(f"POLICY row {req} has {len(cells)} cells")
        for col, cell in zip(cols, cells):
            own, foreign = cell.split("/")
            table[(req, col, "own")] = own
            if foreign != "-":
                table[(req, col, "foreign")] = foreign
    rows = [r[0] for r in lines[1:]]
    if rows != REQUESTS + KINDS:
        raise RuntimeError(f"POLICY rows {rows} differ from the requests and kinds")
    return table


def classify(req, ans):
    """ok / F / NF for the answer, or what else came (an error code, another type, a close)."""
    if not isinstance(ans, dict):
        return f"?{type(ans).__name__}"
    t = ans.get("type")
    if t == SUCCESS[req]:
        return "ok"
    if t == "error":
        return {"forbidden": "F", "not_found": "NF"}.get(ans.get("code"), str(ans.get("code")))
    if t == "closed":
        return f"closed:{ans.get('code')}"
    return f"type:{t}"


def main():
    checks = harness.Checks()
    c = checks.check
    policy = parse_policy()
    users = [a[0] for a in ACTORS if not a[0].startswith("agent-")]
    # No agent runs: the modtaget/journaliseret rows come only from the matrix (the fixture enrolls every
    # team's agent home anyway).
    # recheck_interval 1: the logged-in sessions' devices are checked again every second (the revoked-device case).
    with flowlib.Flow(agents=[], users=users, config={"recheck_interval": 1}) as fl:
        fl.setup(org=False)  # raw envelopes to rosters: teams without a team key (PROTOCOL.md 16.7)
        t_start = time.monotonic()
        dev = {u: fl.device(u) for u, _, _ in ACTORS}
        label = {u: lb for u, lb, _ in ACTORS}
        for u, _, _ in ACTORS:
            role = dev[u].cert.get("role")
            harness.log(f"     {u}: device {dev[u].id}, role {role}, team {dev[u].cert.get('team')}")
        with open(flowlib.EXAMPLE, "rb") as f:
            plaintext = f.read()

        # ---- setup: UA and UJ, with the raw client (route, seal for the roster, submit) ----
        ctx = {"routing": {}, "roster": {}, "ref": {}, "plaintext": plaintext}

        def make_env(d, roster_devs, institution, submission=None):
            submission = submission or f"s-authz-{os.urandom(6).hex()}"
            routing, _ = flowlib.routing_header(institution, "6-13", False, False, submission, int(time.time()))
            rcpts = [(x["device"], flowlib.ub64(x["box_pk"])) for x in roster_devs]
            return routing, flowlib.seal("underretning", submission, d.id, d.sign_sk, rcpts, routing, plaintext)

        def header_js(institution):
            _, js = flowlib.routing_header(institution, "6-13", False, False, f"s-authz-{os.urandom(6).hex()}",
                                           int(time.time()))
            return js

        ctx["ref2"], ctx["routing2"] = {}, {}
        for side, user, key in (("A", "laerer-anna", "ref"), ("J", "laerer-jonas", "ref"),
                                ("A", "laerer-anna", "ref2"), ("J", "laerer-jonas", "ref2")):
            team, inst = SIDE[side]

            async def create(cl, d, inst=inst):
                routed = await request(cl, {"type": "route", "id": "r0", "header": header_js(inst)})
                if routed.get("type") != "routed":
                    return routed, None, None
                routing, env = make_env(d, routed["roster"]["devices"], inst)
                ans = await request(cl, {"type": "submit", "id": "s0", "envelope": env})
                return routed, routing, ans

            routed, routing, ans = fl.raw_session(user, create)
            ok = (routed.get("type") == "routed" and routed.get("team") == team and isinstance(ans, dict)
                  and ans.get("type") == "receipt" and ans["receipt"].get("team") == team)
            if not c(f"setup: {user} routes {inst} to {team} and submits U{side}{'2' if key == 'ref2' else ''}", ok,
                     f"{json.dumps(routed)[:300]} / {json.dumps(ans)[:300]}"):
                return checks.done()
            ctx[key][side] = ans["receipt"]["reference"]
            if key == "ref2":
                ctx["routing2"][side] = routing
                continue
            ctx["roster"][side] = routed["roster"]["devices"]
            ctx["routing"][side] = routing
            ctx["gateway"] = ans["receipt"]["gateway"]
        UA, UJ = ctx["ref"]["A"], ctx["ref"]["J"]
        UA2, UJ2 = ctx["ref2"]["A"], ctx["ref2"]["J"]
        gw = ctx["gateway"]
        harness.log(f"     UA = {UA}, UA2 = {UA2} (team-slagelse), UJ = {UJ}, UJ2 = {UJ2} (team-korsoer-skaelskoer),"
                    f" gateway device {gw}")

        def ref_of(req, side):
            """The underretning a cell acts on: the second pair for afsluttet, which closes it."""
            return ctx["ref2" if req == "afsluttet" else "ref"][side]

        # The notifier's devices (as an allowed team member) and team-ung's roster (as a myndighed).
        async def get_nd(cl, d, ref):
            return await request(cl, {"type": "notifier_devices", "id": "n0", "reference": ref})
        nd_a = fl.raw_session("myndighed-lene", lambda cl, d: get_nd(cl, d, UA))
        nd_j = fl.raw_session("myndighed-peter", lambda cl, d: get_nd(cl, d, UJ))
        c("setup: notifier_devices of UA (as lene) is anna's device",
          [x.get("device") for x in nd_a.get("certs", [])] == [dev["laerer-anna"].id], json.dumps(nd_a)[:300])
        c("setup: notifier_devices of UJ (as peter) is jonas's device",
          [x.get("device") for x in nd_j.get("certs", [])] == [dev["laerer-jonas"].id], json.dumps(nd_j)[:300])
        # Anna and Jonas enrolled with the CLI, which made their user keys: a kvittering goes to the user key.
        async def get_chain(cl, d, user):
            return await request(cl, {"type": "chain_get", "id": "c0", "kind": "user", "chain": user})
        uk = {"A": flowlib.user_key_recipient(fl.raw_session("myndighed-lene",
                                                              lambda cl, d: get_chain(cl, d, "laerer-anna"))),
              "J": flowlib.user_key_recipient(fl.raw_session("myndighed-peter",
                                                              lambda cl, d: get_chain(cl, d, "laerer-jonas")))}
        c("setup: anna and jonas have user keys (their kvitteringer go to them)", uk["A"] and uk["J"], str(uk))
        ctx["notifier"] = {side: [uk[side]] if uk[side] else [] for side in "AJ"}
        new_roster = fl.raw_session("myndighed-lene", lambda cl, d: request(
            cl, {"type": "roster", "id": "o0", "team": NEW_TEAM}))
        if not c(f"setup: roster of {NEW_TEAM} (as lene)", new_roster.get("type") == "routed"
                 and new_roster.get("team") == NEW_TEAM, json.dumps(new_roster)[:300]):
            return checks.done()
        ctx["new_roster"] = new_roster["roster"]["devices"]
        for side in "AJ":
            team = SIDE[side][0]
            want = {dev[u].id for u, _, s in ACTORS if s == side and dev[u].cert.get("role") in
                    ("myndighed", "leder", "agent")}
            have = {x["device"] for x in ctx["roster"][side]}
            c(f"setup: {team}'s roster holds the enrolled team devices of the matrix", want <= have,
              f"missing {sorted(want - have)}")

        # ---- the cells ----
        def n_rows():
            """Rows a request could add: underretninger, events (not the gateway's own leveret, which the
            publisher adds on its own time), outbox, deadlines."""
            return (fl.count("underretninger"), fl.count("events", "device <> ?", gw), fl.count("outbox"),
                    fl.count("deadlines"))

        def make_event(d, kind, side, t):
            ref = ref_of(kind, side)
            if kind == "vurderet":
                return flowlib.sign_event(d.sign_sk, ref, kind, d.id, t, akut=False), None
            if kind in ("kvitteret", "tilbagemelding"):
                rc = ctx["notifier"][side]
                env = flowlib.seal("kvittering" if kind == "kvitteret" else "tilbagemelding", ref, d.id, d.sign_sk,
                                   rc, b"", KVITTERING_TEXT)
                h = flowlib.envelope_hash(env)
                if kind == "kvitteret":
                    return flowlib.sign_event(d.sign_sk, ref, kind, d.id, t, env_hash=h), env
                return flowlib.sign_event(d.sign_sk, ref, kind, d.id, t, started=True, env_hash=h), env
            if kind == "omdirigeret":
                rc = [(x["device"], flowlib.ub64(x["box_pk"])) for x in ctx["new_roster"]]
                env = flowlib.seal("underretning", ref, d.id, d.sign_sk, rc, ctx["routing"][side], plaintext)
                return flowlib.sign_event(d.sign_sk, ref, kind, d.id, t, team=NEW_TEAM,
                                          env_hash=flowlib.envelope_hash(env)), env
            return flowlib.sign_event(d.sign_sk, ref, kind, d.id, t), None

        def make_request(d, req, side, rid):
            team, inst = SIDE[side]
            if req == "route":
                return {"type": "route", "id": rid, "header": header_js(inst)}
            if req == "submit":
                _, env = make_env(d, ctx["roster"][side], inst)
                return {"type": "submit", "id": rid, "envelope": env}
            if req in ("mine", "inbox", "overview", "report_get"):
                return {"type": req, "id": rid}
            if req in ("fetch", "status", "notifier_devices"):
                return {"type": req, "id": rid, "reference": ctx["ref"][side]}
            if req == "roster":
                return {"type": "roster", "id": rid, "team": team}
            ev, env = make_event(d, req, side, int(time.time()))
            frame = {"type": "event", "id": rid, "event": ev}
            if env is not None:
                frame["envelope"] = env
            return frame

        got = {}      # (req, label, variant) -> classification
        answers = {}  # (req, label, variant) -> answer
        stored_events = set()  # (reference, kind, device) the allowed event cells stored

        def run_cells(user, reqs):
            """Every cell of user for reqs. varskod closes a connection after 16 error answers (PROTOCOL.md 2,
            server.c SESSION_BAD_FRAMES), so a new session is opened after 15 refusals."""
            d = dev[user]
            lb = label[user]
            own = [a[2] for a in ACTORS if a[0] == user][0]
            cells = [(req, variant, side) for req in reqs
                     for variant, side in (("own", own), ("foreign", OTHER[own])) if (req, lb, variant) in policy]
            pos = [0]

            async def go(cl, d_):
                errors = 0
                while pos[0] < len(cells) and errors < 15:
                    req, variant, side = cells[pos[0]]
                    pos[0] += 1
                    key = (req, lb, variant)
                    before = n_rows()
                    ans = await request(cl, make_request(d, req, side, f"c{pos[0]}"))
                    after = n_rows()
                    if ans.get("type") in ("error", "closed"):
                        errors += 1
                    got[key] = classify(req, ans)
                    answers[key] = ans
                    want = policy[key]
                    if got[key] != want:
                        harness.log(f"     cell {req} {lb} {variant}: want {want}, got {json.dumps(ans)[:240]}")
                    if got[key] == "ok" and req in KINDS:
                        stored_events.add((ref_of(req, side), req, d.id))
                    dn = tuple(a_ - b_ for a_, b_ in zip(after, before))
                    exp = (1 if got[key] == "ok" and req == "submit" else 0,
                           1 if got[key] == "ok" and req in KINDS else 0)
                    if got[key] == "ok":  # outbox and deadlines grow with submit and omdirigeret only
                        exp += (dn[2] if req in ("submit", "omdirigeret") else 0,
                                dn[3] if req == "submit" else 0)
                    else:
                        exp += (0, 0)
                    if dn != exp:
                        c(f"cell {req} {lb} {variant} ({got[key]}): rows changed as expected", False,
                          f"underretninger/events/outbox/deadlines changed by {dn}, expected {exp}")
                    if ans.get("type") == "closed":
                        break

            sessions = 0
            while pos[0] < len(cells):
                fl.raw_session(user, go)
                sessions += 1
            return sessions

        # Phase 1: everything but omdirigeret (which moves the underretning away).
        for user, _, _ in ACTORS:
            run_cells(user, REQUESTS + [k for k in KINDS if k != "omdirigeret"])

        # ---- events signed by another device than the session's, and leveret from non-gateway devices ----
        t_x = int(time.time()) - 7
        lene, ag_sl = dev["myndighed-lene"], dev["agent-team-slagelse"]
        specials = [
            ("aabnet on UA signed by lene's device, sent in thomas's session", "leder-thomas",
             flowlib.sign_event(lene.sign_sk, UA, "aabnet", lene.id, t_x)),
            ("vurderet on UA signed by lene's device, sent in the team agent's session", "agent-team-slagelse",
             flowlib.sign_event(lene.sign_sk, UA, "vurderet", lene.id, t_x, akut=True)),
            ("modtaget on UA signed by the team agent, sent in lene's session", "myndighed-lene",
             flowlib.sign_event(ag_sl.sign_sk, UA, "modtaget", ag_sl.id, t_x)),
            ("leveret on UA naming the gateway device but signed by lene, in lene's session", "myndighed-lene",
             flowlib.sign_event(lene.sign_sk, UA, "leveret", gw, t_x)),
            ("leveret on UA signed by the team agent (not the gateway), in its own session", "agent-team-slagelse",
             flowlib.sign_event(ag_sl.sign_sk, UA, "leveret", ag_sl.id, t_x)),
        ]
        for what, user, ev in specials:
            before = n_rows()
            ans = fl.raw_session(user, lambda cl, d, ev=ev: request(cl, {"type": "event", "id": "x1", "event": ev}))
            after = n_rows()
            c(f"{what}: forbidden, nothing stored",
              ans.get("type") == "error" and ans.get("code") == "forbidden" and after == before,
              f"{json.dumps(ans)[:240]}; rows {before} -> {after}")

        # Over MQTT: the team's agent publishes a leveret it signed itself.
        spy = flowlib.MqttSpy(fl, "agent-team-slagelse", [], own=True)  # no agents run here
        try:
            before = n_rows()
            refused0 = fl.count("audit", "event = 'mqtt_refused'")
            ev = flowlib.sign_event(ag_sl.sign_sk, UA, "leveret", ag_sl.id, t_x - 1)
            rc = spy.publish(f"varsko/{flowlib.TENANT}/ack",
                             json.dumps({"type": "event", "event": ev, "cert": ag_sl.cert},
                                        separators=(",", ":")).encode())
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and fl.count("audit", "event = 'mqtt_refused'") == refused0:
                time.sleep(0.2)
            refused1 = fl.count("audit", "event = 'mqtt_refused'")
            c("MQTT leveret signed by the team agent (not the gateway): refused and audited, nothing stored",
              rc == 0 and refused1 == refused0 + 1 and n_rows() == before,
              f"publish rc {rc}, mqtt_refused {refused0} -> {refused1}, rows {before} -> {n_rows()}")
        finally:
            spy.close()

        # ---- an omdirigering must keep the underretning's routing bytes (the new team's agent checks them) ----
        for what, routing in (("no routing bytes", b""), ("other routing bytes", ctx["routing"]["J"])):
            rc_ = [(x["device"], flowlib.ub64(x["box_pk"])) for x in ctx["new_roster"]]
            env = flowlib.seal("underretning", UA, lene.id, lene.sign_sk, rc_, routing, plaintext)
            ev = flowlib.sign_event(lene.sign_sk, UA, "omdirigeret", lene.id, t_x - 2, team=NEW_TEAM,
                                    env_hash=flowlib.envelope_hash(env))
            before = n_rows()
            ans = fl.raw_session("myndighed-lene", lambda cl, d, ev=ev, env=env: request(
                cl, {"type": "event", "id": "rr", "event": ev, "envelope": env}))
            c(f"omdirigeret of UA re-sealed with {what}: bad_input, nothing stored, UA stays",
              ans.get("code") == "bad_input" and "routing" in ans.get("message", "") and n_rows() == before
              and dict(fl.q("SELECT reference, team FROM underretninger")).get(UA) == SIDE["A"][0],
              f"{json.dumps(ans)[:240]}; rows {before} -> {n_rows()}")

        # Phase 2: omdirigeret, the refused cells first, then lene (UA) and peter (UJ) move theirs to team-ung.
        order = [a[0] for a in ACTORS if a[0] not in ("myndighed-lene", "myndighed-peter")]
        for user in order + ["myndighed-lene", "myndighed-peter"]:
            run_cells(user, ["omdirigeret"])

        # ---- the table ----
        cols = [a[1] for a in ACTORS]
        harness.log("     what every cell got (own/foreign; '!' marks a cell that differs from POLICY):")
        harness.log("     " + f"{'request':<17}" + "".join(f"{x:<11}" for x in cols))
        for req in REQUESTS + KINDS:
            row = f"{req:<17}"
            for lb in cols:
                parts, bad = [], False
                for variant in ("own", "foreign"):
                    k = (req, lb, variant)
                    if k not in policy:
                        parts.append("-")
                        continue
                    g = got.get(k, "??")
                    parts.append(g)
                    bad |= g != policy[k]
                row += f"{'/'.join(parts) + ('!' if bad else ''):<11}"
            harness.log("     " + row)
        wrong = sorted(k for k in policy if got.get(k) != policy[k])
        for k in wrong:
            c(f"cell {k[0]}, {k[1]}, {k[2]}: {policy[k]} as documented", False,
              f"got {got.get(k)}: {json.dumps(answers.get(k))[:300]}")
        c(f"all {len(policy)} cells answer as POLICY says", not wrong,
          f"{len(wrong)} differ: " + ", ".join(f"{r}/{lb}/{v}" for r, lb, v in wrong))

        # ---- what the answers that were allowed contain (no other side's data) ----
        def refs_of(ans):
            return {i.get("reference") for i in (ans or {}).get("items", [])}
        rows = dict(fl.q("SELECT reference, sender_user FROM underretninger"))
        teams_now = dict(fl.q("SELECT reference, team FROM underretninger"))
        for lb, user in (("anna", "laerer-anna"), ("jonas", "laerer-jonas")):
            a = answers.get(("mine", lb, "own"))
            if a and a.get("type") == "items":
                mine = refs_of(a)
                own_all = {r for r, u in rows.items() if u == user}
                c(f"mine of {user} lists only (and all of) the own underretninger", mine and mine <= own_all,
                  f"{sorted(mine)} vs own {sorted(own_all)}")
        for lb, side in (("lene", "A"), ("peter", "J"), ("thomas", "A")):
            a = answers.get(("inbox", lb, "own"))
            if a and a.get("type") == "items":
                got_refs = refs_of(a)
                c(f"inbox of {lb} holds its team's U{side} and nothing of the other team",
                  ctx["ref"][side] in got_refs and ctx["ref"][OTHER[side]] not in got_refs
                  and all(i.get("team") == SIDE[side][0] for i in a["items"]), json.dumps(a)[:300])
        a = answers.get(("overview", "thomas", "own"))
        if a and a.get("type") == "deadlines":
            # Lene's cells ran before and met UA's deadlines; anna's submit cell left open ones on team-slagelse.
            ov = refs_of(a)
            slagelse = {r for r, u in rows.items() if u == "laerer-anna"}
            c("overview of leder-thomas: open deadlines of team-slagelse's underretninger only",
              ov and ov <= slagelse and UJ not in ov, f"{sorted(ov)} vs team-slagelse's {sorted(slagelse)}")
        for user, lb, own in ACTORS:
            for variant in ("own", "foreign"):
                side = own if variant == "own" else OTHER[own]
                for req in ("fetch", "status"):
                    a = answers.get((req, lb, variant))
                    if got.get((req, lb, variant)) == "ok" and a:
                        r = a.get("reference") if req == "fetch" else a.get("receipt", {}).get("reference")
                        c(f"{req} of U{side} as {user}: the answer is about U{side}", r == ctx["ref"][side], str(r))
        for lb in ("lene", "peter"):
            a = answers.get(("roster", lb, "foreign"))
            if a and a.get("type") == "routed":
                other = OTHER[[x[2] for x in ACTORS if x[1] == lb][0]]
                c(f"roster of the other team (as {lb}) is that team's", a.get("team") == SIDE[other][0]
                  and a.get("roster", {}).get("team") == SIDE[other][0], json.dumps(a)[:200])

        # ---- the database: exactly the allowed events, nothing from refusals ----
        ev_rows = fl.q("SELECT reference, kind, device, count(*) FROM events WHERE device <> ? "
                       "GROUP BY reference, kind, device", gw)
        have = {(r, k, d_) for r, k, d_, _ in ev_rows}
        twice = [(r, k, d_, n) for r, k, d_, n in ev_rows if n != 1]
        want_events = {(ref_of(req, side), req, dev[user].id) for (req, lb, variant), v in policy.items()
                       if v == "ok" and req in KINDS
                       for user, lb2, own in ACTORS if lb2 == lb
                       for side in [own if variant == "own" else OTHER[own]]}
        c("events table: exactly one row per allowed event cell, none from a refused one",
          have == want_events and not twice,
          f"extra {sorted(have - want_events)[:6]}, missing {sorted(want_events - have)[:6]}, twice {twice[:4]}")
        c("the events the cells were told event_ok are the ones stored", stored_events == have,
          f"told but not stored {sorted(stored_events - have)[:4]}; stored untold {sorted(have - stored_events)[:4]}")
        gw_bad = fl.count("events", "kind = 'leveret' AND device <> ?", gw)
        c("every leveret row is signed by the gateway device", gw_bad == 0, f"{gw_bad} other leveret rows")
        per = {}
        for r, k, n in fl.q("SELECT reference, kind, count(*) FROM events GROUP BY reference, kind"):
            per.setdefault(r, {})[k] = n
        for r in sorted(per):
            harness.log(f"     events of {r} ({rows.get(r)}, now {teams_now.get(r)}): "
                        + ", ".join(f"{k}={n}" for k, n in sorted(per[r].items())))
        n_sub = sum(1 for k, v in policy.items() if k[0] == "submit" and v == "ok")
        c(f"underretninger: UA, UJ, UA2, UJ2 and the {n_sub} allowed submit cells, all from anna or jonas",
          len(rows) == 4 + n_sub and set(rows.values()) <= {"laerer-anna", "laerer-jonas"}, str(rows))
        moved = {r: teams_now.get(r) for r in (UA, UJ)}
        c(f"the allowed omdirigeret cells moved UA and UJ to {NEW_TEAM}",
          moved == {UA: NEW_TEAM, UJ: NEW_TEAM}, str(moved))

        # ---- after the omdirigering: the old team no longer sees UA, the notifier still does ----
        ans = fl.raw_session("myndighed-lene", lambda cl, d: request(
            cl, {"type": "fetch", "id": "p1", "reference": UA}))
        c("after omdirigeret: lene (old team) fetches UA -> not_found", ans.get("code") == "not_found",
          json.dumps(ans)[:200])
        ans = fl.raw_session("laerer-anna", lambda cl, d: request(
            cl, {"type": "status", "id": "p2", "reference": UA}))
        c("after omdirigeret: anna (the notifier) still gets UA's timeline", ans.get("type") == "timeline",
          json.dumps(ans)[:200])
        ans = fl.raw_session("laerer-anna", lambda cl, d: request(
            cl, {"type": "fetch", "id": "p3", "reference": UA}))
        c("after omdirigeret: anna (the notifier) fetches UA as she submitted it (her device sealed it)",
          ans.get("type") == "underretning" and ans.get("envelope", {}).get("sender") == dev["laerer-anna"].id
          and ans.get("sender_cert", {}).get("device") == dev["laerer-anna"].id, json.dumps(ans)[:200])
        ev = flowlib.sign_event(lene.sign_sk, UA, "afsluttet", lene.id, int(time.time()) - 3)
        before = n_rows()
        ans = fl.raw_session("myndighed-lene", lambda cl, d: request(cl, {"type": "event", "id": "p3", "event": ev}))
        c("after omdirigeret: an event from the old team's myndighed -> not_found, nothing stored",
          ans.get("code") == "not_found" and n_rows() == before, json.dumps(ans)[:200])

        # ---- the case's states: UA2 was closed by lene; no decision follows, the inbox keeps saying so ----
        def closed_event(kind, t_k):
            """A well-formed event of kind by lene on the closed UA2 (and its envelope, or None)."""
            env_ = None
            if kind == "vurderet":
                return flowlib.sign_event(lene.sign_sk, UA2, kind, lene.id, t_k, akut=False), None
            if kind in ("kvitteret", "tilbagemelding"):
                rc_ = ctx["notifier"]["A"]
                env_ = flowlib.seal("kvittering" if kind == "kvitteret" else "tilbagemelding", UA2, lene.id,
                                    lene.sign_sk, rc_, b"", KVITTERING_TEXT)
                h = flowlib.envelope_hash(env_)
                if kind == "kvitteret":
                    return flowlib.sign_event(lene.sign_sk, UA2, kind, lene.id, t_k, env_hash=h), env_
                return flowlib.sign_event(lene.sign_sk, UA2, kind, lene.id, t_k, started=False, env_hash=h), env_
            if kind == "omdirigeret":
                rc_ = [(x["device"], flowlib.ub64(x["box_pk"])) for x in ctx["new_roster"]]
                env_ = flowlib.seal("underretning", UA2, lene.id, lene.sign_sk, rc_, ctx["routing2"]["A"], plaintext)
                return flowlib.sign_event(lene.sign_sk, UA2, kind, lene.id, t_k, team=NEW_TEAM,
                                          env_hash=flowlib.envelope_hash(env_)), env_
            # A second, different afsluttet: another time than the cell's (the same signed event would be a
            # duplicate, answered event_ok), still well after UA2 was received.
            return flowlib.sign_event(lene.sign_sk, UA2, kind, lene.id, t_k - 120), None

        for kind in ("vurderet", "kvitteret", "tilbagemelding", "omdirigeret", "afsluttet"):
            ev, env_ = closed_event(kind, int(time.time()) - 1)
            frame = {"type": "event", "id": "cs", "event": ev}
            if env_ is not None:
                frame["envelope"] = env_
            before = n_rows()
            ans = fl.raw_session("myndighed-lene", lambda cl, d, frame=frame: request(cl, frame))
            c(f"{kind} on the closed UA2: case_state, nothing stored",
              ans.get("code") == "case_state" and n_rows() == before, f"{json.dumps(ans)[:240]}")
        ans = fl.raw_session("myndighed-lene", lambda cl, d: request(cl, {"type": "inbox", "id": "i9"}))
        st2 = [i.get("state") for i in ans.get("items", []) if i.get("reference") == UA2]
        c("the inbox shows UA2 as afsluttet", st2 == ["afsluttet"], json.dumps(ans)[:300])

        # ---- a revoked device that only pings: its session is closed on the re-check, not kept alive ----
        thomas = dev["leder-thomas"]

        async def pinging(cl, d):
            first = await request(cl, {"type": "ping", "id": "g0"})
            rc, out, err = fl.ctl("revoke", thomas.id)
            t0 = time.monotonic()
            last = None
            while time.monotonic() - t0 < 8:
                try:
                    last = await request(cl, {"type": "ping", "id": "g1"})
                except Exception as e:  # websockets' ConnectionClosed when the close came before the send
                    rcvd = getattr(e, "rcvd", None)
                    last = {"type": "closed", "code": rcvd.code if rcvd is not None else getattr(e, "code", None)}
                if last.get("type") != "pong":
                    break
                await asyncio.sleep(0.25)
            return first, (rc, out, err), last, time.monotonic() - t0
        first, rev, last, took = fl.raw_session("leder-thomas", pinging)
        c("revoked while pinging: the ping before the revocation is answered", first.get("type") == "pong",
          json.dumps(first)[:200])
        c("revoked while pinging: varskoctl revoke succeeds", rev[0] == 0, flowlib.out_of(*rev))
        c("revoked while pinging: the session is closed with 1008 within a few seconds",
          last is not None and last.get("type") == "closed" and last.get("code") == 1008 and took < 6,
          f"{json.dumps(last)[:200]} after {took:.1f} s")

        # ---- a myndighed moved to another team by varskoctl import ----
        async def moved(cl, d):
            first = await request(cl, {"type": "inbox", "id": "m1"})
            doc = {"tenant": flowlib.TENANT, "users": [{"id": "myndighed-lene", "name": "Lene Sørensen",
                                                         "role": "myndighed", "team": NEW_TEAM}]}
            p = fl.path("move-lene.json")
            with open(p, "w", encoding="utf-8") as f:
                json.dump(doc, f)
            rc, out, err = fl.ctl("import", p)
            after = await request(cl, {"type": "inbox", "id": "m2"})
            try:  # the server closes the connection after the refusal
                closing = await request(cl, {"type": "inbox", "id": "m3"})
            except Exception as e:  # websockets' ConnectionClosed when the close came before the send
                rcvd = getattr(e, "rcvd", None)
                closing = {"type": "closed", "code": rcvd.code if rcvd is not None else getattr(e, "code", None)}
            return first, (rc, out, err), after, closing
        first, imp, after, closing = fl.raw_session("myndighed-lene", moved)
        c("moved: lene's inbox before the import lists team-slagelse's UA2",
          UA2 in {i.get("reference") for i in first.get("items", [])}, json.dumps(first)[:200])
        c("moved: varskoctl import moving lene to team-ung succeeds", imp[0] == 0, flowlib.out_of(*imp))
        c("moved: her open session's next request is refused device_revoked, nothing of team-slagelse shown",
          after.get("type") == "error" and after.get("code") == "device_revoked" and "items" not in after,
          json.dumps(after)[:300])
        c("moved: her session is then closed with 1008", closing.get("type") == "closed"
          and closing.get("code") == 1008, json.dumps(closing)[:200])
        n_rev = fl.count("devices", "user = 'myndighed-lene' AND revoked_at IS NOT NULL")
        c("moved: her device is revoked in the database (audited)", n_rev == 1
          and fl.count("audit", "event = 'revoke' AND detail LIKE ?", f"%{lene.id}%") >= 1, f"{n_rev} revoked")

        harness.log(f"     matrix and checks took {time.monotonic() - t_start:.1f} s")
        c("varskod still running", fl.alive("varskod"))
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rc, out, err = fl.ctl("audit", "verify")
        c("audit log intact", rc == 0 and "intact" in out, flowlib.out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
