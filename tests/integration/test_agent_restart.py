#!/usr/bin/python3
"""The broker loses its queue while the agent is away; varskod republishes.

team-slagelse's agent has subscribed once (persistent session) and is then
stopped. 20 underretninger are submitted; each reaches the broker (PUBACK:
a leveret event per reference) and waits in the agent's session queue.
Mosquitto is killed with SIGKILL and its persistence file removed, so the
queue is certainly lost, and started again; then the agent is started. All
20 are filed, each once: this works only because varskod keeps publishing
an underretning until the agent's modtaget arrives.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

N = 20
TEAM = "team-slagelse"


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna"]) as fl:
        fl.setup()
        rc = fl.stop_agent(TEAM)
        c("agent stopped with SIGTERM", rc == 0, f"exit {rc}")

        paths = [fl.doc(age=10, extra_text=f"(agent væk {i})") for i in range(N)]
        res = fl.send_many("laerer-anna", paths, parallel=3)
        failed = [out_of(rc, o, e) for _p, rc, j, o, e in res if rc != 0 or not isinstance(j, dict)]
        c(f"{N} submissions get receipts", not failed, f"{len(failed)} failed: {failed[:2]}")
        refs = sorted(j["reference"] for _p, rc, j, _o, _e in res if isinstance(j, dict) and "reference" in j)

        deadline = time.monotonic() + 60
        lev = set()
        while time.monotonic() < deadline:
            lev = {r for (r,) in fl.q("SELECT DISTINCT reference FROM events WHERE kind = 'leveret'")}
            if set(refs) <= lev:
                break
            time.sleep(0.3)
        c(f"all {N} reached the broker (PUBACK -> leveret)", set(refs) <= lev, f"{len(set(refs) & lev)} of {N}")
        c("none acknowledged by the agent yet (it is stopped)",
          fl.count("events", "kind = 'modtaget'") == 0 and not fl.filed(TEAM))

        rc = fl.kill("mosquitto", signal.SIGKILL)
        c("mosquitto killed with SIGKILL", rc == -signal.SIGKILL, f"exit {rc}")
        pdir = fl.path("mqtt", "mosquitto")
        removed = []
        for n in os.listdir(pdir) if os.path.isdir(pdir) else []:
            os.unlink(os.path.join(pdir, n))
            removed.append(n)
        harness.log(f"     removed broker persistence: {removed or 'nothing (no snapshot yet)'}")
        fl.restart_mosquitto()
        time.sleep(1.0)
        fl.start_agent(TEAM)
        harness.log("     mosquitto and the agent started again")

        stamps = {}
        t0 = time.monotonic()
        got = fl.wait_filed(TEAM, refs, timeout=120, stamps=stamps)
        harness.log(f"     {len(got)} of {N} filed after {time.monotonic() - t0:.1f} s")
        c(f"all {N} filed after the queue was lost", got == set(refs), f"missing {sorted(set(refs) - got)[:5]}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
            time.sleep(0.5)
        time.sleep(2 * fl.backoff_first + 2)
        flowlib.check_exactly_once(checks, fl, TEAM, refs, stamps=stamps)
        att = fl.q("SELECT reference, attempts FROM outbox WHERE needs_ack = 1")
        once = [r for r, a in att if r in refs and a < 2]
        c("varskod published every one again after the PUBACK (attempts >= 2)", not once and len(att) == N,
          f"{len(once)} published only once: {once[:4]}")
        c("agent still running", fl.alive(f"agent-{TEAM}"))
        rc = fl.stop_agent(TEAM)
        c("agent exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
