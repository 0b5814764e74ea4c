#!/usr/bin/python3
"""A full round of one underretning, as the people involved see it.

laerer-anna submits; team-slagelse's agent files the document (the same
document, mode 0600); leder-thomas sees its deadlines; myndighed-lene finds it
in the inbox, opens it (the same document), assesses it, sends a kvittering
and a tilbagemelding. Anna's `varsko underret status --json` shows every step
(sendt, modtaget_gateway, leveret, modtaget, journaliseret, aabnet, vurderet,
kvitteret, tilbagemelding) with verified signatures, role and team but no
names, and the kvittering and tilbagemelding texts decrypted exactly as sent;
`varsko underret list` shows it; Anna's `varsko watch` receives the pushes.
Others see nothing: a fagperson of another institution and a myndighed of
another team get not_found, and an event from the other team is refused and
not stored. Finally a second underretning is re-routed (omdiriger) to
team-ung: team-ung's agent files it, team-ung's worker can open it, and
team-slagelse can no longer. All of it on the key model: every team has its
chain and team key (flowlib setup(org=True)), the underretning is sealed to
team-slagelse's key and the re-routing to team-ung's.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

STEPS = ["sendt", "modtaget_gateway", "leveret", "modtaget", "journaliseret", "aabnet", "vurderet", "kvitteret",
         "tilbagemelding"]
KVITTERING = "Tak for underretningen om jeres elev. Vi har vurderet den og oprettet en sag – venlig hilsen Team Slagelse (æøå)."
TILBAGEMELDING = "Vi har iværksat en børnefaglig undersøgelse.\nI hører fra os igen."


def refs_in(j):
    """Every "reference" value anywhere in a JSON value."""
    out = []
    if isinstance(j, dict):
        if isinstance(j.get("reference"), str):
            out.append(j["reference"])
        for v in j.values():
            out += refs_in(v)
    elif isinstance(j, list):
        for v in j:
            out += refs_in(v)
    return out


def main():
    checks = harness.Checks()
    c = checks.check
    users = ["laerer-anna", "laerer-jonas", "myndighed-lene", "myndighed-peter", "myndighed-camilla", "leder-thomas", "leder-hanne"]
    with flowlib.Flow(agents=["team-slagelse", "team-ung"], users=users) as fl:
        fl.setup(org=True)  # the key model: every team's chain and key (PROTOCOL.md 16)
        docpath = fl.doc(age=9, cpr=True)
        with open(docpath, encoding="utf-8") as f:
            sent_doc = json.load(f)

        rc, rec, out, err = fl.send("laerer-anna", docpath)
        if not c("anna: underret send", rc == 0 and isinstance(rec, dict), out_of(rc, out, err)):
            return checks.done()
        ref = rec["reference"]
        harness.log(f"     {ref} -> {rec.get('team')}")
        c("receipt names team-slagelse, the sender and the institution",
          rec.get("team") == "team-slagelse" and rec.get("sender_user") == "laerer-anna"
          and rec.get("institution") == "inst-nordskovskolen", json.dumps(rec)[:300])

        got = fl.wait_filed("team-slagelse", [ref], timeout=60)
        c("team-slagelse's agent files it", got == {ref})
        if got:
            p = fl.filed("team-slagelse")[ref]
            mode = os.stat(p).st_mode & 0o777
            c("the filed file is mode 0600", mode == 0o600, oct(mode))
            with open(p, encoding="utf-8") as f:
                filed = json.load(f)
            doc_in = filed.get("document", filed) if isinstance(filed, dict) else filed
            c("the filed document is the one sent", doc_in == sent_doc or filed == sent_doc,
              f"keys {sorted(filed)[:12] if isinstance(filed, dict) else type(filed)}")

        rc, j, out, err = fl.cli_json("leder-thomas", "leder", "overview")
        c("leder-thomas: overview lists the new underretning's deadlines", rc == 0 and ref in refs_in(j),
          out_of(rc, out, err))
        items = j.get("items", []) if isinstance(j, dict) else []
        mine = [it.get("kind") for it in items if it.get("reference") == ref]
        c("overview: vurdering, kvittering and tilbagemelding are open", sorted(mine) ==
          ["kvittering", "tilbagemelding", "vurdering"], str(mine))
        dues = [it.get("due", "") for it in items]
        c("overview: soonest first", dues == sorted(dues), str(dues[:6]))
        c("overview: every item open (none due yet)", all(it.get("state") == "open" for it in items if
                                                         it.get("reference") == ref), str(items[:3]))
        rc, j2, out, err = fl.cli_json("leder-hanne", "leder", "overview")
        c("leder-hanne (team-korsoer-skaelskoer): overview does not list it", rc == 0 and ref not in refs_in(j2),
          out_of(rc, out, err))
        rc, j, out, err = fl.cli_json("myndighed-lene", "myndighed", "inbox")
        c("myndighed-lene: inbox lists it", rc == 0 and ref in refs_in(j), out_of(rc, out, err))
        rc, j, out, err = fl.cli_json("myndighed-peter", "myndighed", "inbox")
        c("myndighed-peter (team-korsoer-skaelskoer): inbox does not list it", rc == 0 and ref not in refs_in(j),
          out_of(rc, out, err))

        # The agent's events are stored before Anna starts watching, so the
        # pushes she gets are exactly the worker's four.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and fl.count(
                "events", "reference = ? AND kind IN ('modtaget', 'journaliseret')", ref) < 2:
            time.sleep(0.2)
        c("the agent's modtaget and journaliseret are stored",
          fl.count("events", "reference = ? AND kind IN ('modtaget', 'journaliseret')", ref) == 2)

        # Anna watches for pushes while the worker acts.
        wenv = dict(os.environ)
        wenv.update({"VARSKO_HOME": fl.homes["laerer-anna"], "HOME": fl.tmp})
        wenv.pop("VARSKO_CA", None)
        logins = fl.read_log("varskod").count(" logged in")
        watch_out = fl.path("watch.out")
        with open(watch_out, "wb") as wo, open(fl.path("watch.err"), "wb") as we:
            watch = subprocess.Popen([fl.cli_bin, "watch", "--count", "4", "--timeout", "90"], stdout=wo, stderr=we,
                                     stdin=subprocess.DEVNULL, env=wenv, start_new_session=True)
        try:
            # Nothing else logs in meanwhile: the next login in varskod's log is the watch's.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and fl.read_log("varskod").count(" logged in") <= logins:
                time.sleep(0.1)
            time.sleep(0.5)
            rc, j, out, err = fl.cli_json("myndighed-lene", "myndighed", "show", ref)
            c("myndighed-lene: show decrypts and verifies it", rc == 0 and isinstance(j, dict), out_of(rc, out, err))
            if isinstance(j, dict):
                c("show: the document is the one sent", j.get("document") == sent_doc)
                c("show: reference and receipt", j.get("reference") == ref
                  and isinstance(j.get("receipt"), dict) and j["receipt"].get("reference") == ref)
            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "vurder", ref, "--akut", "nej")
            c("myndighed-lene: vurder --akut nej", rc == 0, out_of(rc, out, err))
            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "kvitter", ref, "--besked", KVITTERING)
            c("myndighed-lene: kvitter --besked", rc == 0, out_of(rc, out, err))
            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "tilbagemeld", ref, "--iværksat", "ja",
                                     "--besked", TILBAGEMELDING)
            c("myndighed-lene: tilbagemeld --iværksat ja --besked", rc == 0, out_of(rc, out, err))
            rc, j, out, err = fl.cli_json("leder-thomas", "leder", "overview")
            left = sorted(it.get("kind") for it in (j.get("items", []) if isinstance(j, dict) else [])
                          if it.get("reference") == ref)
            c("overview after vurderet, kvitteret, tilbagemelding: nothing of it is open", rc == 0 and left == [],
              str(left))
            try:
                watch.wait(60)
            except subprocess.TimeoutExpired:
                pass
        finally:
            if watch.poll() is None:
                watch.terminate()
                try:
                    watch.wait(5)
                except subprocess.TimeoutExpired:
                    watch.kill()
                    watch.wait()
        with open(watch_out, encoding="utf-8", errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        pushed = []
        for ln in lines:
            try:
                pushed.append(json.loads(ln))
            except ValueError:
                pass
        kinds = [flowlib_kind(p) for p in pushed if ref in refs_in(p)]
        harness.log(f"     watch: exit {watch.returncode}, {len(lines)} lines, kinds {kinds}")
        c("anna's watch: every line is JSON", len(pushed) == len(lines), f"{lines[:3]}")
        c("anna's watch receives aabnet, vurderet, kvitteret, tilbagemelding for the reference",
          {"aabnet", "vurderet", "kvitteret", "tilbagemelding"} <= set(kinds), str(kinds))
        c("anna's watch exits 0 after --count 4", watch.returncode == 0, f"exit {watch.returncode}")

        rc, j, out, err = fl.cli_json("laerer-anna", "underret", "status", ref)
        c("anna: underret status --json", rc == 0 and isinstance(j, dict), out_of(rc, out, err))
        steps = j.get("steps", []) if isinstance(j, dict) else []
        names = [s.get("step") for s in steps]
        harness.log(f"     status steps: {names}")
        for s in STEPS:
            st = [x for x in steps if x.get("step") == s]
            c(f"status shows step {s} with a verified signature", st and all(x.get("verified") is True for x in st),
              json.dumps(st)[:200])
        c("status: every step verified", steps and all(x.get("verified") is True for x in steps))
        c("status: every step has a time", steps and all(isinstance(x.get("time"), str) for x in steps))
        by = {x.get("step"): x for x in steps}
        c("status: vurderet by role myndighed of team-slagelse",
          by.get("vurderet", {}).get("role") == "myndighed" and by.get("vurderet", {}).get("team") == "team-slagelse",
          json.dumps(by.get("vurderet"))[:200])
        c("status: modtaget by the agent of team-slagelse",
          by.get("modtaget", {}).get("role") == "agent" and by.get("modtaget", {}).get("team") == "team-slagelse",
          json.dumps(by.get("modtaget"))[:200])
        c("status: the decrypted kvittering is exactly the text the worker sent",
          by.get("kvitteret", {}).get("message") == KVITTERING, repr(by.get("kvitteret", {}).get("message")))
        c("status: the decrypted tilbagemelding is exactly the text the worker sent",
          by.get("tilbagemelding", {}).get("message") == TILBAGEMELDING,
          repr(by.get("tilbagemelding", {}).get("message")))
        order = [names.index(s) for s in STEPS if s in names]
        c("status: steps in the order they happened", order == sorted(order), str(names))
        c("status names no person (Lene Sørensen) and no child", "Lene" not in out and "Sofie" not in out)
        rc, out, err = fl.cli_as("laerer-anna", "underret", "status", ref)
        c("anna: status as text shows the kvittering", rc == 0 and KVITTERING in out, out_of(rc, out, err))

        rc, j, out, err = fl.cli_json("laerer-anna", "underret", "list")
        c("anna: underret list shows it", rc == 0 and ref in refs_in(j), out_of(rc, out, err))

        # -- who else sees it --
        rc, out, err = fl.cli_as("laerer-jonas", "underret", "status", ref)
        c("laerer-jonas (another institution): status -> not_found", rc == 1 and "not_found" in err,
          out_of(rc, out, err))
        rc, j, out, err = fl.cli_json("laerer-jonas", "underret", "list")
        c("laerer-jonas: list does not show it", rc == 0 and ref not in refs_in(j), out_of(rc, out, err))
        rc, out, err = fl.cli_as("myndighed-peter", "myndighed", "show", ref)
        c("myndighed-peter (another team): show -> not_found", rc == 1 and "not_found" in err, out_of(rc, out, err))
        rc, out, err = fl.cli_as("myndighed-peter", "underret", "status", ref)
        c("myndighed-peter: status -> not_found", rc == 1 and "not_found" in err, out_of(rc, out, err))
        n_ev = fl.count("events", "reference = ?", ref)
        rc, out, err = fl.cli_as("myndighed-peter", "myndighed", "vurder", ref, "--akut", "ja")
        c("myndighed-peter: vurder is refused (not_found or forbidden)",
          rc == 1 and ("not_found" in err or "forbidden" in err), out_of(rc, out, err))
        c("... and stores no event", fl.count("events", "reference = ?", ref) == n_ev)
        rc, out, err = fl.cli_as("laerer-jonas", "myndighed", "inbox")
        c("laerer-jonas (fagperson): myndighed inbox -> forbidden", rc == 1 and "forbidden" in err,
          out_of(rc, out, err))

        kinds_db = [k for k, _d, _r, _t in fl.events_of(ref)]
        harness.log(f"     stored events: {kinds_db}")
        c("database: one event of each kind",
          sorted(kinds_db) == sorted(["leveret", "modtaget", "journaliseret", "aabnet", "vurderet", "kvitteret",
                                      "tilbagemelding"]), str(kinds_db))
        met = fl.q("SELECT kind FROM deadlines WHERE reference = ? AND met_at IS NOT NULL", ref)
        c("database: vurdering and kvittering deadlines met",
          {"vurdering", "kvittering"} <= {k for (k,) in met}, str(met))

        # -- omdiriger to team-ung --
        doc2 = fl.doc(age=10, extra_text="(omdirigeres)")
        with open(doc2, encoding="utf-8") as f:
            sent2 = json.load(f)
        rc, rec2, out, err = fl.send("laerer-anna", doc2)
        c("anna: a second underretning", rc == 0 and isinstance(rec2, dict), out_of(rc, out, err))
        if isinstance(rec2, dict):
            ref2 = rec2["reference"]
            c("it goes to team-slagelse", rec2.get("team") == "team-slagelse")
            fl.wait_filed("team-slagelse", [ref2], timeout=60)
            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "omdiriger", ref2, "--team", "team-ung")
            c("myndighed-lene: omdiriger --team team-ung", rc == 0, out_of(rc, out, err))
            got = fl.wait_filed("team-ung", [ref2], timeout=60)
            c("team-ung's agent files it", got == {ref2}, f"team-ung has {sorted(fl.filed('team-ung'))}")
            rc, j, out, err = fl.cli_json("myndighed-camilla", "myndighed", "show", ref2)
            c("myndighed-camilla (team-ung) can open it", rc == 0 and isinstance(j, dict)
              and j.get("document") == sent2, out_of(rc, out, err))
            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "show", ref2)
            c("myndighed-lene (team-slagelse) no longer can: not_found", rc == 1 and "not_found" in err,
              out_of(rc, out, err))
            rows = fl.q("SELECT team, first_team FROM underretninger WHERE reference = ?", ref2)
            c("database: team-ung now, team-slagelse first", rows == [("team-ung", "team-slagelse")], str(rows))
            envs = fl.q("SELECT envelope, current_envelope FROM underretninger WHERE reference = ?", ref2)

            def wraps(text):
                return sorted(w.get("device") for w in json.loads(text).get("wraps", [])) if text else []
            first, now = (wraps(envs[0][0]), wraps(envs[0][1])) if envs else ([], [])
            c("sealed to team-slagelse's key and anna's own user key; re-sealed to team-ung's key only",
              first == ["team:team-slagelse:1", "user:laerer-anna:1"] and now == ["team:team-ung:1"],
              f"{first} / {now}")
            rc, j, out, err = fl.cli_json("laerer-anna", "underret", "status", ref2)
            st = [x for x in (j or {}).get("steps", []) if x.get("step") == "omdirigeret"] if isinstance(j, dict) else []
            c("anna's status shows omdirigeret, verified", rc == 0 and st and st[0].get("verified") is True,
              out_of(rc, out, err))
        c("varskod still running", fl.alive("varskod"))
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
    return checks.done()


def flowlib_kind(p):
    """The event kind of a pushed frame (the event object inside it)."""
    if isinstance(p, dict):
        ev = p.get("event")
        if isinstance(ev, dict):
            return ev.get("kind")
        return p.get("kind")
    return None


if __name__ == "__main__":
    sys.exit(main())
