#!/usr/bin/python3
"""The child's and the parents' personal data never appear in clear outside the
two ends.

A fictional child with a CPR number goes through a full round (submit, the
agent files it, the worker opens, assesses, sends a kvittering and a
tilbagemelding, the notifier reads the status). Then the child's name, CPR
number (with and without the dash), address, the parents' names, a marker
in the free text and a marker in the kvittering appear nowhere:
  - in the database file or its -wal, before and after a checkpoint and
    after varskod stopped;
  - in any log (varskod, the agent, mosquitto) or the broker's persistence file;
  - on the MQTT wire (subscribers with the team agent's certificate on the
    team's topics, and with varskod's certificate on the ack topic).
As controls, the same strings are found where they belong: in the file the
agent filed and in the notifier's decrypted status.
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
CPR = "140317-4012"
TEXT_MARK = "Testmarkoer-Hyldebaer-7Q3Z"
KVIT_MARK = "Kvitteringsmarkoer-Solsort-9K2W"


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna", "myndighed-lene"]) as fl:
        fl.setup()
        needles = {
            "child name": flowlib.CHILD_NAME,
            "child surname": "Fiktivsen",
            "CPR": CPR,
            "CPR without dash": CPR.replace("-", ""),
            "child address": "Eksempelvej 1",
            "parent 1": flowlib.PARENT_NAMES[0],
            "parent 2": flowlib.PARENT_NAMES[1],
            "parent phone": "+45 00 00 00 02",
            "free-text marker": TEXT_MARK,
            "kvittering marker": KVIT_MARK,
        }
        enc = {k: v.encode("utf-8") for k, v in needles.items()}

        def scan(label, data, expect_none=True):
            found = [k for k, v in enc.items() if v in data]
            if expect_none:
                c(f"{label}: none of the personal data in clear ({len(data)} bytes)", not found, f"found {found}")
            return found

        def read(p):
            try:
                with open(p, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return b""

        wire = flowlib.MqttSpy(fl, f"agent-{TEAM}", [f"varsko/{flowlib.TENANT}/team/{TEAM}/#"])
        acks = flowlib.MqttSpy(fl, "varskod", [f"varsko/{flowlib.TENANT}/ack"])
        try:
            path = fl.doc(cpr=CPR, extra_text=TEXT_MARK)
            rc, rec, out, err = fl.send("laerer-anna", path)
            if not c("anna submits the fixture child's underretning", rc == 0 and isinstance(rec, dict),
                     out_of(rc, out, err)):
                return checks.done()
            ref = rec["reference"]
            scan("receipt JSON", out.encode())
            c("the agent files it", fl.wait_filed(TEAM, [ref], timeout=60) == {ref})
            rc, j, out, err = fl.cli_json("myndighed-lene", "myndighed", "show", ref)
            c("lene opens it", rc == 0, out_of(rc, out, err))
            c("control: the decrypted document holds the child's name and CPR",
              flowlib.CHILD_NAME in out and CPR in out)
            for args in (("vurder", ref, "--akut", "nej"),
                         ("kvitter", ref, "--besked", f"Modtaget. {KVIT_MARK}"),
                         ("tilbagemeld", ref, "--ivaerksat", "nej", "--besked", "Ingen foranstaltninger.")):
                rc, out, err = fl.cli_as("myndighed-lene", "myndighed", *args)
                c(f"lene: {args[0]}", rc == 0, out_of(rc, out, err))
            rc, j, out, err = fl.cli_json("laerer-anna", "underret", "status", ref)
            c("control: anna's status decrypts the kvittering", rc == 0 and KVIT_MARK in out, out_of(rc, out, err))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
                time.sleep(0.3)
            time.sleep(1.0)
        finally:
            wire.close()
            acks.close()

        filed = read(fl.filed(TEAM).get(ref, "/nonexistent"))
        found = scan("filed document", filed, expect_none=False)
        c("control: the filed document holds every document needle (the search works)",
          set(found) >= set(needles) - {"kvittering marker", "CPR without dash"}, f"found {found}")

        msgs = wire.messages()
        c("the team topic carried the underretning", any(ref.encode() in p for _t, p in msgs),
          f"{len(msgs)} messages")
        for t, p in msgs:
            try:
                j = json.loads(p)
                ok = isinstance(j.get("envelope"), dict) and "ciphertext" in j["envelope"]
            except (ValueError, AttributeError):
                ok = False
            c(f"MQTT {t}: an envelope with ciphertext", ok, p[:120])
        scan(f"MQTT team topic ({len(msgs)} messages)", b"\n".join(p for _t, p in msgs))
        am = acks.messages()
        c("the ack topic carried the agent's events", len(am) >= 2, f"{len(am)} messages")
        scan(f"MQTT ack topic ({len(am)} messages)", b"\n".join(p for _t, p in am))

        db, wal = fl.database, fl.database + "-wal"
        scan("database file (varskod running)", read(db))
        scan("database -wal (varskod running)", read(wal))
        conn = fl.db()
        try:
            r = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            harness.log(f"     wal_checkpoint(TRUNCATE): {r}")
        finally:
            conn.close()
        scan("database file after a checkpoint", read(db))
        scan("database -wal after a checkpoint", read(wal))
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rc = fl.stop_agent(TEAM)
        c("agent exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rc = fl.stop_mosquitto()
        c("mosquitto exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        scan("database file after varskod stopped", read(db))
        scan("database -wal after varskod stopped", read(wal))
        for name, text in sorted(fl.all_logs().items()):
            scan(f"log {name}", text.encode("utf-8"))
        pdir = fl.path("mqtt", "mosquitto")
        for n in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []:
            scan(f"broker persistence {n}", read(os.path.join(pdir, n)))
        for n in ("watch.out",):
            if os.path.exists(fl.path(n)):
                scan(n, read(fl.path(n)))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
