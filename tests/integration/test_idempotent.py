#!/usr/bin/python3
"""The same submission sent twice is one underretning with one receipt.

  - the same file with the same --submission twice: the second answer says
    duplicate, the receipt is the same (equal JSON, the saved receipt file
    byte-identical), the database has one row, one outbox row, one set of
    deadlines, and the agent files one document;
  - the same file without --submission (the id derived from the document)
    twice: the same;
  - a changed document gets its own reference;
  - another user using the same submission id gets their own underretning
    (ids are per user, so nobody can block or read another's receipt);
  - a raw client whose connection drops right after sending a submit sends
    the same envelope again: the stored receipt, marked duplicate, one row.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

TEAM = "team-slagelse"


strip_dup = flowlib.receipt_only


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna", "laerer-jonas"]) as fl:
        fl.setup(org=False)  # raw envelopes to rosters: teams without a team key (PROTOCOL.md 16.7)
        path = fl.doc(age=9)
        sub = "s-idempotens-test-0001"

        def twice(what, *extra):
            rc1, j1, o1, e1 = fl.send("laerer-anna", path, *extra)
            c(f"{what}: first send exits 0", rc1 == 0 and isinstance(j1, dict), out_of(rc1, o1, e1))
            if not isinstance(j1, dict):
                return None
            ref = j1.get("reference")
            with open(fl.receipt_file("laerer-anna", ref), "rb") as f:
                saved1 = f.read()
            before = fl.counts()
            rc2, j2, o2, e2 = fl.send("laerer-anna", path, *extra)
            c(f"{what}: second send exits 0", rc2 == 0 and isinstance(j2, dict), out_of(rc2, o2, e2))
            if not isinstance(j2, dict):
                return ref
            harness.log(f"     {what}: {ref}, duplicate {j1.get('duplicate')} then {j2.get('duplicate')}")
            c(f"{what}: first answer is not a duplicate", j1.get("duplicate") is False, str(j1.get("duplicate")))
            c(f"{what}: second answer says duplicate", j2.get("duplicate") is True, str(j2.get("duplicate")))
            c(f"{what}: the same receipt (reference, time, signature, everything)", strip_dup(j1) == strip_dup(j2),
              f"{strip_dup(j1)} != {strip_dup(j2)}")
            c(f"{what}: --json output identical apart from duplicate",
              o1.replace('"duplicate":false', "").replace('"duplicate": false', "") ==
              o2.replace('"duplicate":true', "").replace('"duplicate": true', ""), f"{o1!r} vs {o2!r}")
            with open(fl.receipt_file("laerer-anna", ref), "rb") as f:
                saved2 = f.read()
            c(f"{what}: saved receipt file byte-identical", saved1 == saved2)
            after = fl.counts()
            c(f"{what}: the duplicate stored nothing (underretninger, outbox, deadlines)",
              all(after[t] == before[t] for t in ("underretninger", "outbox", "deadlines")), f"{before} -> {after}")
            rows = fl.count("underretninger", "reference = ?", ref)
            c(f"{what}: one row for the reference", rows == 1, str(rows))
            rc, out, err = fl.cli_as("laerer-anna", "receipt", "verify", fl.receipt_file("laerer-anna", ref))
            c(f"{what}: the receipt verifies", rc == 0 and ref in out, out_of(rc, out, err))
            return ref

        ref1 = twice("same file, same --submission", "--submission", sub)
        rows = fl.q("SELECT submission FROM underretninger WHERE reference = ?", ref1)
        c("the stored submission id is the one given", rows == [(sub,)], str(rows))

        path2 = fl.doc(age=9, extra_text="(afledt id)")
        path = path2
        ref2 = twice("same file, derived submission id")
        rows = fl.q("SELECT submission FROM underretninger WHERE reference = ?", ref2)
        c("the derived submission id has the form s-<32 hex>",
          len(rows) == 1 and rows[0][0].startswith("s-") and len(rows[0][0]) == 34
          and all(ch in "0123456789abcdef" for ch in rows[0][0][2:]), str(rows))

        path3 = fl.doc(age=9, extra_text="(afledt id, ændret)")
        rc, j3, o3, e3 = fl.send("laerer-anna", path3)
        c("a changed document gets its own reference",
          rc == 0 and isinstance(j3, dict) and j3.get("reference") not in (ref1, ref2)
          and j3.get("duplicate") is False, out_of(rc, o3, e3))
        ref3 = j3.get("reference") if isinstance(j3, dict) else None

        pj = fl.doc(institution="inst-halsskov-strandskole", age=9)
        rc, j4, o4, e4 = fl.send("laerer-jonas", pj, "--submission", sub)
        c("another user with the same submission id gets a new underretning",
          rc == 0 and isinstance(j4, dict) and j4.get("reference") != ref1 and j4.get("duplicate") is False
          and j4.get("sender_user") == "laerer-jonas", out_of(rc, o4, e4))

        # The connection drops before the receipt arrives; the client sends the same envelope again.
        with open(flowlib.EXAMPLE, "rb") as f:
            pt = f.read()
        sub_raw = "s-raw-retry-0001"

        async def submit_and_drop(cl, dev):
            _, hjs = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, sub_raw, int(time.time()))
            routed = await flowlib.request(cl, {"type": "route", "id": "r1", "header": hjs})
            routing, _ = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, sub_raw,
                                                int(time.time()))
            rc_ = [(d["device"], flowlib.ub64(d["box_pk"])) for d in routed["roster"]["devices"]]
            env = flowlib.seal("underretning", sub_raw, dev.id, dev.sign_sk, rc_, routing, pt)
            await cl.send({"type": "submit", "id": "s1", "envelope": env})
            await cl.ws.close()  # gone before the answer
            return env

        env = fl.raw_session("laerer-anna", submit_and_drop)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and fl.count("underretninger", "submission = ?", sub_raw) == 0:
            time.sleep(0.1)
        stored_first = fl.count("underretninger", "submission = ?", sub_raw) == 1
        harness.log(f"     the dropped submission was {'stored' if stored_first else 'not stored'} by varskod")
        ans = fl.raw_session("laerer-anna",
                             lambda cl, d: flowlib.request(cl, {"type": "submit", "id": "s2", "envelope": env}))
        rec_r = ans.get("receipt", {}) if isinstance(ans, dict) else {}
        harness.log(f"     retry after a dropped connection: {ans.get('type')} duplicate={ans.get('duplicate')} "
                    f"{rec_r.get('reference')}")
        c("retry after a dropped connection: a receipt, marked duplicate when the first was stored",
          ans.get("type") == "receipt" and ans.get("duplicate") is stored_first, str(ans)[:300])
        rows = fl.q("SELECT reference, receipt FROM underretninger WHERE submission = ?", sub_raw)
        c("retry after a dropped connection: one row, whose receipt is the one answered",
          len(rows) == 1 and json.loads(rows[0][1]) == rec_r, str(rows)[:300])
        ref4 = rows[0][0] if len(rows) == 1 else None

        refs = [r for r in (ref1, ref2, ref3, ref4) if r]
        got = fl.wait_filed(TEAM, refs, timeout=60)
        c("the agent files each underretning", got == set(refs), f"missing {set(refs) - got}")
        time.sleep(2 * fl.backoff_first + 2)
        c("one file per reference in the case directory (no duplicate delivery)",
          sorted(fl.case_entries(TEAM)) == sorted(f"{r}.json" for r in refs), str(fl.case_entries(TEAM)))
        c("one outbox row per underretning",
          fl.q("SELECT count(*), count(DISTINCT reference) FROM outbox WHERE needs_ack = 1")[0] == (5, 5),
          str(fl.q("SELECT count(*), count(DISTINCT reference) FROM outbox WHERE needs_ack = 1")))
        c("five underretninger in all", fl.count("underretninger") == 5, str(fl.counts()))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
