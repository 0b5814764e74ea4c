#!/usr/bin/python3
"""disk-full (TESTING.md): varskod's database directory on a tiny tmpfs that fills up.

The test re-executes itself under `unshare --mount --propagation private`, so
the tmpfs exists only in a private mount namespace that the test process,
varskod and the other programs it starts share; when the test ends, however
it ends, the namespace and the mount go with it. It needs root (CI runs as
root); it exits 77 only when no tmpfs can be mounted at all, and says why.

The fixture's state directory (database, keys, gateway certificate) is moved
onto a 16 MiB tmpfs, varskod is started on it, and a filler file takes all but
a few MiB. Over a session that logged in before the disk filled up, big
underretninger (raw envelopes with about 700 KiB of plaintext, 935 KiB of
base64 ciphertext, stored once: its MQTT outbox row holds the message without it) are submitted one after another until
varskod refuses one. Then:

  - the refusal is an error frame with a clear code (io, unavailable or db;
    the test prints which) and no receipt, and sending the same envelope
    again while the disk is still full is refused the same way (retryable);
  - the refused submission is not stored, every receipt so far is exactly
    one row, PRAGMA integrity_check is ok;
  - varskod keeps serving reads on the open session (whoami, status of an
    earlier underretning) and stays up; a fresh login (which writes an
    audit entry) is answered cleanly, whatever the answer;
  - varskod killed with SIGKILL while the disk is full starts again on the
    still full disk: integrity_check ok, the refused submission not stored,
    nothing else changed, a fresh login answered cleanly;
  - after the filler is deleted, the refused envelope sent again gets a
    receipt (not a duplicate), a new big one does too, the CLI (a fresh
    login) works again;
  - at the end every receipt is one stored row, varskod exits 0 on SIGTERM,
    integrity_check is ok and `varskoctl audit verify` says intact.
"""

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
NS_MARK = "VARSKO_DISK_FULL_NS"
TMPFS_SIZE = 16 * 1024 * 1024
HEADROOM = 5 * 1024 * 1024  # free space left beside the filler: two or three big submissions
BIG_PAD = 700 * 1024  # random plaintext bytes per big submission
MAX_BIG = 12
CLEAN_CODES = {"io", "unavailable", "db"}
# What a submission adds (events grow in the background when a PUBACK of an earlier one is recorded).
COUNTED = ("underretninger", "deadlines", "outbox")


def enter_private_mount_namespace():
    """Re-execute this script in a private mount namespace (same pid), or skip when that is impossible."""
    if os.environ.get(NS_MARK) == "1":
        return
    if os.geteuid() != 0:
        harness.skip("mounting a tmpfs needs root (CI runs as root); this user is not")
    unshare = shutil.which("unshare")
    if unshare is None:
        harness.skip("unshare (util-linux) is not installed")
    probe = ('d=$(mktemp -d) || exit 1; mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d"; rc=$?; '
             'rmdir "$d"; exit $rc')
    r = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", probe], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        harness.skip(f"cannot mount a tmpfs in a private mount namespace here: {r.stderr.strip()[:300]}")
    os.environ[NS_MARK] = "1"
    sys.stdout.flush()
    os.execv(unshare, [unshare, "--mount", "--propagation", "private", sys.executable, os.path.abspath(__file__),
                       *sys.argv[1:]])


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


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


def main():
    enter_private_mount_namespace()
    checks = harness.Checks()
    c = checks.check
    t_start = time.monotonic()
    with flowlib.Flow(agents=[], users=[USER], backoff_first=3600, backoff_max=3600) as fl:
        mounted = False
        filler = os.path.join(fl.state, "filler.bin")

        def stop_on_signal(signum, frame):
            raise SystemExit(128 + signum)  # through the finally below: processes, then the mount

        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, stop_on_signal)
        try:
            fl.setup(org=False)  # raw envelopes to rosters: teams without a team key (PROTOCOL.md 16.7)
            receipts = {}

            def note_receipt(ans):
                if isinstance(ans, dict) and ans.get("type") == "receipt":
                    r = ans.get("receipt", {})
                    prev = receipts.get(r.get("reference"))
                    c(f"receipt {r.get('reference')} is the same every time it is given", prev is None or prev == r,
                      f"{prev} vs {r}")
                    receipts[r.get("reference")] = r

            rc, rec0, o, e = fl.send(USER, fl.doc(age=9, extra_text="(kontrol)"))
            if not c("control: an underretning before the disk is small", rc == 0 and isinstance(rec0, dict)
                     and "reference" in rec0, out_of(rc, o, e)):
                return checks.done()
            ref0 = rec0["reference"]
            receipts[ref0] = flowlib.receipt_only(rec0)

            # ---- the state directory onto a tiny tmpfs ----
            rc = fl.stop_varskod()
            c("varskod stops before the move (exit 0)", rc == 0, f"exit {rc}")
            hold = fl.path("state-before-tmpfs")
            shutil.copytree(fl.state, hold)
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", fl.state],
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                harness.skip(f"mount -t tmpfs failed inside the private namespace: {r.stderr.strip()[:300]}")
            mounted = True
            for n in os.listdir(hold):
                shutil.copy2(os.path.join(hold, n), os.path.join(fl.state, n))
            harness.log(f"     {fl.state} is a {TMPFS_SIZE // 1024 // 1024} MiB tmpfs holding {sorted(os.listdir(fl.state))}")
            fl.start_varskod()
            c("varskod starts on the tmpfs", fl.alive("varskod"))

            with open(flowlib.EXAMPLE, "rb") as f:
                plaintext = f.read()

            def seal(dev, roster, sub, pad):
                rcpts = [(d["device"], flowlib.ub64(d["box_pk"])) for d in roster]
                routing, _ = flowlib.routing_header(INST, "6-13", False, False, sub, int(time.time()))
                return flowlib.seal("underretning", sub, dev.id, dev.sign_sk, rcpts, routing,
                                    plaintext + f"\n{sub}".encode() + os.urandom(pad))

            async def fresh_login():
                dev = fl.device(USER)
                try:
                    async with harness.RawClient(fl.ws_url, fl.ca, timeout=15) as cl2:
                        return await cl2.login(dev.id, dev.signing_key)
                except harness.Closed as ex:
                    return {"type": "closed", "code": ex.code, "reason": ex.reason}
                except Exception as ex:
                    return {"type": "closed", "code": None, "reason": repr(ex)}

            res = {"big": [], "answers": {}}

            async def fill(cl, dev):
                _, hjs = flowlib.routing_header(INST, "6-13", False, False, "s-full-route", int(time.time()))
                routed = await flowlib.request(cl, {"type": "route", "id": "r1", "header": hjs})
                if routed.get("type") != "routed":
                    raise RuntimeError(f"route refused: {routed}")
                roster = routed["roster"]["devices"]
                res["roster"] = roster
                free0 = free_bytes(fl.state)
                size = max(0, free0 - HEADROOM)
                with open(filler, "wb") as f:
                    chunk = b"\0" * (1 << 20)
                    left = size
                    while left > 0:
                        f.write(chunk[:min(left, len(chunk))])
                        left -= min(left, len(chunk))
                    f.flush()
                    os.fsync(f.fileno())
                harness.log(f"     filler {size // 1024} KiB, {free_bytes(fl.state) // 1024} KiB free after it")
                for i in range(1, MAX_BIG + 1):
                    sub = f"s-full-{i:02d}"
                    env = seal(dev, roster, sub, BIG_PAD)
                    res["envs"] = res.get("envs", {})
                    res["envs"][sub] = env
                    res["before_" + sub] = fl.counts(COUNTED)
                    ans = await flowlib.request(cl, {"type": "submit", "id": f"b{i}", "envelope": env})
                    res["answers"][sub] = ans
                    res["big"].append(sub)
                    harness.log(f"     {sub} ({len(env['ciphertext']) // 1024} KiB ciphertext, "
                                f"{free_bytes(fl.state) // 1024} KiB free after) -> {describe(ans)}")
                    if ans.get("type") != "receipt":
                        res["failed"] = sub
                        break
                if "failed" not in res:
                    return res
                sub = res["failed"]
                res["counts_after_failure"] = fl.counts(COUNTED)
                res["again_full"] = await flowlib.request(cl, {"type": "submit", "id": "again-full",
                                                               "envelope": res["envs"][sub]})
                res["whoami"] = await flowlib.request(cl, {"type": "whoami", "id": "w1"})
                res["status"] = await flowlib.request(cl, {"type": "status", "id": "st1", "reference": ref0})
                res["mine"] = await flowlib.request(cl, {"type": "mine", "id": "m1"})
                res["login"] = await fresh_login()
                res["alive_full"] = fl.alive("varskod")
                res["integrity_full"] = fl.integrity()
                res["present_full"] = fl.q("SELECT reference FROM underretninger WHERE submission = ?", sub)
                res["free_full"] = free_bytes(fl.state)
                return res

            harness.log("---- filling the tmpfs ----")
            try:
                fl.raw_session(USER, fill, timeout=60)
            except Exception as ex:
                c("the raw session ran to the end", False, repr(ex))
            for sub in res["big"]:
                note_receipt(res["answers"].get(sub))
            ok_before = [s for s in res["big"] if res["answers"][s].get("type") == "receipt"]
            failed = res.get("failed")
            c("at least one big submission is accepted on the small disk before it is full", len(ok_before) >= 1,
              f"{len(ok_before)} accepted")
            if not c(f"the disk fills up: a submission is refused within {MAX_BIG}", failed is not None,
                     f"{len(ok_before)} accepted, none refused"):
                return checks.done()
            ans = res["answers"][failed]
            harness.log(f"     refused when full: {describe(ans)}")
            c("the refusal is an error frame with a clear, retryable code (io, unavailable or db), no receipt",
              ans.get("type") == "error" and ans.get("code") in CLEAN_CODES, describe(ans))
            again = res.get("again_full") or {}
            harness.log(f"     the same envelope again while still full: {describe(again)}")
            c("sent again while the disk is still full: refused the same way, no receipt",
              again.get("type") == "error" and again.get("code") in CLEAN_CODES, describe(again))
            c("nothing of the refused submission is stored (checked while full)", res.get("present_full") == [],
              str(res.get("present_full")))
            c("row counts while full are those after the last accepted submission",
              res.get("counts_after_failure") == res.get(f"before_{failed}"),
              f"{res.get(f'before_{failed}')} -> {res.get('counts_after_failure')}")
            c("PRAGMA integrity_check ok while the disk is full", res.get("integrity_full") == [("ok",)],
              str(res.get("integrity_full")))
            c("varskod stays up while the disk is full", res.get("alive_full") is True)
            harness.log(f"     free while full: {res.get('free_full', 0) // 1024} KiB")
            harness.log(f"     while full, on the open session: whoami -> {describe(res.get('whoami'))}, "
                        f"status {ref0} -> {describe(res.get('status'))}, mine -> {describe(res.get('mine'))}")
            c("while full, whoami on the open session answers", (res.get("whoami") or {}).get("type") == "session",
              describe(res.get("whoami")))
            c("while full, status of an earlier underretning answers",
              (res.get("status") or {}).get("type") == "timeline", describe(res.get("status")))
            mine = res.get("mine") or {}
            c("while full, the notifier's list answers", mine.get("type") == "items", describe(mine))
            lg = res.get("login") or {}
            harness.log(f"     while full, a fresh login (it writes an audit entry) -> {describe(lg)}")
            c("while full, a fresh login is answered cleanly (session, or an error frame with a clear code)",
              lg.get("type") == "session" or (lg.get("type") == "error" and lg.get("code") in CLEAN_CODES),
              describe(lg))

            # ---- a crash while the disk is full, a restart on the full disk ----
            counts_full = fl.counts(COUNTED)
            rc = fl.kill("varskod")
            c("varskod killed with SIGKILL while the disk is full", rc == -9, f"exit {rc}")
            mark = len(fl.read_log("varskod"))
            try:
                fl.start_varskod()
                started = True
            except RuntimeError as ex:
                started = False
                harness.log(f"     varskod did not start on the full disk: {ex}")
            c("varskod starts again on the still full disk", started, fl.read_log("varskod")[mark:][-1500:])
            harness.log(f"     free after the restart: {free_bytes(fl.state) // 1024} KiB")
            ic = fl.integrity()
            c("after the crash: PRAGMA integrity_check ok", ic == [("ok",)], str(ic))
            c("after the crash: the refused submission is not stored, nothing else changed",
              fl.q("SELECT reference FROM underretninger WHERE submission = ?", failed) == []
              and fl.counts(COUNTED) == counts_full, f"{counts_full} -> {fl.counts(COUNTED)}")
            if started:
                try:
                    lg = harness.run(fresh_login())
                except Exception as ex:
                    lg = {"type": "closed", "code": None, "reason": repr(ex)}
                harness.log(f"     after the restart, still full, a fresh login -> {describe(lg)}")
                c("after the restart on the full disk, a fresh login is answered cleanly",
                  lg.get("type") == "session" or (lg.get("type") == "error" and lg.get("code") in CLEAN_CODES),
                  describe(lg))

            # ---- space again ----
            os.unlink(filler)
            harness.log(f"     filler deleted: {free_bytes(fl.state) // 1024} KiB free")
            if not started:
                fl.start_varskod()  # so that the rest can still be checked

            async def after(cl, dev):
                out = {"again_freed": await flowlib.request(cl, {"type": "submit", "id": "again-freed",
                                                                  "envelope": res["envs"][failed]})}
                new = "s-full-after"
                res["envs"][new] = seal(dev, res["roster"], new, BIG_PAD)
                out["new_after"] = await flowlib.request(cl, {"type": "submit", "id": "new-after",
                                                              "envelope": res["envs"][new]})
                return out

            try:
                res.update(fl.raw_session(USER, after, timeout=60))
            except Exception as ex:
                c("the session after freeing space ran to the end", False, repr(ex))
            freed = res.get("again_freed") or {}
            harness.log(f"     after deleting the filler, the refused envelope again -> {describe(freed)}")
            note_receipt(freed)
            c("after freeing space, the refused submission sent again gets a receipt", freed.get("type") == "receipt",
              describe(freed))
            c("... not a duplicate (the refused attempt stored nothing)", freed.get("duplicate") is False,
              describe(freed))
            new = res.get("new_after") or {}
            harness.log(f"     after deleting the filler, a new big submission -> {describe(new)}")
            note_receipt(new)
            c("after freeing space, a new big submission gets a receipt", new.get("type") == "receipt", describe(new))

            rc, rec1, o, e = fl.send(USER, fl.doc(age=9, extra_text="(efter fuld disk)"))
            c("after freeing space, the CLI (a fresh login) submits again", rc == 0 and isinstance(rec1, dict)
              and "reference" in rec1, out_of(rc, o, e))
            if isinstance(rec1, dict) and "reference" in rec1:
                receipts[rec1["reference"]] = flowlib.receipt_only(rec1)

            # ---- receipts against rows, integrity, audit chain ----
            stored = {}
            for ref, sub, text in fl.q("SELECT reference, submission, receipt FROM underretninger"):
                stored.setdefault(ref, []).append((sub, text))
            c(f"every receipt given ({len(receipts)}) is exactly one stored row with that receipt",
              all(len(stored.get(r, [])) == 1 and json.loads(stored[r][0][1]) == rec for r, rec in receipts.items()),
              str({r: len(stored.get(r, [])) for r in receipts if len(stored.get(r, [])) != 1}))
            c("every stored underretning had a receipt given for it", set(stored) == set(receipts),
              f"without a receipt: {sorted(set(stored) - set(receipts))}")
            subs = [s for rows in stored.values() for s, _ in rows]
            c("no submission id is stored twice", len(subs) == len(set(subs)), str(sorted(subs)))
            orphans = {t: fl.count(t, "reference IS NOT NULL AND reference NOT IN "
                                      "(SELECT reference FROM underretninger)") for t in ("deadlines", "outbox")}
            c("no deadline or outbox row without its underretning", not any(orphans.values()), str(orphans))
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
        finally:
            # Every process first (they hold files on the tmpfs), then the mount; the namespace ends with us.
            for name in list(fl.procs):
                try:
                    fl.stop(name)
                except Exception as ex:
                    harness.log(f"cleanup: stopping {name}: {ex}")
            if mounted:
                if fl.keep:
                    shutil.copytree(fl.state, fl.path("state-tmpfs"), dirs_exist_ok=True)
                r = subprocess.run(["umount", fl.state], capture_output=True, text=True, timeout=30)
                if r.returncode != 0:
                    harness.log(f"cleanup: umount {fl.state}: {r.stderr.strip()}")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
