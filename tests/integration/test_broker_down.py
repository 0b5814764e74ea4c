#!/usr/bin/python3
"""The broker is down while 100 underretninger are submitted.

Mosquitto is stopped (SIGTERM); laerer-anna submits 100 distinct
underretninger with parallel `varsko underret send` processes: every one gets
a receipt at once, with its own reference, and every saved receipt verifies
offline (`varsko receipt verify`). Nothing is delivered meanwhile. Mosquitto
is started again: team-slagelse's agent files all 100, each exactly once (one
file per reference and nothing else in the case directory, no file written
twice, one modtaget and one journaliseret event per reference, every outbox
row acknowledged, the agent's .acks consistent), and a while later nothing
has changed (no republication after modtaget creates a duplicate). The
burst is filed in batches (docs/FLOW.md step 6): the agent's
varsko_agent_syncs_total (its --metrics-file) counts fewer than two calls
that wait for the disk per underretning (six when each is filed alone,
three for a batch of one).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

N = 100
TEAM = "team-slagelse"


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna"]) as fl:
        fl.setup()
        rc = fl.stop_mosquitto()
        c("mosquitto stopped with SIGTERM", rc == 0, f"exit {rc}")
        # The agent again, with its metrics file (it connects once the broker is back).
        mfile = fl.path("agent.prom")
        fl.stop_agent(TEAM)
        fl.start(f"agent-{TEAM}", fl.agent_argv(TEAM) + ["--metrics-file", mfile])

        paths = [fl.doc(age=7 + i % 6, extra_text=f"(testdokument {i + 1} af {N})") for i in range(N)]
        t0 = time.monotonic()
        res = fl.send_many("laerer-anna", paths, parallel=4)
        dt = time.monotonic() - t0
        harness.log(f"     {N} submissions in {dt:.1f} s with the broker down")
        failed = [(os.path.basename(p), out_of(rc, out, err)) for p, rc, j, out, err in res
                  if rc != 0 or not isinstance(j, dict)]
        c(f"all {N} submissions get a receipt while the broker is down", not failed,
          f"{len(failed)} failed, e.g. {failed[:2]}")
        refs = [j["reference"] for _p, rc, j, _o, _e in res if rc == 0 and isinstance(j, dict) and "reference" in j]
        c(f"{N} distinct references", len(set(refs)) == N, f"{len(set(refs))} distinct of {len(refs)}")
        c("no receipt says duplicate", not any(j.get("duplicate") for _p, rc, j, _o, _e in res
                                              if isinstance(j, dict)))
        c(f"every receipt names {TEAM}",
          all(j.get("team") == TEAM for _p, rc, j, _o, _e in res if isinstance(j, dict)))

        bad = []
        for r in refs:
            rc, out, err = fl.cli_as("laerer-anna", "receipt", "verify", fl.receipt_file("laerer-anna", r))
            if rc != 0 or "er ægte" not in out or r not in out:
                bad.append((r, out_of(rc, out, err)))
        c(f"all {len(refs)} saved receipts verify offline", not bad and refs, f"{len(bad)} bad: {bad[:2]}")
        c("database holds the 100 underretninger", fl.count("underretninger") == N, str(fl.counts()))
        c("nothing was filed while the broker was down", not fl.filed(TEAM), f"{len(fl.filed(TEAM))} filed")
        c("no outbox row has a PUBACK while the broker was down",
          fl.count("outbox", "puback_at IS NOT NULL") == 0)

        fl.restart_mosquitto()
        harness.log("     mosquitto started again")
        stamps = {}
        t0 = time.monotonic()
        got = fl.wait_filed(TEAM, refs, timeout=180, stamps=stamps)
        harness.log(f"     {len(got)} of {len(refs)} filed after {time.monotonic() - t0:.1f} s")
        c(f"the agent files all {len(refs)} after the broker is back", got == set(refs),
          f"missing {sorted(set(refs) - got)[:5]}")
        # Let acknowledgements land and any stray republication arrive before judging "once".
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
            time.sleep(0.5)
        time.sleep(2 * fl.backoff_first + 2)
        syncs = filed = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with open(mfile, encoding="utf-8") as f:
                    m = dict(ln.split("{", 1)[0:1] + [ln.rsplit(" ", 1)[1]] for ln in f.read().splitlines()
                             if ln.startswith("varsko_agent_"))
                syncs, filed = int(m["varsko_agent_syncs_total"]), int(m["varsko_agent_filed_total"])
            except (OSError, KeyError, ValueError):
                pass
            if filed == N:
                break
            time.sleep(0.5)
        harness.log(f"     the agent filed {filed} with {syncs} calls that waited for the disk")
        # Alone: 6 each (file and directory, for modtaget, record and journaliseret); a batch of one: 3.
        c("the burst was filed in batches of several: fewer than 2 disk waits per underretning",
          filed == N and syncs is not None and syncs < 2 * N, f"{syncs} for {filed}")
        flowlib.check_exactly_once(checks, fl, TEAM, refs, stamps=stamps)
        lev = fl.q("SELECT count(DISTINCT reference) FROM events WHERE kind = 'leveret'")[0][0]
        c("a leveret event for every underretning", lev == N, f"{lev}")
        c("agent still running", fl.alive(f"agent-{TEAM}"))
        c("varskod still running", fl.alive("varskod"))
        rc = fl.stop_agent(TEAM)
        c("agent exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        c("PRAGMA integrity_check ok", fl.integrity() == [("ok",)], str(fl.integrity()))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
