#!/usr/bin/python3
"""Consultation threads end to end (issue 10, items 1-3 and 7): real varskod and the C CLI.

Anna (fagperson at Nordskovskolen) opens a thread with Sofie (the rådgiver
assigned there) and Thomas (leder of Sofie's team). A thread without the
assigned rådgiver is refused by varskod, one with an outsider (Jonas, a
fagperson at another school) by Anna's own client before anything is sent.
Messages go both ways; Sofie, offline while Anna writes five messages, gets
all five in order on her next read, and Anna then sees "leveret" and
"læst" per member, each mark verified. Jonas is refused (not_found) for
read, send and members. Thomas, removed, gets nothing sent after the
removal: not by read, not pushed. Sofie's device is lost (revoked by the
operator); her replacement device, recovered with her recovery code, reads
the whole history, and what is sent after her key rotated; she leaves. A
link deleted from varskod's database (the chain taken back) is refused by
the device that saw it. Finally no message text and not the title appear in
varskod's database, its WAL or its log. Deterministic, loopback, temporary
directories.
"""

import base64
import json
import os
import re
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from test_person_continuity import memory_search  # noqa: E402

INST = "inst-nordskovskolen"
ANNA, SOFIE, THOMAS, JONAS = "laerer-anna", "raadgiver-sofie", "leder-thomas", "laerer-jonas"
CODE_RE = re.compile(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b")


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:400]!r}"


def parse(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


class Watch:
    """`varsko watch --count N --timeout S` of one home in the background; .lines() waits for it to end."""

    def __init__(self, fl, home, count, timeout):
        env = dict(os.environ, VARSKO_HOME=home, HOME=fl.tmp)
        env.pop("VARSKO_CA", None)
        self.p = subprocess.Popen([fl.cli_bin, "watch", "--count", str(count), "--timeout", str(timeout)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                  env=env, text=True)
        # It says on stderr when it listens (after any notice about the user's devices).
        self.ready = ""
        while "forbundet" not in self.ready:
            line = self.p.stderr.readline()
            if not line:
                break
            self.ready += line

    def lines(self, timeout=60):
        try:
            out, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
        return [parse(x) for x in out.splitlines() if x.strip()], self.p.returncode, err

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()


def main():
    checks = harness.Checks()
    c = checks.check
    tag = uuid.uuid4().hex[:12]
    title = f"Bekymring om elev i 3.b {tag}"
    texts = {}  # name -> text, every text sent (each unique, for the plaintext scan)

    def text(name):
        texts[name] = f"{name}: besked om trivsel og fravær ({tag}-{name}) æøå"
        return texts[name]

    watches = []
    with flowlib.Flow(agents=[], users=[]) as fl:
        t0 = time.monotonic()
        rc, out, err = fl.setup_org()
        if rc != 0:
            raise RuntimeError(f"varskoctl org init: {out_of(rc, out, err)}")
        for u in (ANNA, SOFIE, THOMAS, JONAS):
            fl.enroll(u)
        sofie_code = (CODE_RE.search(fl.enroll_out[SOFIE]) or [None])[0]
        harness.log(f"     fixture up in {time.monotonic() - t0:.1f} s")

        def cli(user, *args):
            return fl.cli_as(user, "thread", *args)

        def cli_json(user, *args):
            return fl.cli_json(user, "thread", *args)

        def read(user, *args):
            rc, j, out, err = cli_json(user, "read", thread, *args)
            return rc, j or {}, out, err

        # -- opening a thread: the assigned rådgiver comes by herself, an outsider is refused by the client --
        rc, out, err = cli(ANNA, "new", "--institution", INST, "--title", title, "--member", JONAS)
        c("a member the certificates do not admit (a fagperson of another school) is refused by the client",
          rc == 1 and "forbidden" in err and JONAS in err, out_of(rc, out, err))
        rc, j, out, err = fl.cli_json(ANNA, "thread", "list")
        c("... and nothing was created", rc == 0 and (j or {}).get("threads") == [], out_of(rc, out, err))
        # Only thomas named: varskod says (thread_raadgivere) that sofie is assigned to the institution, the
        # client checks her certificate and adds her; thomas is admitted as the leder of her team.
        rc, j, out, err = cli_json(ANNA, "new", "--institution", INST, "--title", title, "--member", THOMAS,
                                   "--besked", text("m1"))
        thread = (j or {}).get("thread", "")
        if not c("anna opens a thread with sofie and thomas; its id is printed",
                 rc == 0 and re.fullmatch(r"T-[A-Z2-7]{26}", thread), out_of(rc, out, err)):
            return checks.done()
        rc, j, out, err = cli_json(SOFIE, "members", thread)
        members = {m["user"]: m for m in (j or {}).get("members", [])}
        c("members, verified on sofie's device: anna (creator, fagperson), sofie (raadgiver), thomas (leder)",
          rc == 0 and set(members) == {ANNA, SOFIE, THOMAS} and members[ANNA].get("creator") and
          members[ANNA].get("role") == "fagperson" and members[SOFIE].get("role") == "raadgiver" and
          members[THOMAS].get("role") == "leder", out_of(rc, out, err))
        rc, j, out, err = fl.cli_json(SOFIE, "thread", "list")
        c("the thread is in sofie's list, without title or content",
          rc == 0 and [t.get("thread") for t in (j or {}).get("threads", [])] == [thread] and title not in out,
          out_of(rc, out, err))

        # -- messages both ways --
        rc, j, out, err = read(SOFIE)
        msgs = j.get("messages", [])
        c("sofie reads the title and anna's first message",
          rc == 0 and j.get("title") == title and [m.get("text") for m in msgs] == [texts["m1"]] and
          msgs[0].get("user") == ANNA and msgs[0].get("new") is True, out_of(rc, out, err))
        rc, j, out, err = cli_json(SOFIE, "send", thread, text("m2"))
        c("sofie answers", rc == 0 and (j or {}).get("seq") == 2, out_of(rc, out, err))
        rc, j, out, err = read(ANNA)
        msgs = {m.get("seq"): m for m in j.get("messages", [])}
        c("anna reads sofie's answer after her own message",
          rc == 0 and [m.get("text") for m in j.get("messages", [])] == [texts["m1"], texts["m2"]] and
          msgs[2].get("user") == SOFIE and msgs[1].get("own") is True, out_of(rc, out, err))
        marks = {m["user"]: m for m in msgs.get(1, {}).get("marks", [])}
        c("on anna's first message: sofie has it and read it, thomas not yet",
          set(marks) == {SOFIE, THOMAS} and marks[SOFIE].get("leveret") and marks[SOFIE].get("laest") and
          marks[THOMAS].get("leveret") is None and marks[THOMAS].get("laest") is None and
          j.get("marks_refused") == 0, json.dumps(marks))
        rc, out, err = cli(ANNA, "read", thread)
        c("anna's terminal view says it in Danish",
          rc == 0 and "leveret" in out and "læst" in out and "ikke leveret endnu" in out and title in out,
          out_of(rc, out, err))

        # -- sofie offline during five messages; thomas watching --
        w = Watch(fl, fl.homes[THOMAS], count=5, timeout=40)
        watches.append(w)
        c("thomas watches the pushes", "forbundet" in w.ready, w.ready)
        five = [text(f"p{i}") for i in range(1, 6)]
        seqs = []
        for t in five:
            rc, j, out, err = cli_json(ANNA, "send", thread, t)
            seqs.append((j or {}).get("seq"))
        c("anna sends five messages while sofie is offline", seqs == [3, 4, 5, 6, 7], str(seqs))
        pushed, wrc, werr = w.lines()
        got = [(p or {}).get("type") for p in pushed]
        c("thomas' watch prints each as a thread_message push of this thread, in order",
          wrc == 0 and got == ["thread_message"] * 5 and [p.get("thread") for p in pushed] == [thread] * 5 and
          [p.get("seq") for p in pushed] == [3, 4, 5, 6, 7], f"rc={wrc} {got} {werr[-300:]}")
        c("... with no plaintext in the pushes", not any(t in json.dumps(pushed) for t in five))
        rc, j, out, err = read(SOFIE)
        new = [m for m in j.get("messages", []) if m.get("new")]
        c("sofie's next read has all five, in order, exactly as sent, marked new",
          rc == 0 and [m.get("text") for m in new] == five and [m.get("seq") for m in new] == [3, 4, 5, 6, 7],
          out_of(rc, out, err))
        c("... and she sent leveret and læst for them (10 marks)", j.get("marks_sent") == 10, str(j.get("marks_sent")))
        rc, j, out, err = read(ANNA)
        own = {m["seq"]: {k["user"]: k for k in m.get("marks", [])} for m in j.get("messages", []) if m.get("own")}
        ok = all(own.get(s, {}).get(SOFIE, {}).get("leveret") and own[s][SOFIE].get("laest") and
                 own[s][THOMAS].get("leveret") is None for s in range(3, 8))
        c("anna sees, per message: sofie leveret and læst, thomas neither", rc == 0 and ok, json.dumps(own)[:600])
        rc, j, out, err = read(THOMAS)
        c("thomas reads all seven", rc == 0 and len(j.get("messages", [])) == 7, out_of(rc, out, err))
        rc, j, out, err = read(ANNA)
        own = {m["seq"]: {k["user"]: k for k in m.get("marks", [])} for m in j.get("messages", []) if m.get("own")}
        c("now anna sees thomas leveret and læst too, on every own message",
          all(own[s][THOMAS].get("leveret") and own[s][THOMAS].get("laest") for s in own) and len(own) == 6,
          json.dumps(own)[:600])

        # -- the outsider --
        for args in (("read", thread), ("send", thread, "hej"), ("members", thread)):
            rc, out, err = cli(JONAS, *args)
            c(f"jonas (another school) is refused: thread {args[0]} -> not_found",
              rc == 1 and "not_found" in err and tag not in out, out_of(rc, out, err))

        # -- removal: nothing sent afterwards reaches thomas --
        # Two pushes at most: the change, and (it must not come) the message; 5 s to be sure it does not.
        w = Watch(fl, fl.homes[THOMAS], count=2, timeout=5)
        watches.append(w)
        rc, j, out, err = cli_json(ANNA, "remove", thread, THOMAS)
        c("anna (the creator) removes thomas", rc == 0 and (j or {}).get("op") == "thread_member_remove",
          out_of(rc, out, err))
        rc, j, out, err = cli_json(ANNA, "send", thread, text("after_removal"))
        after_seq = (j or {}).get("seq")
        c("anna sends after the removal", rc == 0 and after_seq == 8, out_of(rc, out, err))
        pushed, wrc, werr = w.lines(timeout=20)
        c("thomas' watch got the change but not the message",
          not any((p or {}).get("type") == "thread_message" for p in pushed) and
          any((p or {}).get("type") == "thread_changed" for p in pushed), json.dumps(pushed)[:400])
        rc, j, out, err = read(THOMAS)
        c("thomas' read shows nothing sent after the removal (refused, or without it)",
          texts["after_removal"] not in out and (rc != 0 or all(m.get("seq", 0) < after_seq
                                                                 for m in j.get("messages", []))),
          out_of(rc, out, err))
        rc, j, out, err = cli_json(THOMAS, "send", thread, "kan jeg stadig skrive?")
        c("thomas can no longer send", rc == 1, out_of(rc, out, err))
        rc, j, out, err = read(ANNA)
        last = (j.get("messages") or [{}])[-1]
        c("the message after the removal was sealed to anna and sofie only",
          last.get("seq") == after_seq and [m["user"] for m in last.get("marks", [])] == [SOFIE],
          json.dumps(last)[:400])
        rc, j, out, err = cli_json(SOFIE, "members", thread)
        members = {m["user"]: m for m in (j or {}).get("members", [])}
        c("the members say thomas left at version 4", members.get(THOMAS, {}).get("present") is False and
          members[THOMAS].get("removed") == 4, out_of(rc, out, err))

        # -- sofie's replacement device reads the whole history --
        dev_1 = flowlib.Device(fl.homes[SOFIE]).id
        rc, out, err = fl.ctl("revoke", dev_1)
        c("the operator revokes sofie's lost device", rc == 0, out_of(rc, out, err))
        home_2 = fl.path("home-sofie-2")
        inv = fl.invite(SOFIE)
        rc, out, err = fl.cli(home_2, "enroll", "--server", fl.ws_url, "--code", inv["code"], "--ca", fl.ca,
                              "--fingerprint", inv["org_fingerprint"])
        c("sofie enrolls a replacement device", rc == 0, out_of(rc, out, err))
        rc, out, err = fl.cli(home_2, "device", "recover", "--code", sofie_code or "")
        c("... and recovers her user key with her recovery code", rc == 0, out_of(rc, out, err))
        fl.homes[SOFIE] = home_2
        rc, j, out, err = read(SOFIE)
        history = [texts[n] for n in ("m1", "m2", "p1", "p2", "p3", "p4", "p5", "after_removal")]
        c("the replacement device reads the whole history, title included, in order",
          rc == 0 and [m.get("text") for m in j.get("messages", [])] == history and j.get("title") == title,
          out_of(rc, out, err))
        rc, j, out, err = cli_json(ANNA, "send", thread, text("after_rotation"))
        c("anna writes after sofie's key changed", rc == 0, out_of(rc, out, err))
        rc, j, out, err = read(SOFIE)
        c("... and the replacement device reads it",
          rc == 0 and (j.get("messages") or [{}])[-1].get("text") == texts["after_rotation"], out_of(rc, out, err))
        rc, out, err = fl.cli(fl.path(f"home-{SOFIE}"), "thread", "read", thread)
        c("the lost device reads nothing", rc == 1 and "device_revoked" in err and tag not in out,
          out_of(rc, out, err))

        # -- leaving --
        rc, j, out, err = cli_json(SOFIE, "leave", thread)
        c("sofie leaves", rc == 0 and (j or {}).get("op") == "thread_member_leave", out_of(rc, out, err))
        rc, j, out, err = fl.cli_json(SOFIE, "thread", "list")
        c("... and the thread is no longer in her list",
          rc == 0 and thread not in [t.get("thread") for t in (j or {}).get("threads", [])], out_of(rc, out, err))

        # -- a leder whose rådgiver left is no longer admitted: nothing is sealed until he is removed --
        rc, j, out, err = cli_json(ANNA, "new", "--institution", INST, "--title", f"Anden tråd {tag}",
                                   "--member", SOFIE, "--member", THOMAS, "--besked", text("second"))
        second = (j or {}).get("thread", "")
        c("a second thread with sofie and thomas", rc == 0 and second.startswith("T-"), out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "thread", "leave", second)
        c("sofie leaves it", rc == 0, out_of(rc, out, err))
        rc, j, out, err = cli_json(ANNA, "members", second)
        members = {m["user"]: m for m in (j or {}).get("members", [])}
        c("the members show thomas as no longer admitted by his certificate",
          rc == 0 and members.get(THOMAS, {}).get("admitted") is False and members[ANNA].get("admitted") is True,
          out_of(rc, out, err))
        rc, out, err = cli(ANNA, "send", second, text("not_sealed"))
        c("anna's client refuses to seal to him (bad_chain)", rc == 1 and "bad_chain" in err and THOMAS in err,
          out_of(rc, out, err))
        rc, out, err = cli(ANNA, "remove", second, THOMAS)
        c("... but can remove him", rc == 0, out_of(rc, out, err))
        rc, j, out, err = cli_json(ANNA, "send", second, text("second_after"))
        c("... and then write again", rc == 0 and (j or {}).get("seq") == 2, out_of(rc, out, err))
        del texts["not_sealed"]  # never sent

        # -- a server that takes a link back (here: sofie's leave) is refused --
        rc, j, out, err = cli_json(ANNA, "members", thread)
        c("anna's device verifies the chain with sofie's leave (version 5)", rc == 0 and (j or {}).get("version") == 5,
          out_of(rc, out, err))
        db = fl.db()
        row = db.execute("SELECT kind, chain, seq, link_json, created_at FROM chain_links WHERE kind = 'thread' "
                         "AND chain = ? AND seq = 5", (thread,)).fetchone()
        with db:
            db.execute("DELETE FROM chain_links WHERE kind = 'thread' AND chain = ? AND seq = 5", (thread,))
        rc, out, err = cli(ANNA, "members", thread)
        c("with the last link deleted from varskod's database, anna's device refuses the shorter chain (bad_chain)",
          row is not None and rc == 1 and "bad_chain" in err and "went backwards" in err, out_of(rc, out, err))
        if row is not None:
            with db:
                db.execute("INSERT INTO chain_links (kind, chain, seq, link_json, created_at) VALUES (?, ?, ?, ?, ?)",
                           row)
        db.close()
        rc, out, err = cli(ANNA, "members", thread)
        c("... and accepts it again when the link is back", rc == 0, out_of(rc, out, err))

        # -- a modified server adds a member of its own (varskod-ghost, a test-only build) --
        ghost_bin = harness.binary("gateway/varskod-ghost")
        if os.access(ghost_bin, os.X_OK):
            plain_bin = fl.varskod
            fl.stop_varskod()
            fl.varskod = ghost_bin
            fl.start_varskod()
            rows_before = fl.count("thread_messages")
            rc, j, out, err = cli_json(ANNA, "members", thread)
            c("varskod-ghost adds a member to the chain it hands out: anna's device refuses the chain",
              rc == 1 and ("not_member" in err or "bad_chain" in err or "bad_signature" in err),
              out_of(rc, out, err))
            rc, out, err = cli(ANNA, "send", thread, text("to_ghost"))
            c("... and seals nothing: the send is refused before anything is sent",
              rc == 1 and fl.count("thread_messages") == rows_before, out_of(rc, out, err))
            c("... nothing anywhere is for the ghost",
              fl.count("thread_recipients", "user = 'ghost'") == 0 and
              fl.count("thread_members", "user = 'ghost'") == 0)
            rc, out, err = cli(SOFIE, "read", thread)
            c("... sofie's device refuses it too", rc == 1, out_of(rc, out, err))
            del texts["to_ghost"]  # never sent
            fl.stop_varskod()
            fl.varskod = plain_bin
            fl.start_varskod()
            rc, out, err = cli(ANNA, "members", thread)
            c("... and the real varskod's chain is accepted again", rc == 0, out_of(rc, out, err))
        else:
            c("gateway/varskod-ghost is built (the modified-server case)", False, ghost_bin)

        # -- nothing in clear on the server --
        for w in watches:
            w.stop()
        secrets = dict(texts, title=title)
        if os.geteuid() == 0:
            # varskod's whole memory after the exchange (issue 10, "Done means"), with a control that it holds.
            with open(os.path.join(fl.homes[ANNA], "gateway.cert"), encoding="ascii") as f:
                control = base64.b64decode(json.load(f)["sign_pk"])
            needles = {k: v.encode() for k, v in secrets.items()}
            found, total = memory_search(fl.procs["varskod"][0].pid, dict(needles, control=control))
            c(f"varskod's memory ({total // 1024} KiB read) holds no message text and not the title",
              total > 1 << 20 and not (found - {"control"}), str(sorted(found - {"control"})))
            c("... while the same scan finds what varskod does hold (its gateway certificate's key)",
              "control" in found)
        else:
            harness.log("     not root: the memory scan is left out")
        fl.stop_varskod()
        stored = flowlib.stored_bytes(fl)
        found = [k for k, v in secrets.items() if v.encode() in stored or tag.encode() in stored]
        c("no message text and not the title in varskod's database or its WAL", stored and not found, str(found))
        logtext = fl.read_log("varskod")
        c("... nor in varskod's log", logtext and tag not in logtext and title not in logtext)
        harness.log(f"     the test took {time.monotonic() - t0:.1f} s")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
