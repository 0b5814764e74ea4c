#!/usr/bin/python3
"""sync-eio (TESTING.md): libfiu makes fdatasync / pwrite fail inside varskod.

varskod runs under `fiu-run -x` (libfiu's POSIX preload, remote control over
named pipes in the test's temp dir); `fiu-ctrl` turns failure points on and
off while it runs. Debian's SQLite writes WAL frames with pwrite64 (failure
point posix/io/rw/pwrite) and syncs with fdatasync (posix/io/sync/fdatasync);
every failure returns EIO.

Submissions are sent over raw sessions that logged in before the failures
were turned on (a login writes an audit entry, so a login during the failures
is refused, which would never reach the submit path). Phases:

  A  fdatasync and fsync fail: eight submissions pipelined on one connection (group
     commit) and one alone. Each gets an error frame with a stable code, none
     a receipt; nothing new is visible in the database; reads on the session
     still work; varskod stays up. Failures off: five of them are sent again
     and get receipts (not duplicates); the other four are never stored.
  B  pwrite fails: the same with four submissions, two sent again.
  C  fdatasync fails, one submission gets an error, varskod is stopped with
     SIGTERM while the failures are still on and started again without them.
  D  the same, but varskod is killed with SIGKILL.
  E  fdatasync fails for eight big submissions whose connection is closed
     right after sending them (so most failed jobs find no session to answer
     and no refusal is audited after them); then SIGTERM as in C.
  F  the same as E, then SIGKILL as in D.
     In C to F no submission whose commit failed may be in the database after
     the restart (TESTING.md: no receipt for the failed transaction); each is
     then sent again and must get a receipt that is not a duplicate, for
     exactly one row. The audit entries that come back although their commit
     failed are printed.

Why E and F exist: a COMMIT whose fdatasync fails has already written its
WAL frames (commit frame and checksums included). SQLite ignores them while
the WAL index in shared memory lives, but the WAL recovery of the next open
(after a crash, or after a stop whose final checkpoint could not sync) takes
the last such transaction as committed, unless a later transaction was
written over it. In C and D the refusal's own audit entry is that later
transaction; in E and F nothing follows the last failed submission.

At the end every receipt verifies offline, every receipt is exactly one
stored row (and every stored row had a receipt), no deadline or outbox row
lacks its underretning, varskod exits 0 on SIGTERM, PRAGMA integrity_check
is ok and `varskoctl audit verify` says intact.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

USER = "laerer-anna"
INST = "inst-nordskovskolen"
TEAM = "team-slagelse"
FIU_RUN = shutil.which("fiu-run") or "/usr/bin/fiu-run"
FIU_CTRL = shutil.which("fiu-ctrl") or "/usr/bin/fiu-ctrl"
FIU_RUN_PRELOAD = "/usr/lib/fiu/fiu_run_preload.so"
FIU_POSIX = "/usr/lib/fiu/fiu_posix_preload.so"
EIO = 5
P_FDATASYNC = "posix/io/sync/fdatasync"
P_FSYNC = "posix/io/sync/fsync"
P_PWRITE = "posix/io/rw/pwrite"
# Debian's SQLite syncs with fdatasync only; fsync fails too, so a SQLite built to use fsync is caught as well.
SYNC = (P_FDATASYNC, P_FSYNC)
WRITE = (P_PWRITE,)
# Clear, stable codes for "the store could not write": anything else (internal, a receipt, silence) is wrong.
CLEAN_CODES = {"io", "db", "unavailable"}
# What a submission adds. (events and audit also grow when a PUBACK of an earlier one is recorded.)
COUNTED = ("underretninger", "deadlines", "outbox")


def asan_runtime(binary):
    """Path of the ASan runtime a sanitizer build of `binary` loads, or None."""
    try:
        r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in r.stdout.splitlines():
        if "libasan.so" in line and "=>" in line:
            path = line.split("=>", 1)[1].split("(", 1)[0].strip()
            if os.path.exists(path):
                return path
    return None


class Fiu:
    """varskod under fiu-run -x with remote control at <tmp>/fiu-ctrl-<pid>.{in,out}."""

    def __init__(self, fl):
        self.fl = fl
        self.prefix = fl.path("fiu-ctrl")

    def start(self):
        asan = asan_runtime(self.fl.varskod)
        if asan is None:
            argv = [FIU_RUN, "-x", "-f", self.prefix, self.fl.varskod, "-c", self.fl.conf]
            env = {}
        else:
            # A sanitizer build: what `fiu-run -x -f PREFIX` sets up (it would replace LD_PRELOAD), with the
            # ASan runtime first, since varskod crashes at start when libfiu's wrappers come before it.
            argv = [self.fl.varskod, "-c", self.fl.conf]
            env = {"LD_PRELOAD": f"{asan} {FIU_RUN_PRELOAD} {FIU_POSIX}", "FIU_CTRL_FIFO": self.prefix,
                   "FIU_ENABLE": ""}
        p = self.fl.start("varskod", argv, port=self.fl.port, env=env)
        fifo = f"{self.prefix}-{p.pid}.in"
        deadline = time.monotonic() + 10
        while not os.path.exists(fifo) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not os.path.exists(fifo):
            raise RuntimeError(f"varskod under fiu-run has no control pipe {fifo}")
        return p

    def pid(self):
        return self.fl.procs["varskod"][0].pid

    def ctl(self, cmd):
        """fiu-ctrl -c CMD <varskod pid>; returns (ok, output). fiu-ctrl exits 0 even when the command
        failed or the pipe was not found; it then prints an error."""
        try:
            r = subprocess.run([FIU_CTRL, "-f", self.prefix, "-c", cmd, str(self.pid())], capture_output=True,
                               text=True, timeout=15, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False, "fiu-ctrl timed out"
        out = (r.stdout + r.stderr).strip()
        return r.returncode == 0 and "rror" not in out, out

    def enable(self, points):
        """Every call of these functions fails with EIO from now on."""
        for point in points:
            ok, out = self.ctl(f"enable name={point},failnum=1,failinfo={EIO}")
            if not ok:
                raise RuntimeError(f"fiu-ctrl enable {point}: {out}")

    def disable(self, points):
        for point in points:
            ok, out = self.ctl(f"disable name={point}")
            if not ok:
                raise RuntimeError(f"fiu-ctrl disable {point}: {out}")


def submission_rows(fl, subs):
    """{submission: [reference, ...]} of the stored underretninger of USER with these submission ids."""
    out = {s: [] for s in subs}
    for sub, ref in fl.q("SELECT submission, reference FROM underretninger WHERE sender_user = ?", USER):
        if sub in out:
            out[sub].append(ref)
    return out


def describe(ans):
    if not isinstance(ans, dict):
        return repr(ans)[:200]
    if ans.get("type") == "error":
        return f"error {ans.get('code')}: {ans.get('message')!r}"
    if ans.get("type") == "receipt":
        r = ans.get("receipt", {})
        return f"receipt {r.get('reference')} duplicate={ans.get('duplicate')}"
    if ans.get("type") == "closed":
        return f"connection closed {ans.get('code')} {ans.get('reason')!r}"
    return f"{ans.get('type')}"


async def collect(cl, ids):
    """Answers (frames with an id) to the requests `ids`; a closed connection answers the rest with 'closed'."""
    got = {}
    try:
        while len(got) < len(ids):
            a = await cl.recv()
            if a.get("id") in ids:
                got[a["id"]] = a
            elif a.get("type") == "error" and "id" not in a:
                for i in ids:
                    got.setdefault(i, a)
    except harness.Closed as e:
        for i in ids:
            got.setdefault(i, {"type": "closed", "code": e.code, "reason": e.reason})
    except asyncio.TimeoutError:
        for i in ids:
            got.setdefault(i, {"type": "timeout"})
    return got


async def submit_many(cl, envs, tag):
    """Send every envelope without waiting (pipelined, at most 8 in flight per connection); {sub: answer}."""
    ids = {}
    try:
        for i, (sub, env) in enumerate(envs.items()):
            rid = f"{tag}{i}"
            ids[rid] = sub
            await cl.send({"type": "submit", "id": rid, "envelope": env})
    except Exception as e:  # the connection went away while sending
        return {sub: {"type": "closed", "code": None, "reason": str(e)} for sub in envs}
    got = await collect(cl, set(ids))
    return {ids[rid]: a for rid, a in got.items()}


def main():
    checks = harness.Checks()
    c = checks.check
    for tool in (FIU_RUN, FIU_CTRL, FIU_RUN_PRELOAD, FIU_POSIX):
        if not os.path.exists(tool):
            harness.skip(f"{tool} is missing: install the Debian package fiu-utils (deploy/install-deps.sh)")
    t_start = time.monotonic()
    # A long outbox backoff: no republishing write in the background overwrites a failed transaction.
    with flowlib.Flow(agents=[], users=[USER], backoff_first=3600, backoff_max=3600) as fl:
        fl.setup(org=False)  # raw envelopes to rosters: teams without a team key (PROTOCOL.md 16.7)
        fiu = Fiu(fl)
        receipts = {}  # reference -> receipt object, every receipt this test was given

        def note_receipt(ans):
            if isinstance(ans, dict) and ans.get("type") == "receipt":
                r = ans.get("receipt", {})
                prev = receipts.get(r.get("reference"))
                c(f"receipt {r.get('reference')} is the same every time it is given", prev is None or prev == r,
                  f"{prev} vs {r}")
                receipts[r.get("reference")] = r

        rc = fl.stop_varskod()
        c("the fixture's varskod stops (exit 0)", rc == 0, f"exit {rc}")
        fiu.start()
        harness.log(f"     varskod runs under fiu-run -x (pid {fiu.pid()}, control {fiu.prefix}-{fiu.pid()}"
                    f"{', ASan runtime preloaded first' if asan_runtime(fl.varskod) else ''})")
        # A point varskod never reaches (it does not fork): proves the control pipe answers, changes nothing.
        ok1, out1 = fiu.ctl("enable name=posix/proc/fork,failnum=1")
        ok2, out2 = fiu.ctl("disable name=posix/proc/fork")
        c("fiu-ctrl reaches varskod's control pipe (enable and disable answered without error)", ok1 and ok2,
          f"{out1!r} {out2!r}")

        with open(flowlib.EXAMPLE, "rb") as f:
            plaintext = f.read()
        rc, rec0, o, e = fl.send(USER, fl.doc(age=9, extra_text="(kontrol)"))
        if not c("control: a submission under fiu-run (no failure point on) gets a receipt",
                 rc == 0 and isinstance(rec0, dict) and "reference" in rec0, out_of(rc, o, e)):
            return checks.done()
        ref0 = rec0["reference"]
        receipts[ref0] = flowlib.receipt_only(rec0)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and fl.count("events", "reference = ? AND kind = 'leveret'", ref0) == 0:
            time.sleep(0.2)
        c("control: published (leveret stored)", fl.count("events", "reference = ? AND kind = 'leveret'", ref0) == 1)

        def settle():
            """Best effort: wait until the PUBACKs of what was accepted so far are recorded, so that no such
            write runs in the background while a failure point is on (the backoff is an hour, so nothing is
            published again in between)."""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and fl.count("outbox", "puback_at IS NULL") > 0:
                time.sleep(0.1)

        def seal_all(dev, roster, subs, pad=0):
            """Envelopes for USER's device to the roster; pad: that many more (random) plaintext bytes."""
            rcpts = [(d["device"], flowlib.ub64(d["box_pk"])) for d in roster]
            out = {}
            for s in subs:
                routing, _ = flowlib.routing_header(INST, "6-13", False, False, s, int(time.time()))
                out[s] = flowlib.seal("underretning", s, dev.id, dev.sign_sk, rcpts, routing,
                                      plaintext + f"\n{s}".encode() + os.urandom(pad))
            return out

        async def route(cl):
            _, hjs = flowlib.routing_header(INST, "6-13", False, False, "s-eio-route", int(time.time()))
            routed = await flowlib.request(cl, {"type": "route", "id": "r1", "header": hjs})
            if routed.get("type") != "routed":
                raise RuntimeError(f"route refused: {routed}")
            return routed["roster"]["devices"]

        async def fresh_login():
            dev = fl.device(USER)
            try:
                async with harness.RawClient(fl.ws_url, fl.ca, timeout=10) as cl2:
                    return await cl2.login(dev.id, dev.signing_key)
            except harness.Closed as ex:
                return {"type": "closed", "code": ex.code, "reason": ex.reason}
            except Exception as ex:  # refused at TLS or WebSocket level
                return {"type": "closed", "code": None, "reason": repr(ex)}

        # ---- phases A and B: a failure point on, submissions refused, off, some sent again ----
        def failing_phase(name, points, subs, resend):
            point = " and ".join(points)
            res = {}

            async def go(cl, dev):
                roster = await route(cl)
                envs = seal_all(dev, roster, subs)
                res["envs"] = envs
                res["before"] = fl.counts(COUNTED)
                fiu.enable(points)
                try:
                    t0 = time.monotonic()
                    grouped = {s: envs[s] for s in subs[:-1]}
                    res["answers"] = await submit_many(cl, grouped, f"{name}g")
                    res["answers"].update(await submit_many(cl, {subs[-1]: envs[subs[-1]]}, f"{name}a"))
                    res["secs"] = time.monotonic() - t0
                    res["whoami"] = await flowlib.request(cl, {"type": "whoami", "id": "w1"})
                    res["status"] = await flowlib.request(cl, {"type": "status", "id": "st1", "reference": ref0})
                    res["login"] = await fresh_login()
                    res["during"] = fl.counts(COUNTED)
                    res["present_during"] = submission_rows(fl, subs)
                    res["alive_during"] = fl.alive("varskod")
                finally:
                    fiu.disable(points)
                again = {s: envs[s] for s in resend}
                res["resent"] = await submit_many(cl, again, f"{name}r")
                return res

            harness.log(f"---- phase {name}: {point} fail (EIO) ----")
            settle()
            try:
                fl.raw_session(USER, go, timeout=30)
            except Exception as ex:
                c(f"{name}: the raw session ran to the end", False, repr(ex))
            answers = res.get("answers", {})
            for s in subs:
                harness.log(f"     {name}: {s} while {point} fails -> {describe(answers.get(s))}")
            codes = sorted({a.get("code") for a in answers.values() if isinstance(a, dict)})
            c(f"{name}: every submission while {point} fails gets an error frame with a clear code "
              f"({'/'.join(sorted(CLEAN_CODES))}) or a closed connection",
              len(answers) == len(subs) and all(
                  isinstance(a, dict) and ((a.get("type") == "error" and a.get("code") in CLEAN_CODES)
                                           or a.get("type") == "closed") for a in answers.values()),
              "; ".join(f"{s}: {describe(answers.get(s))}" for s in subs))
            harness.log(f"     {name}: codes seen: {codes}; answered in {res.get('secs', 0):.2f} s")
            c(f"{name}: no receipt while {point} fails",
              not any(isinstance(a, dict) and a.get("type") == "receipt" for a in answers.values()))
            for a in answers.values():
                note_receipt(a)
            c(f"{name}: nothing new is visible in the database while {point} fails",
              res.get("before") is not None and res.get("during") == res.get("before"),
              f"{res.get('before')} -> {res.get('during')}")
            present = {s: r for s, r in res.get("present_during", {}).items() if r}
            c(f"{name}: none of the refused submissions is stored (checked while failing)", not present,
              str(present))
            c(f"{name}: varskod stays up while {point} fails", res.get("alive_during") is True)
            harness.log(f"     {name}: whoami on the open session -> {describe(res.get('whoami'))}")
            harness.log(f"     {name}: status of {ref0} on the open session -> {describe(res.get('status'))}")
            harness.log(f"     {name}: a fresh login while failing -> {describe(res.get('login'))}")
            c(f"{name}: whoami on a logged-in session still answers", (res.get("whoami") or {}).get("type") == "session",
              describe(res.get("whoami")))
            c(f"{name}: status of an earlier underretning still answers",
              (res.get("status") or {}).get("type") == "timeline", describe(res.get("status")))
            lg = res.get("login") or {}
            c(f"{name}: a fresh login while failing is answered cleanly (session, or an error frame with a "
              f"clear code, or closed)", lg.get("type") == "session" or lg.get("type") == "closed"
              or (lg.get("type") == "error" and lg.get("code") in CLEAN_CODES), describe(lg))

            resent = res.get("resent", {})
            for s in resend:
                harness.log(f"     {name}: {s} sent again after the failure point was turned off -> "
                            f"{describe(resent.get(s))}")
                note_receipt(resent.get(s))
            c(f"{name}: every submission sent again after the failures gets a receipt",
              len(resent) == len(resend) and all(isinstance(a, dict) and a.get("type") == "receipt"
                                                 for a in resent.values()),
              "; ".join(describe(a) for a in resent.values()))
            c(f"{name}: ... and none of them is a duplicate (nothing was stored by the failed attempt)",
              all(a.get("duplicate") is False for a in resent.values() if isinstance(a, dict)),
              "; ".join(describe(a) for a in resent.values()))
            rows = submission_rows(fl, subs)
            wrong = {}
            for s in resend:
                a = resent.get(s) or {}
                ref = (a.get("receipt") or {}).get("reference")
                if rows.get(s) != [ref]:
                    wrong[s] = (rows.get(s), ref)
            c(f"{name}: each resent submission is stored exactly once, under the reference of its receipt",
              not wrong, str(wrong))
            never = [s for s in subs if s not in resend]
            stored = {s: rows.get(s) for s in never if rows.get(s)}
            c(f"{name}: the {len(never)} refused submissions that were not sent again are not in the database",
              not stored, str(stored))
            c(f"{name}: varskod is still running", fl.alive("varskod"), fl.read_log("varskod")[-1500:])
            return res

        subs_a = [f"s-eio-a{i:02d}" for i in range(1, 10)]
        failing_phase("A", SYNC, subs_a, subs_a[:4] + subs_a[-1:])
        subs_b = [f"s-eio-b{i:02d}" for i in range(1, 5)]
        failing_phase("B", WRITE, subs_b, subs_b[:2])

        # ---- phases C, D and E: a restart after a failed commit ----
        def restart_phase(name, subs, stop, drop=False):
            """fdatasync fails for `subs`; varskod is then stopped (SIGTERM, failures still on) or killed."""
            res = {}
            mark = len(fl.read_log("varskod"))

            async def go(cl, dev):
                roster = await route(cl)
                # Big envelopes when the connection is dropped: the worker is still busy with them when the
                # close has been handled, so nobody is left to answer (and to audit the refusal).
                envs = seal_all(dev, roster, subs, pad=700 * 1024 if drop else 0)
                res["envs"] = envs
                fiu.enable(SYNC)
                res["seq0"] = fl.q("SELECT coalesce(max(seq), 0) FROM audit")[0][0]
                if drop:
                    for i, (s, e) in enumerate(envs.items()):
                        await cl.send({"type": "submit", "id": f"{name}s{i}", "envelope": e})
                    await cl.ws.close()  # gone before any answer
                    res["answers"] = {s: {"type": "dropped"} for s in subs}
                else:
                    res["answers"] = await submit_many(cl, envs, f"{name}s")
                return res

            how = "stopped with SIGTERM while the syncs still fail" if stop == "term" else "killed with SIGKILL"
            harness.log(f"---- phase {name}: {' and '.join(SYNC)} fail for {len(subs)} submission(s)"
                        f"{' whose connection is closed right after sending' if drop else ''}, then varskod is "
                        f"{how} and started again ----")
            settle()
            try:
                fl.raw_session(USER, go, timeout=30)
            except Exception as ex:
                c(f"{name}: the raw session ran to the end", False, repr(ex))
            if drop:
                time.sleep(2.0)  # the worker finishes the jobs of the closed connection
                text = fl.read_log("varskod")[mark:]
                n_ans = text.count("submit refused")
                harness.log(f"     {name}: varskod's log after the dropped submissions: "
                            f"{n_ans} 'submit refused' lines (answered to a live session), "
                            f"{text.count('cannot write an audit entry')} failed audit writes")
                c(f"{name}: the scenario happened: some failed submissions found their connection gone (no error "
                  f"frame, so no refusal audit entry was written after them)", n_ans < len(subs),
                  f"all {n_ans} were answered: the close came too late; the phase proves nothing this time")
            answers = res.get("answers", {})
            for s in subs:
                harness.log(f"     {name}: {s} -> {describe(answers.get(s))}")
            if not drop:
                c(f"{name}: each submission gets an error frame with a clear code, no receipt",
                  len(answers) == len(subs) and all(
                      isinstance(a, dict) and ((a.get("type") == "error" and a.get("code") in CLEAN_CODES)
                                               or a.get("type") == "closed") for a in answers.values()),
                  "; ".join(describe(a) for a in answers.values()))
            present = {s: r for s, r in submission_rows(fl, subs).items() if r}
            c(f"{name}: nothing stored while the failures are on", not present, str(present))
            c(f"{name}: varskod is up while the failures are on", fl.alive("varskod"))
            t0 = time.monotonic()
            if stop == "term":
                rc = fl.stop("varskod", timeout=20)
                harness.log(f"     {name}: varskod exited {rc} {time.monotonic() - t0:.1f} s after SIGTERM "
                            f"(fdatasync still failing)")
                c(f"{name}: varskod stops on SIGTERM while fdatasync fails (no hang, no crash signal)",
                  rc is not None and rc >= 0, f"exit {rc}; log: {fl.read_log('varskod')[-800:]}")
            else:
                rc = fl.kill("varskod", signal.SIGKILL)
                c(f"{name}: varskod killed with SIGKILL after the failed commit", rc == -signal.SIGKILL, f"exit {rc}")
            files = sorted(n for n in os.listdir(fl.state) if n.startswith("varsko.db"))
            sizes = {n: os.path.getsize(os.path.join(fl.state, n)) for n in files}
            harness.log(f"     {name}: database files before the restart: {sizes}")
            fiu.start()
            ic = fl.integrity()
            c(f"{name}: PRAGMA integrity_check ok after the restart", ic == [("ok",)], str(ic))
            seq0 = res.get("seq0", 0)
            back = fl.q("SELECT seq, event, actor, detail FROM audit WHERE seq > ? ORDER BY seq", seq0)
            harness.log(f"     {name}: audit entries after the restart that were written while every commit "
                        f"failed (after seq {seq0}): {back}")
            rows = submission_rows(fl, subs)
            stored = {s: r for s, r in rows.items() if r}
            harness.log(f"     {name}: after the restart: "
                        f"{', '.join(f'{s} STORED as {r}' for s, r in stored.items()) or 'none of them stored'}")
            for refs in stored.values():
                for ref in refs:
                    n_dl = fl.count("deadlines", "reference = ?", ref)
                    n_ob = fl.count("outbox", "reference = ?", ref)
                    n_au = fl.count("audit", "event = 'underretning_received' AND detail = ?", f"ref={ref}")
                    harness.log(f"     {name}: the stored {ref} has {n_dl} deadlines, {n_ob} outbox rows, "
                                f"{n_au} audit entries")
            c(f"{name}: no submission whose commit failed is in the database after the restart "
              f"(no receipt for the failed transaction)", not stored,
              f"stored: {stored}. SQLite's WAL recovery at open takes the frames of the last transaction whose "
              f"COMMIT failed (pwrite succeeded, only fdatasync failed) as committed")
            envs = res.get("envs", {})
            again = {}
            if envs:
                again = fl.raw_session(USER, lambda cl, d: submit_many(cl, envs, f"{name}r"), timeout=30)
            for s in subs:
                harness.log(f"     {name}: {s} sent again after the restart -> {describe(again.get(s))}")
                note_receipt(again.get(s))
            c(f"{name}: sent again after the restart, each gets a receipt",
              len(again) == len(subs) and all(isinstance(a, dict) and a.get("type") == "receipt"
                                              for a in again.values()),
              "; ".join(describe(a) for a in again.values()))
            dups = [s for s, a in again.items() if isinstance(a, dict) and a.get("duplicate") is not False]
            c(f"{name}: ... none of them a duplicate (the failed transaction is never acknowledged later)", not dups,
              f"duplicate receipts for {dups}: a receipt for a transaction whose commit failed")
            rows = submission_rows(fl, subs)
            wrong = {s: (rows.get(s), ((a or {}).get("receipt") or {}).get("reference")) for s, a in again.items()
                     if rows.get(s) != [((a or {}).get("receipt") or {}).get("reference")]}
            c(f"{name}: ... each for exactly one stored row", not wrong, str(wrong))

        restart_phase("C", ["s-eio-c01"], "term")
        restart_phase("D", ["s-eio-d01"], "kill")
        restart_phase("E", [f"s-eio-e{i:02d}" for i in range(1, 9)], "term", drop=True)
        restart_phase("F", [f"s-eio-f{i:02d}" for i in range(1, 9)], "kill", drop=True)

        # ---- the end: receipts against rows, integrity, audit chain ----
        harness.log("---- checks over everything ----")
        stored = fl.q("SELECT reference, receipt FROM underretninger")
        by_ref = {}
        for ref, text in stored:
            by_ref.setdefault(ref, []).append(text)
        c(f"every receipt given ({len(receipts)}) is exactly one stored row with that receipt",
          all(len(by_ref.get(r, [])) == 1 and json.loads(by_ref[r][0]) == rec for r, rec in receipts.items()),
          str({r: len(by_ref.get(r, [])) for r in receipts if len(by_ref.get(r, [])) != 1}))
        c("every stored underretning had a receipt given for it", set(by_ref) == set(receipts),
          f"without a receipt: {sorted(set(by_ref) - set(receipts))}")
        orphans = {t: fl.count(t, "reference IS NOT NULL AND reference NOT IN (SELECT reference FROM underretninger)")
                   for t in ("deadlines", "outbox", "events")}
        c("no deadline, outbox or event row without its underretning", not any(orphans.values()), str(orphans))
        complete = fl.q("SELECT u.reference, (SELECT count(*) FROM deadlines d WHERE d.reference = u.reference),"
                        " (SELECT count(*) FROM outbox o WHERE o.reference = u.reference AND o.needs_ack = 1),"
                        " (SELECT count(*) FROM audit a WHERE a.event = 'underretning_received'"
                        "  AND a.detail = 'ref=' || u.reference) FROM underretninger u")
        want_dl = complete[0][1] if complete else 0
        bad = [row for row in complete if row[1] != want_dl or row[2] != 1 or row[3] != 1]
        c("every stored underretning is whole: its deadlines, one outbox row, one audit entry", not bad and want_dl > 0,
          str(bad[:4]))
        bad_verify = []
        for ref, rec in receipts.items():
            p = fl.path(f"receipt-{ref}.json")
            with open(p, "w", encoding="utf-8") as f:
                f.write(flowlib.compact(rec))
            rc, out, err = fl.cli_as(USER, "receipt", "verify", p)
            if rc != 0:
                bad_verify.append(f"{ref}: {out_of(rc, out, err)}")
        c(f"every receipt verifies offline ({len(receipts)})", not bad_verify, "; ".join(bad_verify[:3]))
        log = fl.read_log("varskod")
        c("varskod's log has no sanitizer report or assertion",
          "ERROR: AddressSanitizer" not in log and "runtime error:" not in log and "Assertion" not in log)
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        ic = fl.integrity()
        c("PRAGMA integrity_check ok", ic == [("ok",)], str(ic))
        rc, out, err = fl.ctl("audit", "verify")
        c("varskoctl audit verify: intact", rc == 0 and "intact" in out, out_of(rc, out, err))
        harness.log(f"     test ran {time.monotonic() - t_start:.0f} s")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
