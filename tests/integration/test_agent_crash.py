#!/usr/bin/python3
"""varsko-agent killed with SIGKILL while it files a burst in batches (docs/FLOW.md step 6).

The agent is stopped while laerer-anna submits 60 underretninger, so they
wait for it at the broker (its persistent session). It is started again and
killed with SIGKILL as soon as it has filed some, three times over at
different moments; the fourth start runs to the end. Then:

  - every underretning is filed exactly once (one <REF>.json each, nothing
    else visible in the case directory, no temporary left behind);
  - the agent stored exactly one modtaget and one journaliseret per
    reference, and varskod holds exactly one of each per reference, and it
    is byte for byte the stored one: no event left the agent before it was
    durable (a published event that was lost in the crash would have been
    signed again, at another time, and varskod would hold two);
  - every outbox row is acknowledged, and the audit chain is intact.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402

N = 60
TEAM = "team-slagelse"
KILLS = (1, 12, 30)  # kill once at least this many more are filed than before the start


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna"], backoff_first=2, backoff_max=4) as fl:
        fl.setup()
        fl.stop_agent(TEAM)
        paths = [fl.doc(age=7 + i % 6, extra_text=f"(nedbrud {i + 1} af {N})") for i in range(N)]
        res = fl.send_many("laerer-anna", paths, parallel=4)
        refs = sorted(j["reference"] for _p, rc, j, _o, _e in res if rc == 0 and isinstance(j, dict))
        c(f"all {N} submissions get a receipt while the agent is stopped", len(refs) == N, f"{len(refs)}")

        for k, more in enumerate(KILLS, 1):
            before = len(fl.filed(TEAM))
            fl.start_agent(TEAM, wait=False)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(fl.filed(TEAM)) < min(N, before + more):
                time.sleep(0.005)
            rc = fl.kill(f"agent-{TEAM}")
            harness.log(f"     kill {k}: {len(fl.filed(TEAM))} filed (was {before}), agent exit {rc}")
            c(f"kill {k}: the agent was killed with SIGKILL", rc == -9, f"exit {rc}")

        fl.start_agent(TEAM)
        got = fl.wait_filed(TEAM, refs, timeout=120)
        c(f"after the last start all {N} are filed", got == set(refs), f"missing {sorted(set(refs) - got)[:5]}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
            time.sleep(0.5)
        time.sleep(2 * fl.backoff_first + 1)

        case = fl.case_dir(TEAM)
        visible = sorted(n for n in os.listdir(case) if not n.startswith("."))
        c("the case directory holds exactly one file per underretning and nothing else",
          visible == sorted(f"{r}.json" for r in refs), f"{len(visible)} entries: {visible[:3]}")
        acks = os.path.join(case, ".acks")
        temps = [n for d in (case, acks) for n in os.listdir(d) if ".tmp-" in n]
        c("no temporary file is left behind", not temps, str(temps[:3]))
        stored = {}
        for n in os.listdir(acks):
            if n.endswith(".json"):
                ref, kind, _ = n.split(".")
                with open(os.path.join(acks, n), encoding="utf-8") as f:
                    stored[(ref, kind)] = json.load(f)
        c("the agent stored one modtaget and one journaliseret per reference",
          set(stored) == {(r, k) for r in refs for k in ("modtaget", "journaliseret")}, f"{len(stored)} stored")

        held = {}
        for ref, kind, event in fl.q("SELECT reference, kind, event FROM events"
                                     " WHERE kind IN ('modtaget', 'journaliseret')"):
            held.setdefault((ref, kind), []).append(json.loads(event))
        twice = [k for k, v in held.items() if len(v) != 1]
        c("varskod holds exactly one modtaget and one journaliseret per reference",
          not twice and set(held) == set(stored), f"{len(held)} held, more than one for {twice[:3]}")
        differ = [k for k, v in held.items() if k in stored and v[0] != stored[k]]
        c("each event varskod holds is the one the agent stored (none left before it was durable)", not differ,
          str(differ[:3]))
        c("every outbox row is acknowledged", fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") == 0)
        rc, out, err = fl.ctl("audit", "verify")
        c("varskoctl audit verify: intact", rc == 0, (out + err)[-300:])
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
