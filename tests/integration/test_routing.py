#!/usr/bin/python3
"""Routing end to end: the demo municipality's first-match rules decide the team.

With real varskod, Mosquitto (TLS, ACL) and one varsko-agent per team:
  - Nordskovskolen (Slagelse), child of 9        -> team-slagelse
  - Halsskov Strandskole (Korsør), child of 9    -> team-korsoer-skaelskoer
  - a child of 15                                -> team-ung (also from Korsør: the age rule comes first)
  - handicap                                     -> team-handicap (before age 15)
  - akut at 10:00 on a hverdag                   -> not doegnvagt (office hours)
  - akut at 22:00 on a hverdag                   -> doegnvagt
The last two run varskod, the CLI and the agents under libfaketime, moved
forward to the next Monday-Thursday hverdag in Copenhagen time. Each case
checks the receipt's team (and that the receipt verifies offline), the row in
the database, and that exactly the matching team's agent files it.

A subscriber with agent-team-ung's certificate on the team-slagelse topic (and
on the whole tenant) receives nothing while an underretning is delivered to
team-slagelse, while a subscriber with team-slagelse's certificate does.
"""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import TEAMS, out_of  # noqa: E402


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=TEAMS, users=["laerer-anna", "laerer-jonas"]) as fl:
        fl.setup()

        def route_case(what, user, want, env=None, restart_agents=(), **docargs):
            path = fl.doc(extra_text=f"({what})", **docargs)
            rc, rec, out, err = fl.send(user, path, env=env)
            ok = c(f"{what}: send exits 0 with a receipt", rc == 0 and isinstance(rec, dict), out_of(rc, out, err))
            if not ok:
                return None
            ref, team = rec.get("reference"), rec.get("team")
            harness.log(f"     {what}: {ref} -> {team}")
            c(f"{what}: a new underretning (not a duplicate)", rec.get("duplicate") is False, str(rec.get("duplicate")))
            c(f"{what}: receipt team is {want}", team == want, f"team {team!r}")
            rf = fl.receipt_file(user, ref)
            rc, out, err = fl.cli_as(user, "receipt", "verify", rf, env=env)
            c(f"{what}: saved receipt verifies offline", rc == 0 and "er ægte" in out and ref in out, out_of(rc, out, err))
            rows = fl.q("SELECT team, first_team FROM underretninger WHERE reference = ?", ref)
            c(f"{what}: database row has team {want}", rows == [(want, want)], str(rows))
            got = fl.wait_filed(want, [ref], timeout=45)
            c(f"{what}: the agent of {want} files it", got == {ref}, f"filed in {want}: {sorted(fl.filed(want))}")
            others = [t for t in TEAMS if t != want and ref in fl.filed(t)]
            c(f"{what}: no other team's agent has it", not others, f"also in {others}")
            return ref

        route_case("Nordskovskolen, age 9", "laerer-anna", "team-slagelse", age=9)
        route_case("Halsskov Strandskole (Korsør), age 9", "laerer-jonas", "team-korsoer-skaelskoer",
                   institution="inst-halsskov-strandskole", age=9)
        route_case("Nordskovskolen, age 15", "laerer-anna", "team-ung", age=15)
        route_case("Halsskov Strandskole, age 15 (age rule before district)", "laerer-jonas", "team-ung",
                   institution="inst-halsskov-strandskole", age=15)
        route_case("handicap, age 9", "laerer-anna", "team-handicap", age=9, handicap=True)
        route_case("handicap, age 15 (handicap rule first)", "laerer-anna", "team-handicap", age=15, handicap=True)
        route_case("CPR instead of birth date, age 16", "laerer-anna", "team-ung", age=16, cpr=True)

        # -- another team's certificate cannot read the topic --
        topic = f"varsko/{flowlib.TENANT}/team/team-slagelse/#"
        spy_other = flowlib.MqttSpy(fl, "agent-team-ung", [topic, f"varsko/{flowlib.TENANT}/#"])
        spy_own = flowlib.MqttSpy(fl, "agent-team-slagelse", [topic])
        try:
            ref = route_case("delivery while two subscribers listen", "laerer-anna", "team-slagelse", age=8)
            time.sleep(1.0)
            own = [r for r in spy_own.references() if r == ref]
            c("control: a subscriber with team-slagelse's certificate receives the underretning", len(own) >= 1,
              f"references seen: {spy_own.references()}")
            seen = spy_other.messages()
            harness.log(f"     agent-team-ung subscriber saw {len(seen)} messages: {[t for t, _ in seen]}")
            c("a subscriber with agent-team-ung's certificate receives nothing of team-slagelse",
              not any("/team/team-slagelse/" in t for t, _ in seen), str([t for t, _ in seen]))
        finally:
            spy_other.close()
            spy_own.close()

        # -- akut: the clock decides (libfaketime, forward only) --
        t10 = flowlib.next_hverdag_at(10, 0)
        t22 = t10 + 12 * 3600
        harness.log(f"     fake clock: {datetime.datetime.fromtimestamp(t10, flowlib.copenhagen())} and "
                    f"{datetime.datetime.fromtimestamp(t22, flowlib.copenhagen())} (Copenhagen)")
        for label, target, want in (("akut at 10:00 on a hverdag", t10, "team-slagelse"),
                                    ("akut at 22:00 on a hverdag", t22, "doegnvagt")):
            off = target - int(time.time()) + 1
            fenv = flowlib.faketime_env(off)
            fl.stop_varskod()
            fl.start_varskod(env=fenv)
            fl.stop_agent(want)
            fl.start_agent(want, env=fenv)
            ref = route_case(label, "laerer-anna", want, env=fenv, age=9, akut=True, offset=off)
            if ref:
                rec = fl.q("SELECT received_at, akut, outside_office FROM underretninger WHERE reference = ?", ref)
                if rec:
                    local = datetime.datetime.fromtimestamp(rec[0][0], flowlib.copenhagen())
                    harness.log(f"     received {local} Copenhagen, akut={rec[0][1]} outside_office={rec[0][2]}")
                    c(f"{label}: received at the faked hour", local.hour == target_hour(target), str(local))
        c("varskod still running", fl.alive("varskod"))
        dead = [t for t in TEAMS if not fl.alive(f"agent-{t}")]
        c("every agent still running", not dead, f"exited: {dead}")
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
    return checks.done()


def target_hour(t):
    return datetime.datetime.fromtimestamp(t, flowlib.copenhagen()).hour


if __name__ == "__main__":
    sys.exit(main())
