#!/usr/bin/python3
"""Bad input to the underretning flow is refused with a stable code, and
nothing is stored or published.

With the `varsko` CLI (what a user can do):
  - a document with a missing field, a malformed field, an unknown field,
    a CPR number that is not a date, or over the client's size limit: the
    CLI refuses before sending (exit 1, the problem name and JSON path on
    stderr, never the value);
  - an unknown institution, and an institution that is not the sender's;
  - a document over the server's max_submit (set to 64 KiB here);
  - an event for an unknown reference, and from a worker of another team.
With the raw WebSocket client, signing with PyNaCl (what an attacker can
send): a valid control submission first (so the raw encoding is right),
then a sender signature that does not verify, an envelope whose sender is
not the session's device, recipients that differ from the roster (one
missing, one extra), an unknown institution in the routing header, an
oversize submit frame, events for an unknown reference, from a device of
another team, from the notifier, and with a bad signature; and over MQTT an
agent of another team acknowledging this team's underretning.

After each: the rows of underretninger, events, outbox and deadlines are
unchanged (sqlite3, read-only), and subscribers with every team agent's
certificate receive nothing.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import TEAMS, out_of, request  # noqa: E402

TEAM = "team-slagelse"
TABLES = ("underretninger", "events", "outbox", "deadlines")


def main():
    checks = harness.Checks()
    c = checks.check
    users = ["laerer-anna", "laerer-jonas", "myndighed-lene", "myndighed-peter"]
    with flowlib.Flow(agents=[TEAM], users=users, config={"max_submit": 65536}) as fl:
        fl.setup(org=False)  # raw envelopes to rosters: teams without a team key (PROTOCOL.md 16.7)
        snap = {}

        def snapshot():
            snap.clear()
            snap.update(fl.counts(TABLES))

        def unchanged(what):
            now = fl.counts(TABLES)
            c(f"{what}: nothing stored", now == snap, f"{snap} -> {now}")

        # -- a valid underretning to refer to --
        rc, rec, out, err = fl.send("laerer-anna", fl.doc(age=9))
        if not c("control: a valid underretning via the CLI", rc == 0 and isinstance(rec, dict), out_of(rc, out, err)):
            return checks.done()
        ref = rec["reference"]
        c("control: the agent files it", fl.wait_filed(TEAM, [ref], timeout=60) == {ref})

        with open(flowlib.EXAMPLE, "rb") as f:
            plaintext = f.read()

        async def get_route(cl, header_js):
            return await request(cl, {"type": "route", "id": "r1", "header": header_js})

        def raw_envelope(dev, roster_devs, institution="inst-nordskovskolen", submission=None, sender=None,
                         age_group="6-13", pt=plaintext):
            submission = submission or f"s-raw-{os.urandom(6).hex()}"
            routing, _ = flowlib.routing_header(institution, age_group, False, False, submission, int(time.time()))
            rcpts = [(d["device"], flowlib.ub64(d["box_pk"])) for d in roster_devs]
            return flowlib.seal("underretning", submission, sender or dev.id, dev.sign_sk, rcpts, routing, pt)

        async def control(cl, dev):
            _, hjs = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, "s-raw-control",
                                            int(time.time()))
            routed = await get_route(cl, hjs)
            if routed.get("type") != "routed":
                return routed, None
            env = raw_envelope(dev, routed["roster"]["devices"], submission="s-raw-control")
            ans = await request(cl, {"type": "submit", "id": "s1", "envelope": env})
            return routed, ans

        routed, ans = fl.raw_session("laerer-anna", control)
        c("raw control: route -> routed team-slagelse with a roster",
          routed.get("type") == "routed" and routed.get("team") == TEAM
          and isinstance(routed.get("roster"), dict), json.dumps(routed)[:300])
        roster = routed.get("roster", {}).get("devices", []) if isinstance(routed, dict) else []
        c("raw control: a correctly sealed submit -> receipt", isinstance(ans, dict) and ans.get("type") == "receipt",
          json.dumps(ans)[:300])
        ref_raw = (ans or {}).get("receipt", {}).get("reference")
        c("raw control: the agent files it", ref_raw and fl.wait_filed(TEAM, [ref_raw], timeout=60) == {ref_raw})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
            time.sleep(0.3)
        c("both acknowledged by the agent (nothing left to republish)",
          fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") == 0)

        # TEAM's agent runs: an observer beside it; the others' own certificates (team-ung's publishes).
        spies = {t: flowlib.MqttSpy(fl, f"agent-{t}", [f"varsko/{flowlib.TENANT}/team/{t}/#"], own=t != TEAM)
                 for t in TEAMS}
        try:
            audit0 = fl.count("audit")
            snapshot()

            # -- the CLI refuses bad documents before sending --
            def drop_concern(d):
                del d["concern"]

            def bad_phone(d):
                d["parents"][0]["phone"] = "ring til mor"

            def akut_text(d):
                d["akut"] = "ja"

            def extra_field(d):
                d["child"]["skostoerrelse"] = 31

            cases = [
                ("missing field concern", fl.doc(mutate=drop_concern), "missing", "concern"),
                ("malformed phone", fl.doc(mutate=bad_phone), "bad_value", "parents[0].phone"),
                ("akut as text", fl.doc(mutate=akut_text), "wrong_type", "akut"),
                # The unknown field is named (the writer's own field name, issue 11); its value is not.
                ("unknown field in child", fl.doc(mutate=extra_field), "unknown_field", "child.skostoerrelse"),
                ("CPR 31 February", fl.doc(cpr="310217-4012"), "bad_value", "child.cpr"),
                ("CPR 14th month", fl.doc(cpr="011417-4012"), "bad_value", "child.cpr"),
                ("document over 512 KiB", fl.doc(age=9, pad=600 * 1024), "too_large", ""),
            ]
            for what, path, problem, jpath in cases:
                rc, out, err = fl.cli_as("laerer-anna", "underret", "send", path)
                c(f"CLI {what}: exit 1, '{problem}'" + (f" and '{jpath}'" if jpath else "") + " on stderr",
                  rc == 1 and problem in err and jpath in err, out_of(rc, out, err))
                c(f"CLI {what}: the value is not echoed",
                  "310217-4012" not in err + out and "ring til mor" not in err + out and " 31" not in err)
                unchanged(f"CLI {what}")
            a1 = fl.count("audit")
            harness.log(f"     audit entries during the local refusals: {a1 - audit0} (0: the CLI did not connect)")

            # -- refused by the server, via the CLI --
            rc, out, err = fl.cli_as("laerer-anna", "underret", "send", fl.doc(institution="inst-findes-ikke", age=9))
            c("CLI unknown institution: exit 1 with forbidden, not_found or bad_input",
              rc == 1 and ("forbidden" in err or "not_found" in err or "bad_input" in err), out_of(rc, out, err))
            unchanged("CLI unknown institution")
            rc, out, err = fl.cli_as("laerer-anna", "underret", "send",
                                     fl.doc(institution="inst-halsskov-strandskole", age=9))
            c("CLI institution that is not the sender's: exit 1 with forbidden", rc == 1 and "forbidden" in err,
              out_of(rc, out, err))
            unchanged("CLI foreign institution")

            def big(d):
                for k in ("concern", "observations", "wellbeing", "help_tried"):
                    d[k] = ("Fiktiv tekst om trivsel og fravaer. " * 500)[:15990]
            rc, out, err = fl.cli_as("laerer-anna", "underret", "send", fl.doc(age=9, mutate=big))
            # PROTOCOL.md 12.6: too_large, or a close with 1009 above the WebSocket limit.
            c("CLI document over the server's max_submit (64 KiB): exit 1 with too_large",
              rc == 1 and "too_large" in err, out_of(rc, out, err))
            unchanged("CLI over max_submit")

            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "vurder", "U-2026-999999", "--akut", "nej")
            c("CLI vurder of an unknown reference: not_found", rc == 1 and "not_found" in err, out_of(rc, out, err))
            unchanged("CLI unknown reference")
            rc, out, err = fl.cli_as("myndighed-peter", "myndighed", "vurder", ref, "--akut", "ja")
            c("CLI vurder by another team's worker: not_found or forbidden",
              rc == 1 and ("not_found" in err or "forbidden" in err), out_of(rc, out, err))
            unchanged("CLI event from another team")

            # -- raw submissions --
            async def raw_submits(cl, dev):
                res = {}
                env = raw_envelope(dev, roster)
                sig = flowlib.ub64(env["sig"])
                env["sig"] = flowlib.b64(bytes([sig[0] ^ 1]) + sig[1:])
                res["bad signature"] = await request(cl, {"type": "submit", "id": "b1", "envelope": env})
                other = next(d for d in roster if d["device"] != dev.id)
                env = raw_envelope(dev, roster, sender=fl.device("laerer-jonas").id)
                res["sender is another device"] = await request(cl, {"type": "submit", "id": "b2", "envelope": env})
                fewer = [d for d in roster if d is not other]
                if fewer:
                    env = raw_envelope(dev, fewer)
                    res["one roster device left out"] = await request(cl, {"type": "submit", "id": "b3",
                                                                           "envelope": env})
                intruder = dict(dev.cert)
                env = raw_envelope(dev, roster + [intruder])
                res["an extra recipient (the sender)"] = await request(cl, {"type": "submit", "id": "b4",
                                                                             "envelope": env})
                env = raw_envelope(dev, roster, institution="inst-findes-ikke")
                res["unknown institution in the header"] = await request(cl, {"type": "submit", "id": "b5",
                                                                               "envelope": env})
                env = raw_envelope(dev, roster, institution="inst-halsskov-strandskole")
                res["another's institution in the header"] = await request(cl, {"type": "submit", "id": "b6",
                                                                                 "envelope": env})
                env = raw_envelope(dev, roster, pt=os.urandom(80 * 1024))
                res["submit frame over max_submit"] = await request(cl, {"type": "submit", "id": "b7",
                                                                          "envelope": env})
                return res

            want = {
                "bad signature": {"bad_signature"},
                "sender is another device": {"bad_signature", "forbidden", "bad_input"},
                "one roster device left out": {"bad_input"},
                "an extra recipient (the sender)": {"bad_input"},
                "unknown institution in the header": {"not_found", "bad_input", "forbidden"},
                "another's institution in the header": {"forbidden"},
                "submit frame over max_submit": {"too_large", 1009},
            }
            res = fl.raw_session("laerer-anna", raw_submits)
            for what, ans in res.items():
                code = ans.get("code") if ans.get("type") != "closed" else ans.get("code")
                harness.log(f"     raw {what}: {json.dumps(ans)[:200]}")
                c(f"raw submit, {what}: refused with {sorted(map(str, want[what]))}",
                  ans.get("type") in ("error", "closed") and code in want[what], json.dumps(ans)[:300])
            unchanged("raw submissions")

            # -- raw events --
            now = int(time.time())
            lene, peter, anna = fl.device("myndighed-lene"), fl.device("myndighed-peter"), fl.device("laerer-anna")

            async def send_event(cl, dev, ev, rid):
                return await request(cl, {"type": "event", "id": rid, "event": ev})

            ev_unknown = flowlib.sign_event(lene.sign_sk, "U-2026-999999", "vurderet", lene.id, now, akut=False)
            ans = fl.raw_session("myndighed-lene", lambda cl, d: send_event(cl, d, ev_unknown, "e1"))
            c("raw event for an unknown reference: not_found", ans.get("code") == "not_found", json.dumps(ans)[:300])
            ev_peter = flowlib.sign_event(peter.sign_sk, ref, "vurderet", peter.id, now, akut=True)
            ans = fl.raw_session("myndighed-peter", lambda cl, d: send_event(cl, d, ev_peter, "e2"))
            c("raw event from a device of another team: forbidden or not_found",
              ans.get("code") in ("forbidden", "not_found"), json.dumps(ans)[:300])
            ev_anna = flowlib.sign_event(anna.sign_sk, ref, "vurderet", anna.id, now, akut=False)
            ans = fl.raw_session("laerer-anna", lambda cl, d: send_event(cl, d, ev_anna, "e3"))
            c("raw vurderet signed by the notifier (a fagperson): forbidden",
              ans.get("code") == "forbidden", json.dumps(ans)[:300])
            ev_bad = flowlib.sign_event(lene.sign_sk, ref, "vurderet", lene.id, now, akut=False)
            ev_bad["akut"] = True  # signed with akut false
            ans = fl.raw_session("myndighed-lene", lambda cl, d: send_event(cl, d, ev_bad, "e4"))
            c("raw event whose signature does not verify: bad_signature",
              ans.get("code") == "bad_signature", json.dumps(ans)[:300])
            unchanged("raw events")

            # -- over MQTT: another team's agent acknowledges this team's underretning --
            ung = fl.device("agent-team-ung")
            refused0 = fl.q("SELECT seq FROM audit WHERE event = 'mqtt_refused'")
            ev = flowlib.sign_event(ung.sign_sk, ref, "modtaget", ung.id, int(time.time()))
            spies["team-ung"].publish(f"varsko/{flowlib.TENANT}/ack",
                                      json.dumps({"type": "event", "event": ev, "cert": ung.cert},
                                                 separators=(",", ":")).encode())
            ev = flowlib.sign_event(ung.sign_sk, "U-2026-999998", "modtaget", ung.id, int(time.time()))
            spies["team-ung"].publish(f"varsko/{flowlib.TENANT}/ack",
                                      json.dumps({"type": "event", "event": ev, "cert": ung.cert},
                                                 separators=(",", ":")).encode())
            time.sleep(3.0)
            unchanged("MQTT modtaget from another team's agent and for an unknown reference")
            refused = fl.q("SELECT detail FROM audit WHERE event = 'mqtt_refused' AND seq > ?",
                           max([r for (r,) in refused0], default=0))
            harness.log(f"     audit mqtt_refused: {refused}")
            c("both MQTT refusals are in the audit log (PROTOCOL.md 12.9: counted and audited)", len(refused) == 2,
              str(refused))

            time.sleep(2 * fl.backoff_first + 1)
            for t, s in spies.items():
                msgs = s.messages()
                c(f"subscriber with agent-{t}'s certificate received nothing during the refusals", not msgs,
                  f"{len(msgs)} messages: {[m[0] for m in msgs][:5]}")
        finally:
            for s in spies.values():
                s.close()
        c("the case directory holds only the two accepted underretninger",
          sorted(fl.case_entries(TEAM)) == sorted([f"{ref}.json", f"{ref_raw}.json"]), str(fl.case_entries(TEAM)))
        c("varskod still running", fl.alive("varskod"))
        rc, out, err = fl.cli_as("laerer-anna", "whoami")
        c("varskod still serves anna", rc == 0 and "laerer-anna" in out, out_of(rc, out, err))
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rc, out, err = fl.ctl("audit", "verify")
        c("audit log intact", rc == 0 and "intact" in out, out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
