#!/usr/bin/python3
"""Nobody to read it (issue 11, Must 5; PROTOCOL.md 12.3, 12.7, 12.9).

With real varskod, Mosquitto and the C CLI on the key model: team-slagelse
has its leder (leder-thomas) and its agent enrolled, but no caseworker
(myndighed). laerer-anna sends an underretning that routes there:
  - `varsko underret send` tells her in Danish that no caseworker has an
    active device, that the case system has it and that the leders are
    warned; --json says "no_reader": true;
  - leder-thomas's `varsko watch` gets the `alert` push for that reference;
  - the alert is published on varsko/slagelse/team/team-slagelse/alert;
  - varskod's log warns the operator, and the audit log has "no_reader".
Then myndighed-lene enrolls: the next underretning says nothing of the kind,
and no second alert is published or pushed.
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

TOPIC = "varsko/slagelse/team/team-slagelse/alert"
NOTICE = "Ingen sagsbehandler i"


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=["team-slagelse"], users=["laerer-anna"]) as fl:
        fl.setup()
        spy = flowlib.MqttSpy(fl, "agent-team-slagelse", [TOPIC])
        try:
            # leder-thomas watches (enrolled by setup for the team's chain and key)
            wout, werr = fl.path("watch.out"), fl.path("watch.err")
            with open(wout, "wb") as wo, open(werr, "wb") as we:
                env = dict(os.environ, VARSKO_HOME=fl.homes["leder-thomas"])
                watch = subprocess.Popen([fl.cli_bin, "watch", "--count", "2", "--timeout", "60"], stdout=wo,
                                         stderr=we, env=env)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and "venter" not in open(werr, encoding="utf-8").read():
                time.sleep(0.1)

            # 1. nobody to read it: the Danish notice on a plain send
            path = fl.doc(age=9, extra_text="(ingen læser)")
            rc, out, err = fl.cli_as("laerer-anna", "underret", "send", path)
            c("send exits 0", rc == 0, out_of(rc, out, err))
            ref = next((w.strip(".") for line in out.splitlines() if line.startswith("Underretning sendt")
                        for w in line.split() if w.startswith("U-")), None)
            c("the reference is printed", ref is not None, out)
            c("the notifier is told that nobody in the team can read it now", NOTICE in out, out)
            c("... that the case system has it and the leders are warned",
              "Sagssystemet har modtaget underretningen" in out and "ledere bliver varslet" in out, out)

            try:
                watch.wait(30)
            except subprocess.TimeoutExpired:
                watch.kill()
                watch.wait()
            frames = []
            for line in open(wout, encoding="utf-8", errors="replace").read().splitlines():
                try:
                    frames.append(json.loads(line))
                except ValueError:
                    pass
            alerts = [f for f in frames if f.get("type") == "alert"]
            c("leder-thomas's watch gets the alert push",
              [(a.get("kind"), a.get("reference"), a.get("team")) for a in alerts] ==
              [("no_reader", ref, "team-slagelse")], json.dumps(frames)[:600])
            c("... next to the new_underretning push",
              any(f.get("type") == "new_underretning" for f in frames), json.dumps(frames)[:600])

            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not spy.messages():
                time.sleep(0.2)
            msgs = [json.loads(p) for _t, p in spy.messages()]
            c("the alert is published to the team's alert topic",
              [(m.get("type"), m.get("kind"), m.get("reference"), m.get("akut")) for m in msgs] ==
              [("alert", "no_reader", ref, False)], str(msgs))

            log = fl.read_log("varskod")
            c("varskod warns the operator in its log",
              f"{ref} went to team team-slagelse, where no myndighed has an active device" in log, log[-800:])
            rows = fl.q("SELECT detail FROM audit WHERE event = 'no_reader'")
            c("the audit log has it", rows == [(f"ref={ref} team=team-slagelse",)], str(rows))

            # --json says so as well (a second, distinct document)
            rc, rec, out, err = fl.send("laerer-anna", fl.doc(age=9, extra_text="(json)"))
            c("--json: no_reader is true", rc == 0 and rec is not None and rec.get("no_reader") is True,
              out_of(rc, out, err))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and len(spy.messages()) < 2:
                time.sleep(0.2)

            # 2. a caseworker enrolls: the team has a reader again
            fl.enroll("myndighed-lene")
            rc, out, err = fl.cli_as("laerer-anna", "underret", "send", fl.doc(age=9, extra_text="(lene)"))
            c("with myndighed-lene enrolled the send says nothing of the kind",
              rc == 0 and NOTICE not in out and "Underretning sendt" in out, out_of(rc, out, err))
            time.sleep(2)
            n_alerts = len(spy.messages())
            c("no further alert is published", n_alerts == 2, str(spy.messages()))
            rows = fl.q("SELECT count(*) FROM audit WHERE event = 'no_reader'")
            c("and none audited", rows == [(2,)], str(rows))
        finally:
            spy.close()
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
