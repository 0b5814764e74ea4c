#!/usr/bin/python3
"""A full store queue answers `unavailable`, and nothing accepted is lost (issue 13).

varskod runs with store_queue_max = 4. The test holds the database's write
lock from a connection of its own (BEGIN IMMEDIATE, a real SQLite lock, no
knob inside varskod), so the store worker stalls on its first write and the
jobs pile up behind it. A logged-in client then sends 8 submissions at once:

  - while the lock is held, the requests beyond the bound are answered
    `unavailable` at once, and /metrics shows the queue at its bound;
  - once the lock is released, every request the queue took gets its
    receipt, none of the refused ones was stored, and sent again each gets
    its receipt;
  - every submission with a receipt is in the database once, with the
    receipt the client got, and the agent files every one of them;
  - the byte budget counts the frames of requests whose session closed
    before they were done: varskod again with the default store_queue_max,
    and with the store locked again, a session sends two
    big submissions (about 270 KiB each) and closes at once; /metrics'
    varsko_frame_bytes_held still counts both frames while their jobs wait,
    and drops once the lock is released and they are done.
"""

import asyncio
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
import test_health_metrics as hm  # noqa: E402
import test_limits  # noqa: E402

TEAM = "team-slagelse"
QUEUE_MAX = 4
N = 8  # SESSION_JOBS_MAX in gateway/server.c: one connection may have 8 requests in flight


def orphans(c, fl, admin, pt):
    """Frames of jobs whose session closed first stay counted until the jobs are done."""
    big = pt + os.urandom(200 * 1024)
    res = {}

    def held():
        return hm.val(hm.scrape(admin)[3], "varsko_frame_bytes_held") or 0

    async def send_and_close(cl, dev):
        now = int(time.time())
        _, hjs = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, "s-orphan-0", now)
        routed = await flowlib.request(cl, {"type": "route", "id": "r2", "header": hjs})
        rcpt = [(d["device"], flowlib.ub64(d["box_pk"])) for d in routed["roster"]["devices"]]
        frames = []
        for k in range(2):
            sub = f"s-orphan-{k}"
            routing, _ = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, sub, now)
            frames.append({"type": "submit", "id": f"o{k}", "envelope": flowlib.seal(
                "underretning", sub, dev.id, dev.sign_sk, rcpt, routing, big)})
        res["frame"] = min(len(json.dumps(f, separators=(",", ":"))) for f in frames)
        res["before"] = held()
        # Logged in (a login writes its audit row): now the store is locked, and the jobs wait.
        res["lock"] = sqlite3.connect(fl.database, isolation_level=None, timeout=10)
        res["lock"].execute("BEGIN IMMEDIATE")
        for f in frames:
            await cl.send(f)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.5:  # with the store locked no answer is due; one that comes is shown
            try:
                a = await asyncio.wait_for(cl.recv(), 0.1)
                res.setdefault("answers", []).append(a.get("code") or a.get("type"))
            except asyncio.TimeoutError:
                pass
        res["open"] = held()

    try:
        fl.raw_session("laerer-anna", send_and_close, timeout=20)  # the session closes when it returns
        time.sleep(0.5)
        res["closed"] = held()
    finally:
        lock = res.pop("lock", None)
        if lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and held() >= res.get("frame", 0):
        time.sleep(0.2)
    res["done"] = held()
    harness.log(f"     varsko_frame_bytes_held: {res.get('before')} before, {res.get('open')} with two frames of "
                f"{res.get('frame')} bytes queued, {res.get('closed')} after their session closed, "
                f"{res.get('done')} once they were done")
    frame = res.get("frame", 1 << 30)
    c("the byte budget counts the two queued frames while their session is open",
      res.get("open", 0) >= 2 * frame, str(res))
    c("... and still counts them after the session closed, while their jobs wait",
      res.get("closed", 0) >= 2 * frame, str(res))
    c("... and no longer once the jobs are done", res.get("done", 1 << 30) < frame, str(res))


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna"], config={"store_queue_max": QUEUE_MAX}) as fl:
        fl.setup(org=False)  # raw envelopes to rosters (PROTOCOL.md 16.7)
        admin = hm.admin_port_of(fl.conf)
        with open(flowlib.EXAMPLE, "rb") as f:
            pt = f.read()
        subs = [f"s-queue-full-{i:04d}" for i in range(N)]
        seen = {}

        async def burst(cl, dev):
            now = int(time.time())
            _, hjs = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, subs[0], now)
            routed = await flowlib.request(cl, {"type": "route", "id": "r1", "header": hjs})
            rcpt = [(d["device"], flowlib.ub64(d["box_pk"])) for d in routed["roster"]["devices"]]
            envs = {}
            for s in subs:
                routing, _ = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, s, now)
                envs[s] = flowlib.seal("underretning", s, dev.id, dev.sign_sk, rcpt, routing, pt)
            lock = sqlite3.connect(fl.database, isolation_level=None, timeout=10)
            lock.execute("BEGIN IMMEDIATE")
            try:
                for i, s in enumerate(subs):
                    await cl.send({"type": "submit", "id": f"q{i}", "envelope": envs[s]})
                # The refusals come from the event loop at once; the accepted wait for the worker.
                t0 = time.monotonic()
                while time.monotonic() - t0 < 1.5:
                    try:
                        a = await asyncio.wait_for(cl.recv(), 0.3)
                    except asyncio.TimeoutError:
                        continue
                    if "id" in a:
                        seen[a["id"]] = a
                _, _, _, samples = hm.scrape(admin)
                seen["metrics"] = (hm.val(samples, "varsko_store_queue_depth"),
                                   hm.val(samples, "varsko_store_queue_max"))
                seen["while_locked"] = dict(seen)
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and sum(1 for i in range(N) if f"q{i}" in seen) < N:
                a = await cl.recv()
                if "id" in a:
                    seen[a["id"]] = a
            # Send the refused ones again, as a client does with `unavailable`: later, until taken.
            for i, s in enumerate(subs):
                if seen.get(f"q{i}", {}).get("code") != "unavailable":
                    continue
                for attempt in range(20):
                    a = await flowlib.request(cl, {"type": "submit", "id": f"again{i}", "envelope": envs[s]})
                    seen[f"again{i}"] = a
                    if a.get("code") != "unavailable":
                        break
                    await asyncio.sleep(0.25)
            return envs

        fl.raw_session("laerer-anna", burst, timeout=40)
        answers = [seen.get(f"q{i}", {}) for i in range(N)]
        kinds = [a.get("type") if a.get("type") != "error" else a.get("code") for a in answers]
        harness.log(f"     answers to {N} submissions with the store locked and store_queue_max {QUEUE_MAX}: {kinds}")
        early = seen.get("while_locked", {})
        refused = [i for i in range(N) if answers[i].get("code") == "unavailable"]
        accepted = [i for i in range(N) if answers[i].get("type") == "receipt"]
        c("every submission was answered: a receipt or `unavailable`", len(refused) + len(accepted) == N, str(kinds))
        c(f"at most {QUEUE_MAX} were taken by the full queue, the others answered `unavailable`",
          1 <= len(accepted) <= QUEUE_MAX and len(refused) >= N - QUEUE_MAX, str(kinds))
        c("the `unavailable` answers came while the store was still locked",
          all(f"q{i}" in early for i in refused) and not any(early.get(f"q{i}", {}).get("type") == "receipt"
                                                              for i in range(N)), str(sorted(early)))
        depth, qmax = seen.get("metrics", (0, 0))
        harness.log(f"     /metrics while locked: varsko_store_queue_depth {depth}, varsko_store_queue_max {qmax}")
        c("/metrics shows the queue at its bound while the store is locked",
          qmax == QUEUE_MAX and depth >= QUEUE_MAX, f"depth {depth}, max {qmax}")
        again = [seen.get(f"again{i}", {}) for i in refused]
        c("each refused submission sent again gets its receipt",
          all(a.get("type") == "receipt" and a.get("duplicate") is False for a in again),
          str([a.get("code") or a.get("type") for a in again])[:300])

        receipts = {subs[i]: answers[i]["receipt"] for i in accepted}
        receipts.update({subs[i]: seen[f"again{i}"]["receipt"] for i in refused
                         if seen.get(f"again{i}", {}).get("type") == "receipt"})
        rows = {s: fl.q("SELECT reference, receipt FROM underretninger WHERE submission = ?", s) for s in subs}
        c("every submission with a receipt is stored once, with the receipt the client got",
          len(receipts) == N and all(len(rows[s]) == 1 and json.loads(rows[s][0][1]) == r
                                     for s, r in receipts.items()),
          str({s: len(v) for s, v in rows.items()}))
        refs = {rows[s][0][0] for s in subs if len(rows[s]) == 1}
        got = fl.wait_filed(TEAM, refs, timeout=90)
        c("the agent files every one of them", got == refs and len(refs) == N, f"missing {refs - got}")
        # The second part with the default queue bound: with 4, jobs of the gateway's own (acknowledgements,
        # PUBACK marks) waiting behind the lock could leave no room for the two frames.
        test_limits.restart(fl)
        orphans(c, fl, hm.admin_port_of(fl.conf), pt)
        c("the database is intact", fl.integrity() == [("ok",)], str(fl.integrity()))
        rc = fl.stop("varskod")
        c("varskod exits 0 on SIGTERM (no sanitizer report)", rc == 0, f"exit {rc}")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
