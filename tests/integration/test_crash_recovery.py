#!/usr/bin/python3
"""varskod is killed with SIGKILL after it gave receipts but before any PUBACK.

Mosquitto is stopped first, so no publication can be acknowledged; 30
underretninger are submitted and get receipts; varskod is killed with
SIGKILL; Mosquitto and then varskod are started again. Afterwards every
underretning that got a receipt is in the database once with byte-identical
receipt and envelope hash, its receipt verifies offline, team-slagelse's
agent files each exactly once, and `PRAGMA integrity_check` says ok. A
second SIGKILL right after restart (while publishing) loses nothing either.
"""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

N = 30
TEAM = "team-slagelse"


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna"]) as fl:
        fl.setup()
        rc = fl.stop_mosquitto()
        c("mosquitto stopped (no PUBACK possible)", rc == 0, f"exit {rc}")
        paths = [fl.doc(age=9, extra_text=f"(nedbrud {i})") for i in range(N)]
        res = fl.send_many("laerer-anna", paths, parallel=3)
        failed = [out_of(rc, o, e) for _p, rc, j, o, e in res if rc != 0 or not isinstance(j, dict)]
        c(f"{N} submissions get receipts", not failed, f"{len(failed)} failed: {failed[:2]}")
        receipts = {j["reference"]: j for _p, rc, j, _o, _e in res if isinstance(j, dict) and "reference" in j}
        refs = sorted(receipts)
        c("no outbox row has a PUBACK before the kill", fl.count("outbox", "puback_at IS NOT NULL") == 0)

        rc = fl.kill("varskod", signal.SIGKILL)
        c("varskod killed with SIGKILL", rc == -signal.SIGKILL, f"exit {rc}")
        c("the database files are still there (WAL not checkpointed by a clean exit)",
          os.path.exists(fl.database), str(os.listdir(fl.state)))

        fl.restart_mosquitto()
        fl.start_varskod()
        harness.log("     mosquitto and varskod started again")

        rows = fl.q("SELECT reference, receipt FROM underretninger")
        stored = {}
        for ref, text in rows:
            stored.setdefault(ref, []).append(text)
        c(f"all {len(refs)} receipted underretninger are in the database after the crash",
          set(refs) <= set(stored), f"missing {sorted(set(refs) - set(stored))[:5]}")
        c("each once", all(len(stored.get(r, [])) == 1 for r in refs))
        c("nothing else was stored", set(stored) == set(refs), f"{len(stored)} rows for {len(refs)} receipts")
        same_bytes, same_obj = [], []
        for r in refs:
            if r not in stored:
                continue
            want = flowlib.receipt_only(receipts[r])
            try:
                got = json.loads(stored[r][0])
            except ValueError:
                got = None
            same_obj.append(got == want)
            with open(fl.receipt_file("laerer-anna", r), "rb") as f:
                saved = f.read().strip()
            same_bytes.append(saved == stored[r][0].encode().strip())
        c("the stored receipts equal what the client was given", same_obj and all(same_obj),
          f"{same_obj.count(False)} differ")
        c("the saved receipt files are byte-identical to the stored receipts", same_bytes and all(same_bytes),
          f"{same_bytes.count(False)} differ")

        # A second kill while it republishes (the first PUBACKs may or may not have arrived).
        time.sleep(0.3)
        rc = fl.kill("varskod", signal.SIGKILL)
        c("varskod killed again right after restart", rc == -signal.SIGKILL, f"exit {rc}")
        fl.start_varskod()

        stamps = {}
        got = fl.wait_filed(TEAM, refs, timeout=120, stamps=stamps)
        c(f"the agent files all {len(refs)} after the restart", got == set(refs),
          f"missing {sorted(set(refs) - got)[:5]}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
            time.sleep(0.5)
        time.sleep(2 * fl.backoff_first + 2)
        flowlib.check_exactly_once(checks, fl, TEAM, refs, stamps=stamps)

        bad = []
        for r in refs:
            rc, out, err = fl.cli_as("laerer-anna", "receipt", "verify", fl.receipt_file("laerer-anna", r))
            if rc != 0:
                bad.append(out_of(rc, out, err))
        c("every receipt verifies offline", not bad, f"{bad[:2]}")
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        ic = fl.integrity()
        c("PRAGMA integrity_check ok", ic == [("ok",)], str(ic))
        rc, out, err = fl.ctl("audit", "verify")
        c("varskoctl audit verify: intact", rc == 0 and "intact" in out, out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
