#!/usr/bin/python3
"""Retention of consultation threads (issue 10, Must 8): real varskod, varskoctl and the C CLI.

Time is moved with libfaketime, always forward (certificates were made at
real time): varskod, the CLI and varskoctl run DAY * N seconds ahead where
the story needs it; nothing sleeps for days.

Day 0: Anna (fagperson at Nordskovskolen) opens thread OLD (with Sofie, the
assigned rådgiver; messages both ways, read marks) and thread CHANGED (one
message). Day 5 (varskod restarted under faketime): Anna opens thread NEW
and adds Thomas to CHANGED (a membership change is activity).

`varskoctl threads purge --dry-run --older-than 3` at day 5 lists OLD (with
its last activity, message count and bytes) and neither NEW nor CHANGED,
and changes nothing in the database. The real purge then: OLD's message
rows, recipients and marks are gone, and a known piece of its ciphertext is
in neither the database nor the WAL after a checkpoint (while it was there
before: the control); the thread row, its chain and the audit rows of its
messages stay, and one thread_purge audit row says what went (actor
varskoctl, the counts and bytes); the audit log still verifies. Sofie reading
OLD gets `purged` (the CLI in Danish; thread_sync, thread_send and
thread_append raw: error `purged`); thread_get still hands out the chain,
and thread_list marks the thread `purged`. NEW and CHANGED are untouched
and still take messages. A second purge finds nothing.

Day 12 (varskod restarted under faketime with thread_retention_days = 4):
varskod's own periodic purge, on its store worker shortly after start,
purges NEW and CHANGED by itself (audit actor varskod), and its log says so
without thread ids. Bad usage of the command exits 2.
"""

import json
import os
import sqlite3
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402
from test_thread_server import req  # noqa: E402

INST = "inst-nordskovskolen"
ANNA, SOFIE, THOMAS = "laerer-anna", "raadgiver-sofie", "leder-thomas"
DAY = 86400


def stored_bytes(path):
    out = b""
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as f:
                out += f.read()
    return out


def checkpoint(path):
    """PRAGMA wal_checkpoint(TRUNCATE) from a connection of our own (varskod may run): (busy, log, done)."""
    c = sqlite3.connect(path, timeout=10)
    try:
        return c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        c.close()


def main():
    checks = harness.Checks()
    c = checks.check
    tag = uuid.uuid4().hex[:12]
    with flowlib.Flow(agents=[], users=[]) as fl:
        t0 = time.monotonic()
        rc, out, err = fl.setup_org()
        if rc != 0:
            raise RuntimeError(f"varskoctl org init: {out_of(rc, out, err)}")
        for u in (ANNA, SOFIE, THOMAS):
            fl.enroll(u)
        day5, day12 = flowlib.faketime_env(5 * DAY), flowlib.faketime_env(12 * DAY)
        real0 = int(time.time())

        def new_thread(name, env=None):
            rc, j, out, err = fl.cli_json(ANNA, "thread", "new", "--institution", INST, "--title",
                                          f"{name} {tag}", "--besked", f"{name} første besked {tag}", env=env)
            th = (j or {}).get("thread", "")
            if not c(f"anna opens thread {name}", rc == 0 and th.startswith("T-"), out_of(rc, out, err)):
                raise RuntimeError(f"cannot open thread {name}")
            return th

        def ctl(*args, env=None):
            return fl.run([fl.varskoctl, "-c", fl.conf, *args], env=env)

        def audit_rows(event):
            return fl.q("SELECT actor, detail FROM audit WHERE event = ? ORDER BY seq", event)

        # -- day 0: OLD (messages both ways, marks) and CHANGED --
        old = new_thread("OLD")
        rc, j, out, err = fl.cli_json(SOFIE, "thread", "read", old)
        c("sofie reads OLD", rc == 0 and len((j or {}).get("messages", [])) == 1, out_of(rc, out, err))
        rc, j, out, err = fl.cli_json(SOFIE, "thread", "send", old, f"OLD svar {tag}")
        c("sofie answers in OLD", rc == 0 and (j or {}).get("seq") == 2, out_of(rc, out, err))
        rc, j, out, err = fl.cli_json(ANNA, "thread", "read", old)
        c("anna reads OLD (and marks sofie's answer)", rc == 0, out_of(rc, out, err))
        changed = new_thread("CHANGED")

        # A known piece of OLD's ciphertext, and what OLD holds before the purge.
        envs = [json.loads(e) for (e,) in fl.q("SELECT envelope FROM thread_messages WHERE thread = ?", old)]
        cts = sorted((e.get("ciphertext", "") for e in envs), key=len)
        fragment = cts[-1][4:40].encode() if cts and len(cts[-1]) >= 40 else b""
        c("OLD has two stored messages with ciphertext", len(envs) == 2 and fragment, str(cts))
        old_bytes = sum(len(e.encode()) for (e,) in fl.q("SELECT envelope FROM thread_messages WHERE thread = ?",
                                                          old))
        old_marks = fl.count("thread_marks", "thread = ?", old)
        c("OLD has read marks", old_marks > 0, str(old_marks))
        checkpoint(fl.database)
        c("control: the ciphertext piece is in the database file before the purge",
          fragment and fragment in stored_bytes(fl.database))

        # -- day 5: varskod, the CLI and varskoctl 5 days ahead --
        fl.stop_varskod()
        fl.start_varskod(env=day5)
        new = new_thread("NEW", env=day5)
        rc, j, out, err = fl.cli_json(ANNA, "thread", "add", changed, THOMAS, env=day5)
        c("anna adds thomas to CHANGED at day 5 (a membership change)", rc == 0, out_of(rc, out, err))

        def snapshot():
            tables = ("threads", "thread_messages", "thread_recipients", "thread_marks", "chain_links", "audit")
            return {t: fl.q(f'SELECT * FROM "{t}" ORDER BY rowid') for t in tables}

        before = snapshot()
        rc, out, err = ctl("threads", "purge", "--dry-run", "--older-than", "3", env=day5)
        lines = [ln for ln in out.splitlines() if ln.startswith("would purge T-")]
        c("dry run at day 5, --older-than 3: exactly OLD is listed",
          rc == 0 and len(lines) == 1 and old in lines[0] and new not in out and changed not in out,
          out_of(rc, out, err))
        c("... with its last activity, message count and bytes",
          bool(lines) and "last_activity=" + harness.fmt_time(real0)[:10] in lines[0] and " messages=2 " in lines[0]
          and f" bytes={old_bytes} " in lines[0] and f" marks={old_marks}" in lines[0], out_of(rc, out, err))
        c("... and says that nothing was changed", "nothing was changed" in out, out)
        c("the dry run changed nothing in the database", snapshot() == before)
        rc, out, err = ctl("threads", "purge", "--dry-run", env=day5)
        c("dry run with the configured 180 days: nothing is due", rc == 0 and "T-" not in out and
          "would purge 0 thread(s)" in out, out_of(rc, out, err))

        audit_before = fl.count("audit")
        msg_audits = fl.count("audit", "event = 'thread_message' AND detail LIKE ?", f"thread={old} %")
        rc, out, err = ctl("threads", "purge", "--older-than", "3", env=day5)
        c("the purge at day 5, --older-than 3, purges OLD only",
          rc == 0 and f"purged {old} " in out and new not in out and changed not in out and
          "purged 1 thread(s)" in out, out_of(rc, out, err))
        c("OLD's messages, recipients and marks are gone",
          fl.count("thread_messages", "thread = ?", old) == 0 and fl.count("thread_recipients", "thread = ?", old)
          == 0 and fl.count("thread_marks", "thread = ?", old) == 0)
        c("OLD's thread row stays, marked purged at day 5",
          fl.q("SELECT last_seq, purged_at FROM threads WHERE id = ?", old)[0][0] == 2 and
          fl.q("SELECT purged_at FROM threads WHERE id = ?", old)[0][0] >= real0 + 5 * DAY)
        c("OLD's chain stays", fl.count("chain_links", "kind = 'thread' AND chain = ?", old) ==
          len([r for r in before["chain_links"] if r[0] == "thread" and r[1] == old]))
        purges = audit_rows("thread_purge")
        c("one thread_purge audit row, by varskoctl, with the counts and bytes",
          len(purges) == 1 and purges[0][0] == "varskoctl" and f"thread={old}" in purges[0][1] and
          "messages=2" in purges[0][1] and f"bytes={old_bytes}" in purges[0][1] and
          f"marks={old_marks}" in purges[0][1], str(purges))
        c("the audit rows of OLD's messages stay; one row was added",
          fl.count("audit", "event = 'thread_message' AND detail LIKE ?", f"thread={old} %") == msg_audits == 2 and
          fl.count("audit") == audit_before + 1)
        rc, out, err = ctl("audit", "verify")
        c("the audit log verifies", rc == 0 and "intact" in out, out_of(rc, out, err))
        res = checkpoint(fl.database)
        raw = stored_bytes(fl.database)
        c("after a checkpoint the ciphertext piece is in neither the database nor the WAL",
          fragment and fragment not in raw, f"checkpoint={res}")
        c("NEW and CHANGED are untouched",
          fl.count("thread_messages", "thread = ?", new) == 1 and fl.count("thread_messages", "thread = ?",
                                                                          changed) == 1 and
          fl.count("threads", "purged_at IS NOT NULL") == 1)

        # -- what a member sees --
        rc, out, err = fl.cli_as(SOFIE, "thread", "read", old, env=day5)
        c("sofie reading OLD: refused with purged, in Danish", rc != 0 and "purged" in err and "slettet" in err,
          out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "thread", "list", env=day5)
        row = next((ln for ln in out.splitlines() if old in ln), "")
        c("sofie's thread list marks OLD (slettet), NEW not", rc == 0 and "(slettet)" in row and
          "(slettet)" not in next((ln for ln in out.splitlines() if new in ln), "?"), out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "thread", "send", old, "hej", env=day5)
        c("sofie writing in OLD: purged", rc != 0 and "purged" in err, out_of(rc, out, err))
        rc, j, out, err = fl.cli_json(SOFIE, "thread", "send", new, f"NEW svar {tag}", env=day5)
        c("NEW still takes messages", rc == 0 and (j or {}).get("seq") == 2, out_of(rc, out, err))

        dev = fl.device(SOFIE)

        async def raw(cl):
            ans = await cl.login(dev.id, dev.signing_key, t=harness.utc_now() + 5 * DAY)
            if ans.get("type") != "session":
                return {"login": ans}
            return {
                "sync": await req(cl, {"type": "thread_sync", "id": "s1", "thread": old, "after": 0}),
                "get": await req(cl, {"type": "thread_get", "id": "g1", "thread": old}),
                "list": await req(cl, {"type": "thread_list", "id": "l2"}),
                "sync_new": await req(cl, {"type": "thread_sync", "id": "s2", "thread": new, "after": 0}),
            }

        async def go():
            async with harness.RawClient(fl.ws_url, fl.ca, timeout=15) as cl:
                return await raw(cl)

        res = harness.run(go())
        c("raw thread_sync of OLD: error purged", res.get("sync", {}).get("code") == "purged", str(res)[:300])
        c("raw thread_get of OLD: the chain is still handed out",
          res.get("get", {}).get("type") == "thread" and len(res["get"].get("links", [])) >= 2, str(res)[:300])
        items = {t.get("thread"): t for t in res.get("list", {}).get("threads", [])}
        c("thread_list marks OLD purged (a time) and NEW not",
          items.get(old, {}).get("purged", "").endswith("Z") and "purged" not in items.get(new, {"purged": 1}),
          str(items)[:400])
        c("raw thread_sync of NEW: both messages", len(res.get("sync_new", {}).get("messages", [])) == 2,
          str(res.get("sync_new"))[:300])

        rc, out, err = ctl("threads", "purge", "--older-than", "3", env=day5)
        c("a second purge finds nothing", rc == 0 and "purged 0 thread(s)" in out, out_of(rc, out, err))

        # -- bad usage --
        for args in (("threads",), ("threads", "purge", "--older-than", "x"), ("threads", "purge", "--bogus"),
                     ("threads", "purge", "extra")):
            rc, out, err = ctl(*args)
            c(f"varskoctl {' '.join(args)}: usage error, exit 2", rc == 2 and "usage" in err, out_of(rc, out, err))
        rc, out, err = ctl("threads", "purge", "--help")
        c("threads purge --help", rc == 0 and "--dry-run" in out and "--older-than" in out, out_of(rc, out, err))

        # -- day 12: varskod's own periodic purge, retention 4 days --
        fl.stop_varskod()
        with open(fl.conf, "a", encoding="utf-8") as f:
            f.write("thread_retention_days = 4\n")
        fl.start_varskod(env=day12)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and fl.count("audit", "event = 'thread_purge'") < 3:
            time.sleep(0.3)
        purges = audit_rows("thread_purge")
        by = {d.split()[0].split("=", 1)[1]: a for a, d in purges}
        c("varskod purges NEW and CHANGED by itself, audited with actor varskod",
          by.get(new) == "varskod" and by.get(changed) == "varskod" and by.get(old) == "varskoctl" and
          len(purges) == 3, str(purges))
        c("... their messages are gone", fl.count("thread_messages") == 0 and fl.count("thread_marks") == 0)
        logtext = fl.read_log("varskod")
        c("varskod's log says it purged 2 threads, naming none",
          "retention: purged the content of 2 thread(s)" in logtext and new not in logtext and
          changed not in logtext and tag not in logtext, logtext[-600:])
        harness.log(f"     the test took {time.monotonic() - t0:.1f} s")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
