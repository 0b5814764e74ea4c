#!/usr/bin/python3
"""The deadline engine of varskod with a controlled clock (issue 4).

Real Mosquitto, real varskod, the real CLI (flowlib.Flow). laerer-anna sends
two underretninger with `varsko underret send`; myndighed-lene assesses the
second one in time (`varsko myndighed vurder`), nobody assesses the first.
Then varskod runs under libfaketime, always moved forward (the certificates
were made at real time), with the offsets computed from the first
underretning's stored deadlines:

  1. restarted 15 s before the vurdering warning (received + 20 h): nothing
     on MQTT before warn_at; then exactly one `warning` on
     varsko/slagelse/team/team-slagelse/frist (listened to with the team
     agent's certificate), recorded at or after warn_at, and the same frist
     frame reaches leder-thomas's `varsko watch` (also under faketime, so
     its login time agrees with the server's);
  2. restarted at received + 24 h 05 min (the deadline passed while varskod
     was down): exactly one `escalation`, no second warning;
  3. restarted at received + 24 h 10 min: nothing new.

The assessed underretning gets neither warning nor escalation; the payloads
hold the reference, kind, deadline and due time and nothing else; the
database holds exactly one warned_at and one escalated_at, and the audit log
one entry of each.
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

TOPIC = f"varsko/{flowlib.TENANT}/team/team-slagelse/frist"
LEAD = 15  # seconds between varskod's start and the warning in phase 1


def faked(offset):
    """flowlib.faketime_env, plus what AddressSanitizer needs to run under LD_PRELOAD."""
    env = flowlib.faketime_env(offset)
    asan = os.environ.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "verify_asan_link_order=0"
    return env


def frist_messages(spy):
    out = []
    for topic, payload in spy.messages():
        try:
            out.append((topic, json.loads(payload)))
        except ValueError:
            out.append((topic, {"unparseable": payload[:80].decode("utf-8", "replace")}))
    return out


def wait_messages(spy, n, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(spy.messages()) < n:
        time.sleep(0.2)
    return frist_messages(spy)


STOPS = []  # varskod's exit status at every restart (0: clean, also under the sanitizers)


def restart(fl, at_unix):
    """Stop varskod and start it again with its clock at about `at_unix` (faked)."""
    STOPS.append(fl.stop_varskod())
    offset = int(at_unix - time.time())
    env = faked(offset)
    fl.start_varskod(env=env)
    return offset, env


def main():
    checks = harness.Checks()
    c = checks.check
    users = ["laerer-anna", "myndighed-lene", "leder-thomas"]
    with flowlib.Flow(agents=[], users=users) as fl:
        fl.setup()
        spy = flowlib.MqttSpy(fl, "agent-team-slagelse", [TOPIC])
        watch = None
        try:
            # -- two underretninger at real time --
            rc, rec1, out, err = fl.send("laerer-anna", fl.doc(age=9, akut=False, handicap=False, extra_text="en"))
            if not c("anna sends the first underretning", rc == 0 and isinstance(rec1, dict), out_of(rc, out, err)):
                return checks.done()
            rc, rec2, out, err = fl.send("laerer-anna", fl.doc(age=9, akut=False, handicap=False, extra_text="to"))
            if not c("anna sends the second underretning", rc == 0 and isinstance(rec2, dict), out_of(rc, out, err)):
                return checks.done()
            ref1, ref2 = rec1["reference"], rec2["reference"]
            c("both go to team-slagelse", rec1.get("team") == "team-slagelse" and rec2.get("team") == "team-slagelse",
              f"{rec1.get('team')} {rec2.get('team')}")
            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "show", ref2)
            c("myndighed-lene opens the second", rc == 0, out_of(rc, out, err))
            rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "vurder", ref2, "--akut", "nej")
            c("myndighed-lene assesses the second in time", rc == 0, out_of(rc, out, err))

            rows = fl.q("SELECT kind, due_at, warn_at, met_at FROM deadlines WHERE reference = ?", ref1)
            dl = {k: (due, warn, met) for k, due, warn, met in rows}
            received = fl.q("SELECT received_at FROM underretninger WHERE reference = ?", ref1)[0][0]
            c("the first has vurdering, kvittering and tilbagemelding deadlines",
              set(dl) == {"vurdering", "kvittering", "tilbagemelding"}, str(sorted(dl)))
            v_due, v_warn, _ = dl["vurdering"]
            c("vurdering: due 24 h after receipt, warned 4 h before (the defaults)",
              v_due == received + 86400 and v_warn == v_due - 4 * 3600, f"received {received} due {v_due} warn {v_warn}")
            met2 = fl.q("SELECT met_at FROM deadlines WHERE reference = ? AND kind = 'vurdering'", ref2)
            c("the second's vurdering is met", bool(met2) and met2[0][0] is not None, str(met2))
            c("nothing on the frist topic at real time", frist_messages(spy) == [], str(frist_messages(spy)))

            # -- phase 1: 15 s before the warning, with leder-thomas watching --
            off1, env1 = restart(fl, v_warn - LEAD)
            harness.log(f"     phase 1: varskod at +{off1} s (warning due in about {LEAD} s)")
            wenv = dict(os.environ)
            wenv.update({"VARSKO_HOME": fl.homes["leder-thomas"], "HOME": fl.tmp})
            wenv.pop("VARSKO_CA", None)
            wenv.update(env1)
            watch_out, watch_err = fl.path("watch.out"), fl.path("watch.err")
            with open(watch_out, "wb") as wo, open(watch_err, "wb") as we:
                watch = subprocess.Popen([fl.cli_bin, "watch", "--count", "1", "--timeout", "60"], stdout=wo,
                                         stderr=we, stdin=subprocess.DEVNULL, env=wenv, start_new_session=True)
            time.sleep(LEAD - 8)
            early = frist_messages(spy)
            c("phase 1: nothing before warn_at", early == [], str(early))
            c("phase 1: no warning recorded before warn_at",
              fl.q("SELECT count(*) FROM deadlines WHERE warned_at IS NOT NULL")[0][0] == 0)
            msgs = wait_messages(spy, 1, 40)
            time.sleep(4)  # anything extra would arrive now
            msgs = frist_messages(spy)
            want_w = {"type": "frist", "reference": ref1, "kind": "warning", "deadline": "vurdering",
                      "due": flowlib.tm(v_due)}
            c("phase 1: exactly one message on the frist topic", len(msgs) == 1, str(msgs))
            c("phase 1: it is the vurdering warning of the first, with nothing else in it",
              bool(msgs) and msgs[0] == (TOPIC, want_w), str(msgs[:1]))
            warned = fl.q("SELECT reference, kind, warned_at FROM deadlines WHERE warned_at IS NOT NULL")
            c("phase 1: one warned_at in the database, the first's vurdering", len(warned) == 1
              and warned[0][:2] == (ref1, "vurdering"), str(warned))
            if warned:
                c("phase 1: recorded at warn_at or after it (never early), and promptly",
                  v_warn <= warned[0][2] <= v_warn + 10, f"warn_at {v_warn}, warned_at {warned[0][2]}")
            try:
                watch.wait(30)
            except subprocess.TimeoutExpired:
                pass
            with open(watch_out, encoding="utf-8", errors="replace") as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
            pushed = []
            for ln in lines:
                try:
                    pushed.append(json.loads(ln))
                except ValueError:
                    pass
            fr = [p for p in pushed if isinstance(p, dict) and p.get("type") == "frist"]
            with open(watch_err, encoding="utf-8", errors="replace") as f:
                werr = f.read()
            c("phase 1: leder-thomas's watch receives the frist frame",
              len(fr) == 1 and all(fr[0].get(k) == v for k, v in want_w.items()),
              f"exit {watch.returncode}, lines {lines[:3]}, stderr {werr.strip()[:300]!r}")
            c("phase 1: the watch exits 0 after --count 1", watch.returncode == 0, f"exit {watch.returncode}")

            # -- phase 2: the deadline passed while varskod was down --
            off2, _ = restart(fl, received + 24 * 3600 + 300)
            harness.log(f"     phase 2: varskod at +{off2} s (24 h 05 min after receipt)")
            wait_messages(spy, 2, 30)
            time.sleep(5)
            msgs = frist_messages(spy)
            want_e = dict(want_w, kind="escalation")
            c("phase 2: exactly one new message", len(msgs) == 2, str(msgs))
            c("phase 2: it is the escalation of the first's vurdering", len(msgs) >= 2 and msgs[1] == (TOPIC, want_e),
              str(msgs[1:]))
            esc = fl.q("SELECT reference, kind, escalated_at FROM deadlines WHERE escalated_at IS NOT NULL")
            c("phase 2: one escalated_at, after due_at", len(esc) == 1 and esc[0][:2] == (ref1, "vurdering")
              and esc[0][2] > v_due, str(esc))

            # -- phase 3: again later: nothing new --
            off3, _ = restart(fl, received + 24 * 3600 + 600)
            harness.log(f"     phase 3: varskod at +{off3} s (24 h 10 min after receipt)")
            time.sleep(8)
            msgs = frist_messages(spy)
            c("phase 3: nothing new after another restart", len(msgs) == 2, str(msgs[2:]))
            c("the assessed underretning got neither warning nor escalation",
              all(m.get("reference") != ref2 for _t, m in msgs)
              and fl.q("SELECT count(*) FROM deadlines WHERE reference = ? AND (warned_at IS NOT NULL OR"
                       " escalated_at IS NOT NULL)", ref2)[0][0] == 0)
            rows = fl.q("SELECT count(*), sum(done_at IS NOT NULL), sum(needs_ack) FROM outbox WHERE topic = ?", TOPIC)
            c("the outbox holds two frist rows, both published (PUBACK), needing no ack", rows == [(2, 2, 0)], str(rows))
            a = dict(fl.q("SELECT event, count(*) FROM audit WHERE event IN ('deadline_warning', 'deadline_escalation')"
                          " GROUP BY event"))
            c("the audit log has one deadline_warning and one deadline_escalation",
              a == {"deadline_warning": 1, "deadline_escalation": 1}, str(a))
            rc, out, err = fl.ctl("audit", "verify")
            c("the audit chain verifies", rc == 0, out_of(rc, out, err))
            STOPS.append(fl.stop_varskod())
            c("varskod stopped cleanly (exit 0) every time", STOPS == [0] * len(STOPS), str(STOPS))
            log = fl.read_log("varskod")
            c("varskod logs no personal data of the documents",
              all(n not in log for n in [flowlib.CHILD_NAME] + flowlib.PARENT_NAMES))
        finally:
            if watch is not None and watch.poll() is None:
                watch.terminate()
                try:
                    watch.wait(5)
                except subprocess.TimeoutExpired:
                    watch.kill()
                    watch.wait()
            spy.close()
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
