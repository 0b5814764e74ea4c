#!/usr/bin/python3
"""varskoctl backup and restore (issue 12, part 3; docs/OPERATIONS.md "Backup and restore").

The real stack (mosquitto, varskod, no agents) takes SUBMISSIONS underretninger
from four raw WebSocket sessions (two each of laerer-anna's and laerer-jonas's
devices, WINDOW submits in flight on each), sealed up front to the routed
rosters. Every receipt and the moment it arrived are recorded. While they
run, `varskoctl backup` is run twice (after ~30 % and ~65 % of the receipts;
the second time as docs/OPERATIONS.md writes it); the last 15 % wait until
both backups ran, so the load goes on through each. Then:

  - each backup directory is mode 0700 and holds exactly varsko.db and
    manifest.json (mode 0600); the manifest's SHA-256 and size are the file's,
    its schema version, audit head and counts are the copy's;
  - the copy passes PRAGMA integrity_check; it holds every underretning whose
    receipt arrived before the backup started, with the byte-identical
    receipt; it is a consistent snapshot: exactly the live database's
    underretninger up to some seq, each with its three deadlines, its outbox
    row and its audit entry, and the live audit log up to the manifest's
    head;
  - restored into a scratch configuration (`varskoctl restore`) it passes
    `varskoctl audit verify` and holds the same receipts; nothing else is
    left in the scratch directory; restoring over an existing database
    needs --force and keeps the old one as .before-restore-TIME;
  - damaged backups are refused with a clear error and a stable error name,
    and the target directory and the backup directory are byte-for-byte
    unchanged (no stray files): bytes flipped in the middle of varsko.db;
    the manifest's sha256 edited; an audit row edited and the manifest made
    to match; a page of the audit table overwritten and the manifest made to
    match; the manifest's audit head edited; no manifest; a schema newer
    than varskoctl's;
  - a restore is refused while a varskod runs on the target database
    (nothing changes), and goes through once it is stopped; over a file that
    is not a database (in use or not cannot be told) --force goes on with a
    warning;
  - a backup of a schema-2 database (tests/integration/fixtures/schema2)
    leaves that database at schema 2, and its restore says the schema is
    older and `varskoctl migrate` upgrades it, which then works;
  - every command line in docs/OPERATIONS.md's "Backup and restore" is one
    this test runs (on the real files, paths substituted);
  - finally varskod is killed (SIGKILL: WAL and shm left behind), the live
    database restored with --force as the documentation says: the old one
    is kept with everything it held, no -wal/-shm is left next to the
    restored one, and varskod starts on it;
  - usage: --help on both, exit 2 on a wrong command line, a backup into a
    non-empty directory refused without touching it.
"""

import asyncio
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

SUBMISSIONS = int(os.environ.get("VARSKO_BACKUP_N", "500"))
with open(os.path.join(harness.SOURCE_ROOT, "gateway", "store.h"), encoding="utf-8") as _f:
    SCHEMA = int(re.search(r"^#define STORE_SCHEMA_VERSION (\d+)", _f.read(), re.M).group(1))
WINDOW = 6  # submits in flight per connection (varskod allows 8 jobs per session)
CLIENTS = [("c1", "laerer-anna"), ("c2", "laerer-anna"), ("c3", "laerer-jonas"), ("c4", "laerer-jonas")]
INSTITUTION = {"laerer-anna": "inst-nordskovskolen", "laerer-jonas": "inst-halsskov-strandskole"}
AGE_GROUP = "6-13"  # the documents are made with age=9
BACKUP_MARKS = (0.30, 0.65)  # share of the receipts at which each backup starts
HOLD_FROM = 0.85  # the submissions from here on wait until both backups ran
TIME_LIMIT = 90.0  # seconds for all submissions
FIXTURE2 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "schema2")
OPERATIONS = os.path.join(harness.SOURCE_ROOT, "docs", "OPERATIONS.md")
ERR_LINE = re.compile(r"^varskoctl: .+ \(([a-z_]+)\)$", re.M)
log = harness.log

# The placeholders of docs/OPERATIONS.md and what the test puts in their place.
DOC_CONF = "/etc/varsko/varskod.conf"
DOC_BACKUPS = "/var/backups/varsko"
DOC_SCRATCH = "/root/restore-test"
DOC_BACKUP_NAME = "20260512T100000Z"


# ---- helpers -------------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot(d):
    """{name: (mode, sha256)} of every entry of directory d: what 'byte-for-byte unchanged' compares."""
    out = {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.lstat(p)
        out[n] = (stat.S_IMODE(st.st_mode), sha256_file(p) if stat.S_ISREG(st.st_mode) else None)
    return out


def ro(path):
    """A read-only, immutable connection: creates nothing beside the file."""
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)


def q(path, sql, *args):
    c = ro(path)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def err_name(err):
    m = ERR_LINE.search(err.strip())
    return m.group(1) if m else None


def scratch_config(fl, directory, port=None, mqtt=True):
    """A copy of the fixture's configuration whose database is directory/varsko.db (and port, without MQTT)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    lines = []
    with open(fl.conf, encoding="utf-8") as f:
        for line in f:
            k = line.split("=", 1)[0].strip()
            if k == "database":
                line = f"database = {os.path.join(directory, 'varsko.db')}\n"
            elif k == "port" and port is not None:
                line = f"port = {port}\n"
            elif k == "origins" and port is not None:
                line = f"origins = wss://127.0.0.1:{port}\n"
            elif k.startswith("mqtt_") and not mqtt:
                continue
            elif k == "admin_port" and port is not None:
                line = "admin_port = 0\n"  # the fixture's varskod holds its admin port
            lines.append(line)
    path = os.path.join(directory, "varskod.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return path


def ctl_with(fl, conf, *args, timeout=120):
    return fl.run([fl.varskoctl, "-c", conf, *args], timeout=timeout)


def doc_commands():
    """The command lines of the code blocks of docs/OPERATIONS.md's "## Backup and restore" section."""
    with open(OPERATIONS, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## Backup and restore\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if m is None:
        return None
    cmds, inside = [], False
    for line in m.group(1).splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            cmds.append(line.strip())
    return cmds


# ---- the submissions ----------------------------------------------------------------------

class Sub:
    __slots__ = ("user", "sid", "env", "hold", "receipt", "raw", "at", "errors")

    def __init__(self, user, sid, env, hold=False):
        self.user, self.sid, self.env = user, sid, env
        self.hold = hold  # sent only after the backups ran, so that submissions go on after each
        self.receipt = None  # the receipt object of the first receipt answer
        self.raw = None
        self.at = None  # time.monotonic() when it arrived
        self.errors = []


class Run:
    def __init__(self, marks):
        self.lock = threading.Lock()
        self.received = 0
        self.marks = list(marks)
        self.trigger = threading.Event()
        self.released = threading.Event()  # set when the backups ran: the held submissions go
        self.done = False
        self.conn_errors = []


async def run_client(fl, name, user, subs, run, deadline):
    """Submit every sub until each has a receipt; reconnect and resend (same submission id) after a failure."""
    import websockets
    dev = fl.device(user)
    pending = list(subs)
    seq = 0
    while pending and time.monotonic() < deadline:
        try:
            async with harness.RawClient(fl.ws_url, fl.ca, timeout=15.0) as cl:
                ans = await cl.login(dev.id, dev.signing_key)
                if ans.get("type") != "session":
                    raise ConnectionError(f"login refused: {ans.get('type')} {ans.get('error')}")
                inflight, todo = {}, list(pending)
                while todo or inflight:
                    while todo and len(inflight) < WINDOW and (not todo[0].hold or run.released.is_set()):
                        s = todo.pop(0)
                        seq += 1
                        fid = f"{name}-{seq}"
                        inflight[fid] = s
                        await cl.send({"type": "submit", "id": fid, "envelope": s.env})
                    try:
                        # Held submissions wait for the backups; the session reads its pushes meanwhile.
                        raw = await asyncio.wait_for(cl.ws.recv(), 20.0 if inflight else 0.05)
                    except asyncio.TimeoutError:
                        if inflight:
                            raise
                        continue
                    frame = json.loads(raw)
                    s = inflight.pop(frame.get("id"), None)
                    if s is None:
                        continue
                    if frame.get("type") == "receipt":
                        if s.receipt is None:
                            s.receipt, s.raw, s.at = frame.get("receipt"), raw, time.monotonic()
                            pending.remove(s)
                            with run.lock:
                                run.received += 1
                                if run.marks and run.received >= run.marks[0]:
                                    run.marks.pop(0)
                                    run.trigger.set()
                    else:
                        s.errors.append(frame)
                        if len(s.errors) > 3:
                            raise RuntimeError(f"{s.sid} refused again and again: {frame}")
                if not pending:
                    return
        except (OSError, asyncio.TimeoutError, ConnectionError, harness.Closed, ValueError,
                websockets.exceptions.WebSocketException) as e:
            with run.lock:
                run.conn_errors.append(f"{type(e).__name__}: {e}")
            await asyncio.sleep(0.1)


async def route_roster(fl, user):
    """The routed team and its roster devices for the user's documents."""
    dev = fl.device(user)
    async with harness.RawClient(fl.ws_url, fl.ca, timeout=15.0) as cl:
        ans = await cl.login(dev.id, dev.signing_key)
        if ans.get("type") != "session":
            raise RuntimeError(f"raw login as {user} refused: {ans}")
        _, hjs = flowlib.routing_header(INSTITUTION[user], AGE_GROUP, False, False, "s-route-probe", int(time.time()))
        routed = await flowlib.request(cl, {"type": "route", "id": "r1", "header": hjs})
    if routed.get("type") != "routed":
        raise RuntimeError(f"route for {user}: {routed}")
    return [(d["device"], flowlib.ub64(d["box_pk"])) for d in routed["roster"]["devices"]]


def backer(fl, run, jobs, results, errors):
    """Run each backup job when the receipt count passes its mark; record when it started and ended."""
    try:
        for what, argv, shell in jobs:
            while not run.done and not run.trigger.wait(0.05):
                pass
            run.trigger.clear()
            if run.done:
                return
            with run.lock:
                before = run.received
            t0 = time.monotonic()
            r = subprocess.run(argv, shell=shell, capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
            t1 = time.monotonic()
            with run.lock:
                after = run.received
            results.append({"what": what, "t0": t0, "t1": t1, "rc": r.returncode, "out": r.stdout, "err": r.stderr,
                            "receipts_before": before, "receipts_after": after})
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        run.released.set()


# ---- checks of one backup --------------------------------------------------------------------

def check_backup(c, fl, b, subs, live_rows, live_audit):
    """The backup directory b["dir"], made between b["t0"] and b["t1"]."""
    w = b["what"]
    d = b["dir"]
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    c(f"{w}: the directory holds exactly varsko.db and manifest.json", names == ["manifest.json", "varsko.db"],
      str(names))
    if names != ["manifest.json", "varsko.db"]:
        return None
    db = os.path.join(d, "varsko.db")
    modes = (stat.S_IMODE(os.stat(d).st_mode), stat.S_IMODE(os.stat(db).st_mode),
             stat.S_IMODE(os.stat(os.path.join(d, "manifest.json")).st_mode))
    c(f"{w}: directory mode 0700, files mode 0600", modes == (0o700, 0o600, 0o600), str([oct(m) for m in modes]))
    with open(os.path.join(d, "manifest.json"), encoding="utf-8") as f:
        m = json.load(f)
    c(f"{w}: the manifest's format, version and schema", m.get("format") == "varsko-backup" and
      m.get("format_version") == 1 and m.get("schema_version") == SCHEMA and
      str(m.get("made_by", "")).startswith("varskoctl ") and m.get("source") == fl.database, str(m)[:300])
    c(f"{w}: the manifest's sha256 and size are the file's",
      m.get("database", {}).get("sha256") == sha256_file(db) and m["database"].get("bytes") == os.path.getsize(db)
      and m["database"].get("file") == "varsko.db", str(m.get("database")))
    c(f"{w}: PRAGMA integrity_check of the copy: ok", q(db, "PRAGMA integrity_check") == [("ok",)])
    c(f"{w}: the copy is one file in rollback-journal mode (header bytes 18, 19)",
      open(db, "rb").read(20)[18:20] == b"\x01\x01")
    copy_rows = q(db, "SELECT seq, reference, receipt FROM underretninger ORDER BY seq")
    c(f"{w}: the manifest counts the copy's underretninger and events",
      m.get("underretninger") == len(copy_rows) and m.get("events") == q(db, "SELECT count(*) FROM events")[0][0],
      f"manifest {m.get('underretninger')}/{m.get('events')}, copy {len(copy_rows)}")
    head = q(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    c(f"{w}: the manifest's audit head is the copy's newest entry",
      head and m.get("audit", {}).get("entries") == head[0][0] and m["audit"].get("head_hash") == head[0][1].hex(),
      f"{m.get('audit')} vs {head[:1]}")

    # Every receipt given before the backup started is in it, byte for byte.
    by_ref = {ref: rc for _seq, ref, rc in copy_rows}
    before = [s for s in subs if s.at is not None and s.at < b["t0"]]
    missing = [s.receipt["reference"] for s in before if s.receipt["reference"] not in by_ref]
    differ = [s.receipt["reference"] for s in before
              if by_ref.get(s.receipt["reference"]) not in (None, flowlib.compact(s.receipt))]
    c(f"{w}: holds every one of the {len(before)} receipts given before it started", before and not missing,
      f"{len(missing)} missing, e.g. {missing[:4]}")
    c(f"{w}: ... each stored receipt byte-identical to the one received", not differ, str(differ[:4]))

    # A consistent snapshot: the live database up to some seq, every transaction whole.
    top = copy_rows[-1][0] if copy_rows else 0
    prefix = [r for r in live_rows if r[0] <= top]
    c(f"{w}: exactly the live database's underretninger up to seq {top}", copy_rows == prefix,
      f"copy {len(copy_rows)}, live prefix {len(prefix)}")
    refs = {ref for _s, ref, _r in copy_rows}
    given = {s.receipt["reference"] for s in subs if s.receipt}
    c(f"{w}: nothing in it that did not get a receipt", refs <= given, str(sorted(refs - given)[:4]))
    dl = dict(q(db, "SELECT reference, count(*) FROM deadlines GROUP BY reference"))
    ob = dict(q(db, "SELECT reference, count(*) FROM outbox WHERE needs_ack = 1 GROUP BY reference"))
    au = {d.split("=", 1)[1] for (d,) in q(db, "SELECT detail FROM audit WHERE event = 'underretning_received'")}
    torn = [r for r in refs if dl.get(r) != 3 or ob.get(r) != 1 or r not in au]
    c(f"{w}: each of its {len(refs)} underretninger has its 3 deadlines, its outbox row and its audit entry "
      f"(no transaction torn)", not torn and set(dl) == refs and set(ob) == refs and au == refs,
      f"torn {torn[:3]}")
    copy_audit = q(db, "SELECT seq, hash FROM audit ORDER BY seq")
    c(f"{w}: its audit log is the live one up to the manifest's head ({len(copy_audit)} entries)",
      copy_audit == [r for r in live_audit if r[0] <= len(copy_audit)] and len(copy_audit) < len(live_audit),
      f"copy {len(copy_audit)}, live {len(live_audit)}")
    return m


# ---- main ---------------------------------------------------------------------------------------

def main():
    checks = harness.Checks()
    c = checks.check
    t_start = time.monotonic()
    with flowlib.Flow(agents=[], users=["laerer-anna", "laerer-jonas"]) as fl:
        fl.setup(org=False)  # raw envelopes to rosters (teams without a team key)
        vctl = fl.varskoctl
        backups = fl.path("backups")
        os.mkdir(backups, 0o700)
        doc_scratch = fl.path("restore-test")

        def doc(line, name=None):
            """A command line of docs/OPERATIONS.md with the test's paths in place of the placeholders."""
            cmd = line.replace(DOC_CONF, shlex.quote(fl.conf))
            cmd = cmd.replace(f"{DOC_BACKUPS}/{DOC_BACKUP_NAME}", shlex.quote(os.path.join(backups, name or "")))
            cmd = cmd.replace(DOC_BACKUPS, shlex.quote(backups)).replace(DOC_SCRATCH, shlex.quote(doc_scratch))
            if cmd.startswith("varskoctl "):
                cmd = shlex.quote(vctl) + cmd[len("varskoctl"):]
            return cmd

        def sh(cmd, timeout=120):
            r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
            return r.returncode, r.stdout, r.stderr

        lines = doc_commands()
        c("docs/OPERATIONS.md has a \"Backup and restore\" section with command lines", bool(lines), str(lines))
        lines = lines or []
        doc_backup = next((x for x in lines if " backup " in x), None)
        ran_doc = set()

        # -- usage --
        for cmd in ("backup", "restore"):
            rc, out, err = fl.ctl(cmd, "--help")
            c(f"varskoctl {cmd} --help: exit 0, its usage on stdout", rc == 0 and out.startswith(
                f"usage: varskoctl [-c FILE] {cmd}"), out_of(rc, out, err))
            rc, out, err = fl.ctl(cmd)
            c(f"varskoctl {cmd} without its directory: exit 2 (usage)", rc == 2 and err_name(err) == "usage",
              out_of(rc, out, err))
        rc, out, err = fl.ctl("--help")
        c("varskoctl --help lists backup and restore", rc == 0 and "backup DEST" in out and "restore SRC" in out,
          out_of(rc, out, err))

        # -- seal everything up front --
        rosters = {u: harness.run(route_roster(fl, u)) for u in INSTITUTION}
        per_client = {name: [] for name, _ in CLIENTS}
        created = int(time.time())
        t0 = time.monotonic()
        for k in range(SUBMISSIONS):
            name, user = CLIENTS[k % len(CLIENTS)]
            dev = fl.device(user)
            sid = f"s-backup-{name}-{k:05d}"
            with open(fl.doc(institution=INSTITUTION[user], age=9, extra_text=f"(sikkerhedskopi {k})"), "rb") as f:
                pt = f.read()
            routing, _ = flowlib.routing_header(INSTITUTION[user], AGE_GROUP, False, False, sid, created)
            env = flowlib.seal("underretning", sid, dev.id, dev.sign_sk, rosters[user], routing, pt)
            per_client[name].append(Sub(user, sid, env, hold=k >= HOLD_FROM * SUBMISSIONS))
        subs = [s for v in per_client.values() for s in v]
        log(f"     {SUBMISSIONS} envelopes sealed in {time.monotonic() - t0:.1f} s")

        # -- submissions, with two backups while they run --
        bk1 = fl.path("bk1")
        jobs = [("backup 1", [vctl, "-c", fl.conf, "backup", bk1], False),
                ("backup 2 (as documented)", doc(doc_backup) if doc_backup else "false", True)]
        if doc_backup:
            ran_doc.add(doc_backup)
        run = Run([int(f * SUBMISSIONS) for f in BACKUP_MARKS])
        results, berr = [], []
        bt = threading.Thread(target=backer, args=(fl, run, jobs, results, berr), daemon=True)
        deadline = time.monotonic() + TIME_LIMIT


        async def all_clients():
            await asyncio.gather(*(run_client(fl, n, u, per_client[n], run, deadline) for n, u in CLIENTS))
        t0 = time.monotonic()
        bt.start()
        try:
            harness.run(all_clients())
        finally:
            run.done = True
            bt.join(150)
        t_end = time.monotonic()
        log(f"     {run.received} receipts in {t_end - t0:.1f} s; connection errors {run.conn_errors[:3]}")
        c("the backup thread ran without error", not berr, str(berr))
        c(f"every one of the {SUBMISSIONS} submissions got a receipt", run.received == SUBMISSIONS,
          f"{run.received}")
        c("no submission was refused", not [s for s in subs if s.errors], str([s.errors for s in subs if s.errors][:2]))
        c("both backups ran", len(results) == 2, str([r["what"] for r in results]))
        for r in results:
            during = sum(1 for s in subs if s.at is not None and r["t0"] <= s.at <= r["t1"])
            log(f"     {r['what']}: {r['t1'] - r['t0']:.2f} s, receipts {r['receipts_before']} before, "
                f"{r['receipts_after']} at its end, {during} arrived while it ran")
            c(f"{r['what']}: exit 0", r["rc"] == 0 and "audit log intact" in r["out"],
              out_of(r["rc"], r["out"], r["err"]))
            after = sum(1 for s in subs if s.at is not None and s.at > r["t1"] and not s.hold)
            c(f"{r['what']}: it ran while varskod was writing (receipts before it, and while it ran or after it "
              f"without waiting for it)", 0 < r["receipts_before"] and (during > 0 or after > 0),
              f"{r['receipts_before']} before, {during} while, {after} after")
        if len(results) == 2:
            results[0]["dir"] = bk1
            made = sorted(os.listdir(backups))
            c("the documented backup made one directory named by the UTC time",
              len(made) == 1 and re.fullmatch(r"\d{8}T\d{6}Z", made[0]) is not None, str(made))
            results[1]["dir"] = os.path.join(backups, made[0]) if made else backups
        live_rows = fl.q("SELECT seq, reference, receipt FROM underretninger ORDER BY seq")
        live_audit = fl.q("SELECT seq, hash FROM audit ORDER BY seq")
        c("the live database holds all submissions", len(live_rows) == SUBMISSIONS, str(len(live_rows)))
        manifests = [check_backup(c, fl, r, subs, live_rows, live_audit) for r in results if "dir" in r]
        if len(manifests) != 2 or None in manifests:
            return checks.done()
        bk2 = results[1]["dir"]
        bk2_name = os.path.basename(bk2)
        m1, m2 = manifests

        # -- a backup never goes into a directory that holds something; a failed one leaves nothing --
        before = snapshot(bk1)
        rc, out, err = fl.ctl("backup", bk1)
        c("a backup into a non-empty directory is refused (exists); the directory is unchanged",
          rc == 1 and err_name(err) == "exists" and snapshot(bk1) == before, out_of(rc, out, err))
        nodb = scratch_config(fl, fl.path("no-database"))
        rc, out, err = ctl_with(fl, nodb, "backup", fl.path("bk-none"))
        c("a backup of a database that does not exist fails (not_found) and leaves no directory",
          rc == 1 and err_name(err) == "not_found" and not os.path.exists(fl.path("bk-none")), out_of(rc, out, err))

        # -- docs: audit verify on the live database; a restore test into a scratch configuration --
        for line in lines:
            if line.endswith("audit verify") and DOC_CONF in line:
                rc, out, err = sh(doc(line))
                ran_doc.add(line)
                c("documented: audit verify of the live database", rc == 0 and "audit log intact" in out,
                  out_of(rc, out, err))
        for line in lines:
            if DOC_SCRATCH in line:
                rc, out, err = sh(doc(line, bk2_name))
                ran_doc.add(line)
                ok = rc == 0
                if " restore " in line:
                    ok = ok and "restored" in out and "the current schema" in out
                if line.endswith("audit verify"):
                    ok = ok and f"audit log intact: {m2['audit']['entries']} entries" in out and \
                        m2["audit"]["head_hash"] in out
                c(f"documented restore test: {line.replace(DOC_CONF, 'CONF')[:90]}", ok, out_of(rc, out, err))
        sdb = os.path.join(doc_scratch, "varsko.db")
        if os.path.exists(sdb):
            rows = dict(q(sdb, "SELECT reference, receipt FROM underretninger"))
            before2 = [s for s in subs if s.at is not None and s.at < results[1]["t0"]]
            c(f"the restored copy holds every one of the {len(before2)} receipts given before backup 2 started",
              all(rows.get(s.receipt["reference"]) == flowlib.compact(s.receipt) for s in before2),
              f"{sum(1 for s in before2 if s.receipt['reference'] not in rows)} missing")
            c("nothing else is left in the scratch directory",
              sorted(os.listdir(doc_scratch)) == ["varsko.db", "varskod.conf"], str(os.listdir(doc_scratch)))

        # -- restore backup 1 into a scratch configuration of our own; over it again only with --force --
        scratch = fl.path("scratch")
        sport = harness.free_port()
        sconf = scratch_config(fl, scratch, port=sport, mqtt=False)
        stdb = os.path.join(scratch, "varsko.db")
        rc, out, err = ctl_with(fl, sconf, "restore", bk1)
        c("restore of backup 1 into an empty scratch configuration", rc == 0 and "restored" in out and
          "kept as" not in out, out_of(rc, out, err))
        rc, out, err = ctl_with(fl, sconf, "audit", "verify")
        c("varskoctl audit verify on the restored backup 1: intact with the manifest's head",
          rc == 0 and f"intact: {m1['audit']['entries']} entries" in out and m1["audit"]["head_hash"] in out,
          out_of(rc, out, err))
        rows = dict(q(stdb, "SELECT reference, receipt FROM underretninger"))
        before1 = [s for s in subs if s.at is not None and s.at < results[0]["t0"]]
        c(f"the restored backup 1 holds every one of the {len(before1)} receipts given before it started",
          all(rows.get(s.receipt["reference"]) == flowlib.compact(s.receipt) for s in before1))
        c("PRAGMA integrity_check of the restored backup 1: ok", q(stdb, "PRAGMA integrity_check") == [("ok",)])
        base = snapshot(scratch)
        rc, out, err = ctl_with(fl, sconf, "restore", bk2)
        c("restore over an existing database without --force is refused (exists), nothing changed",
          rc == 1 and err_name(err) == "exists" and "--force" in err and snapshot(scratch) == base,
          out_of(rc, out, err))

        # -- damaged backups: refused, nothing changed in the target or the backup --
        def damaged(what, prepare, expect, words):
            bad = fl.path(f"bad-{len(os.listdir(fl.tmp))}")
            shutil.copytree(bk1, bad)
            prepare(bad)
            src_before, dst_before = snapshot(bad), snapshot(scratch)
            rc, out, err = ctl_with(fl, sconf, "restore", bad, "--force")
            c(f"damaged backup ({what}): refused with ({expect})",
              rc == 1 and err_name(err) == expect and re.search(words, err) is not None and "restored" not in out,
              out_of(rc, out, err))
            c(f"damaged backup ({what}): the target directory is byte-for-byte unchanged, no stray file",
              snapshot(scratch) == dst_before, f"{sorted(snapshot(scratch))} vs {sorted(dst_before)}")
            c(f"damaged backup ({what}): the backup directory is unchanged", snapshot(bad) == src_before,
              str(sorted(snapshot(bad))))

        def flip_middle(bad):
            p = os.path.join(bad, "varsko.db")
            n = os.path.getsize(p)
            with open(p, "r+b") as f:
                f.seek(n // 2)
                b = f.read(16)
                f.seek(n // 2)
                f.write(bytes(x ^ 0xFF for x in b))

        def edit_manifest(bad, fn):
            p = os.path.join(bad, "manifest.json")
            with open(p, encoding="utf-8") as f:
                m = json.load(f)
            fn(m)
            with open(p, "w", encoding="utf-8") as f:
                json.dump(m, f, indent=2)

        def rehash(bad):
            p = os.path.join(bad, "varsko.db")

            def fix(m):
                m["database"]["sha256"] = sha256_file(p)
                m["database"]["bytes"] = os.path.getsize(p)
            edit_manifest(bad, fix)

        def other_sha(m):
            h = m["database"]["sha256"]
            m["database"]["sha256"] = ("0" if h[0] != "0" else "1") + h[1:]

        def other_head(m):
            h = m["audit"]["head_hash"]
            m["audit"]["head_hash"] = ("0" if h[0] != "0" else "1") + h[1:]

        def edit_audit_row(bad):
            conn = sqlite3.connect(os.path.join(bad, "varsko.db"))
            conn.executescript("DROP TRIGGER audit_no_update; UPDATE audit SET detail = detail || ' ' WHERE seq = 3;")
            conn.close()
            rehash(bad)

        def smash_audit_page(bad):
            p = os.path.join(bad, "varsko.db")
            page, root = q(p, "PRAGMA page_size")[0][0], q(p, "SELECT rootpage FROM sqlite_master WHERE name = 'audit'")
            with open(p, "r+b") as f:
                f.seek((root[0][0] - 1) * page)
                f.write(b"\x5a" * page)
            rehash(bad)

        damaged("bytes flipped in the middle of varsko.db", flip_middle, "bad_signature",
                r"does not match the manifest")
        damaged("the manifest's sha256 edited", lambda b: edit_manifest(b, other_sha), "bad_signature",
                r"does not match the manifest")
        damaged("an audit entry edited, the manifest made to match", edit_audit_row, "bad_signature",
                r"audit log broken at entry 3")
        damaged("the audit table's root page overwritten, the manifest made to match", smash_audit_page, "db",
                r"integrity_check|audit log")
        damaged("the manifest's audit head edited", lambda b: edit_manifest(b, other_head), "bad_signature",
                r"audit log's head")
        damaged("no manifest", lambda b: os.unlink(os.path.join(b, "manifest.json")), "not_found", r"no manifest")

        def newer_schema(bad):
            conn = sqlite3.connect(os.path.join(bad, "varsko.db"))
            conn.execute(f"PRAGMA user_version = {SCHEMA + 1}")
            conn.close()
            rehash(bad)
        damaged("a schema newer than this varskoctl's, the manifest made to match", newer_schema, "db",
                rf"schema {SCHEMA + 1}, newer than this varskoctl's {SCHEMA}")

        # -- refused while a varskod runs on the target; goes through once it is stopped --
        fl.start("varskod-scratch", [fl.varskod, "-c", sconf], port=sport)
        keep = {n: v for n, v in snapshot(scratch).items() if not n.endswith("-shm")}
        rc, out, err = ctl_with(fl, sconf, "restore", bk2, "--force")
        after = {n: v for n, v in snapshot(scratch).items() if not n.endswith("-shm")}
        c("restore while varskod runs on the target database: refused (unavailable), says so",
          rc == 1 and err_name(err) == "unavailable" and "in use" in err, out_of(rc, out, err))
        c("... the database and its WAL are byte-for-byte unchanged, no stray file",
          after == keep, f"{sorted(after)} vs {sorted(keep)}")
        c("... varskod still runs", fl.alive("varskod-scratch"))
        rc_stop = fl.stop("varskod-scratch")
        c("the scratch varskod stops cleanly", rc_stop == 0, f"exit {rc_stop}")
        rc, out, err = ctl_with(fl, sconf, "restore", bk2, "--force")
        aside = [n for n in os.listdir(scratch) if ".before-restore-" in n]
        c("once varskod is stopped: restore --force goes through and keeps the old database aside",
          rc == 0 and "restored" in out and len(aside) == 1 and re.fullmatch(
              r"varsko\.db\.before-restore-\d{8}T\d{6}Z", aside[0]) is not None, out_of(rc, out, err) + str(aside))
        if aside:
            c("the old database kept aside is the restored backup 1, whole",
              q(os.path.join(scratch, aside[0]), "SELECT count(*) FROM underretninger")[0][0] == m1["underretninger"])
        c("the scratch directory holds the database, the old one and the configuration only",
          sorted(os.listdir(scratch)) == sorted(["varsko.db", "varskod.conf"] + aside), str(os.listdir(scratch)))
        rc, out, err = ctl_with(fl, sconf, "audit", "verify")
        c("audit verify after the forced restore: backup 2's head", rc == 0 and m2["audit"]["head_hash"] in out,
          out_of(rc, out, err))
        # A database that does not open as one: whether it is in use cannot be told; --force goes on, warning.
        for n in aside:
            os.unlink(os.path.join(scratch, n))
        with open(stdb, "wb") as f:
            f.write(b"not a database " * 1000)
        rc, out, err = ctl_with(fl, sconf, "restore", bk1, "--force")
        aside = [n for n in os.listdir(scratch) if ".before-restore-" in n]
        c("restore --force over a file that is not a database: warns that it cannot tell whether it is in use, "
          "goes on, keeps the file", rc == 0 and "warning: cannot tell whether the database" in err and
          len(aside) == 1 and os.path.getsize(os.path.join(scratch, aside[0])) == 15000 and
          sha256_file(stdb) == m1["database"]["sha256"], out_of(rc, out, err) + str(aside))

        # -- an older schema: backed up as it is, restored with the advice to migrate --
        if os.path.exists(os.path.join(FIXTURE2, "varsko.db")):
            old = fl.path("schema2")
            oconf = scratch_config(fl, old)
            shutil.copyfile(os.path.join(FIXTURE2, "varsko.db"), os.path.join(old, "varsko.db"))
            os.chmod(os.path.join(old, "varsko.db"), 0o600)
            rc, out, err = ctl_with(fl, oconf, "backup", fl.path("bk-schema2"))
            c("backup of a schema-2 database", rc == 0 and "schema 2 (older" in out, out_of(rc, out, err))
            c("... leaves that database at schema 2 (no migration)",
              q(os.path.join(old, "varsko.db"), "PRAGMA user_version") == [(2,)])
            with open(os.path.join(fl.path("bk-schema2"), "manifest.json"), encoding="utf-8") as f:
                c("... its manifest says schema_version 2", json.load(f).get("schema_version") == 2)
            s3conf = scratch_config(fl, fl.path("scratch-schema2"))
            rc, out, err = ctl_with(fl, s3conf, "restore", fl.path("bk-schema2"))
            c("its restore says the schema is older and that varskoctl migrate upgrades it",
              rc == 0 and "schema 2 (older than this varskoctl's: varskoctl migrate upgrades it)" in out and
              "run `varskoctl migrate`" in out, out_of(rc, out, err))
            rc, out, err = ctl_with(fl, s3conf, "migrate")
            c("... varskoctl migrate then upgrades it", rc == 0 and f"from schema 2 to {SCHEMA}" in out, out_of(rc, out, err))
            rc, out, err = ctl_with(fl, s3conf, "audit", "verify")
            c("... and its audit log verifies", rc == 0 and "intact" in out, out_of(rc, out, err))
        else:
            c("the schema-2 fixture exists", False, FIXTURE2)

        # -- the live database: varskod killed, restored as documented, varskod starts on it --
        live_count = fl.count("underretninger")
        rc_kill = fl.kill("varskod", signal.SIGKILL)
        left = sorted(n for n in os.listdir(fl.state) if n.startswith("varsko.db"))
        log(f"     varskod killed ({rc_kill}); beside the database: {left}")
        for line in lines:
            if DOC_CONF in line and (" restore " in line or line.endswith(" migrate")):
                rc, out, err = sh(doc(line, bk2_name))
                ran_doc.add(line)
                if " restore " in line:
                    c("documented: restore --force of the live database with varskod stopped",
                      rc == 0 and "restored" in out and "kept as" in out, out_of(rc, out, err))
                    c("the restored live database is backup 2, byte for byte",
                      sha256_file(fl.database) == m2["database"]["sha256"])
                else:
                    c("documented: migrate after the restore (already current)", rc == 0 and "schema" in out,
                      out_of(rc, out, err))
        state = sorted(os.listdir(fl.state))
        aside = [n for n in state if ".before-restore-" in n and not n.endswith(("-wal", "-shm", "-journal"))]
        c("no -wal, -shm or temporary file is left next to the restored database",
          not [n for n in state if n.startswith("varsko.db") and n != "varsko.db" and ".before-restore-" not in n],
          str(state))
        if aside:
            kept = os.path.join(fl.state, aside[0])
            c(f"the old database kept aside holds all {live_count} underretninger (its WAL checkpointed into it)",
              q(kept, "SELECT count(*) FROM underretninger")[0][0] == live_count and
              q(kept, "PRAGMA integrity_check") == [("ok",)], str(state))
        else:
            c("the old live database is kept aside", False, str(state))
        fl.start_varskod()
        c("varskod starts on the restored database", fl.alive("varskod"))
        rc, out, err = fl.ctl("audit", "verify")
        c("audit verify of the restored live database with varskod running", rc == 0 and "intact" in out,
          out_of(rc, out, err))
        rc_stop = fl.stop_varskod()
        c("varskod stops cleanly", rc_stop == 0, f"exit {rc_stop}")

        missing = [x for x in lines if x not in ran_doc]
        c("every command line of docs/OPERATIONS.md \"Backup and restore\" was run by this test", not missing,
          str(missing))
        reports = [(n, mm.group(0)) for n, text in fl.all_logs().items()
                   for mm in [re.search(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:", text)] if mm]
        c("no sanitizer report in any log", not reports, str(reports[:3]))
        log(f"     test time {time.monotonic() - t_start:.1f} s")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
