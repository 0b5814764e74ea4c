#!/usr/bin/env python3
"""Dead letters and the agents' acknowledgements under load (PROTOCOL.md 12.9; issue 13).

  1. With the broker stopped, laerer-anna sends an underretning (the receipt
     comes from the outbox as always); its outbox row is then altered in the
     database (one character of the envelope's signature), as a damaged or
     tampered gateway would publish it. The broker comes back.
  2. team-slagelse's agent refuses it (the envelope signature does not
     verify), files nothing, and publishes a signed refusal with reason
     failed_check. varskod makes the row a dead letter: dead_at set, audited
     as dead_letter, an alert of kind dead_letter on the team's alert topic
     and pushed to leder-thomas's `varsko watch`, `varskoctl outbox dead`
     lists it, /metrics counts it (varsko_outbox_dead_letters,
     varsko_dead_letters_total), the agent's log and metrics file say so.
  3. It is not published again: over three times outbox_backoff_max and a
     broker restart (which rearms every row not done), no new publication
     and no new attempt.
  4. A refusal signed by another team's agent for this underretning, and one
     by a fagperson's device, change nothing (no second dead letter, the
     latter refused and audited as mqtt_refused).
  5. The row is repaired in the database and `varskoctl outbox retry REF`
     brings it back: published again, filed by the agent, acknowledged;
     audited as outbox_retry; retry of it again is not_found.
  6. Acknowledgements never refused: with the agent stopped and the database
     held by a writer for 3 s (so varskod's store worker stalls), a burst of
     N copies of the agent's signed modtaget arrives on the ack topic; every
     one is applied (varsko_mqtt_acks_total{result="ok"} grows by N,
     {result="refused"} by 0) and varskod's log has no rate_limited.
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of, wait_for as wait  # noqa: E402

TEAM = "team-slagelse"
LEDER = "leder-thomas"
ANNA = "laerer-anna"
BURST = 2000


def sign_refusal(sk, reference, device, t, reason):
    """A REFUSAL object (PROTOCOL.md 12.9), signed with sk."""
    from nacl import bindings as nb
    si = (flowlib.field(b"varsko-refusal-v1") + flowlib.u64(1) + flowlib.field(reference) + flowlib.field(device) +
          flowlib.i64(t) + flowlib.field(reason))
    return {"device": device, "reason": reason, "reference": reference, "sig": flowlib.b64(nb.crypto_sign(si, sk)[:64]),
            "time": flowlib.tm(t), "version": 1}


def metric(fl, name, **labels):
    """One sample of varskod's /metrics (0 when absent)."""
    status, body = fl.admin_get("/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    lab = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    m = re.search(r"^" + re.escape(name + (f"{{{lab}}}" if lab else "")) + r" (\S+)$", body, re.M)
    return float(m.group(1)) if m else 0.0


def underretninger_of(spy, ref):
    return [p for t, p in spy.messages() if t.endswith("/underretning") and json.loads(p).get("reference") == ref]


def alerts_of(spy, ref):
    out = []
    for t, p in spy.messages():
        if t.endswith("/alert"):
            a = json.loads(p)
            if a.get("reference") == ref and a.get("kind") == "dead_letter":
                out.append(a)
    return out


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[TEAM], users=[ANNA, LEDER], backoff_first=1, backoff_max=3) as fl:
        fl.setup()
        topic = f"varsko/{flowlib.TENANT}/team/{TEAM}/#"
        ack_topic = f"varsko/{flowlib.TENANT}/ack"

        # -- 1. an underretning whose published form is damaged --
        fl.stop_mosquitto()
        rc, rcpt, out, err = fl.send(ANNA, fl.doc())
        c("the underretning gets its receipt with the broker down", rc == 0 and rcpt, out_of(rc, out, err))
        ref = (rcpt or {}).get("reference", "")
        # The row keeps the message without its envelope, whose text belongs at byte envelope_at (schema 13);
        # the damaged and the repaired forms below are whole payloads (envelope_at NULL), as older rows are.
        ((skel, at, env),) = fl.q("SELECT CAST(o.payload AS BLOB), o.envelope_at, u.envelope FROM outbox o"
                                  " JOIN underretninger u USING (reference)"
                                  " WHERE o.reference = ? AND o.needs_ack = 1", ref) or [(b"{}", 0, "")]
        c("the outbox row keeps the message without the envelope, which is stored once",
          at is not None and env.encode() not in bytes(skel), f"envelope_at {at}")
        payload = (bytes(skel)[:at] + env.encode() + bytes(skel)[at:]).decode() if at else bytes(skel).decode()
        good = json.loads(payload)
        bad = json.loads(payload)
        sig = bad["envelope"]["sig"]
        bad["envelope"]["sig"] = ("B" if sig[0] != "B" else "C") + sig[1:]
        with fl.db() as db:
            db.execute("UPDATE outbox SET payload = ?, envelope_at = NULL WHERE reference = ? AND needs_ack = 1",
                       (json.dumps(bad, sort_keys=True, separators=(",", ":")), ref))

        wenv = dict(os.environ, VARSKO_HOME=fl.homes[LEDER], HOME=fl.tmp)
        wenv.pop("VARSKO_CA", None)
        watch_out = fl.path("watch.out")
        with open(watch_out, "wb") as wo, open(fl.path("watch.err"), "wb") as we:
            watch = subprocess.Popen([fl.cli_bin, "watch", "--timeout", "150"], stdout=wo, stderr=we,
                                     stdin=subprocess.DEVNULL, env=wenv, start_new_session=True)
        fl.restart_mosquitto()
        spy = flowlib.MqttSpy(fl, f"agent-{TEAM}", [topic])
        try:
            # -- 2. refused by the agent, a dead letter at varskod --
            dead = wait(lambda: fl.q("SELECT dead_at, dead_reason FROM outbox WHERE reference = ? AND needs_ack = 1"
                                     " AND dead_at IS NOT NULL", ref), 90)
            c("the agent's refusal makes the row a dead letter (reason failed_check)",
              bool(dead) and dead[0][1] == "failed_check", f"{dead}; agent log: {fl.read_log('agent-' + TEAM)[-600:]}")
            c("the agent filed nothing", ref not in fl.filed(TEAM), str(fl.case_entries(TEAM)))
            alog = fl.read_log(f"agent-{TEAM}")
            c("the agent's log: refused, and reported as failed_check",
              f"{ref}: refused:" in alog and f"{ref}: reported to varskod as refused (failed_check)" in alog, alog[-600:])
            c("audited as dead_letter with team and reason",
              fl.count("audit", "event = 'dead_letter' AND detail = ?",
                       f"ref={ref} team={TEAM} reason=failed_check") == 1)
            alerts = wait(lambda: alerts_of(spy, ref), 20)
            c("an alert of kind dead_letter on the team's alert topic",
              len(alerts) == 1 and alerts[0].get("kind") == "dead_letter" and alerts[0].get("team") == TEAM,
              str(alerts))

            def watched():
                with open(watch_out, encoding="utf-8", errors="replace") as f:
                    return [json.loads(ln) for ln in f.read().splitlines() if ln.strip().startswith("{")]
            seen = wait(lambda: [p for p in watched() if p.get("type") == "alert" and p.get("reference") == ref], 20)
            c("leder-thomas's varsko watch receives the dead_letter alert",
              len(seen) == 1 and seen[0].get("kind") == "dead_letter", str(watched())[:400])
            rc, out, err = fl.ctl("outbox", "dead", "--json")
            listed = json.loads(out) if rc == 0 else []
            c("varskoctl outbox dead --json lists it",
              rc == 0 and [(d["reference"], d["team"], d["reason"]) for d in listed] == [(ref, TEAM, "failed_check")],
              out_of(rc, out, err))
            # The gauge comes from the store probe, at most about 2 s old.
            c("/metrics: varsko_outbox_dead_letters 1, varsko_dead_letters_total 1",
              wait(lambda: metric(fl, "varsko_outbox_dead_letters") == 1, 10) and
              metric(fl, "varsko_dead_letters_total") == 1,
              f"{metric(fl, 'varsko_outbox_dead_letters')}, {metric(fl, 'varsko_dead_letters_total')}")

            # -- 3. not published again --
            n_pub = len(underretninger_of(spy, ref))
            ((attempts,),) = fl.q("SELECT attempts FROM outbox WHERE reference = ? AND needs_ack = 1", ref)
            time.sleep(3 * 3 + 2)
            fl.stop_mosquitto()
            spy.close()
            fl.restart_mosquitto()
            spy = flowlib.MqttSpy(fl, f"agent-{TEAM}", [topic])
            time.sleep(6)
            ((attempts2,),) = fl.q("SELECT attempts FROM outbox WHERE reference = ? AND needs_ack = 1", ref)
            c("not published again: no new attempt over 3x backoff_max and a broker restart",
              n_pub >= 1 and attempts2 == attempts and underretninger_of(spy, ref) == [],
              f"published {n_pub} before; attempts {attempts} -> {attempts2}; after: {len(underretninger_of(spy, ref))}")

            # -- 4. refusals that must not count --
            ung, anna = fl.device("agent-team-ung"), fl.device(ANNA)
            fl.stop_agent(TEAM)  # the forger below uses an agent certificate: not the running agent's
            refused0 = fl.count("audit", "event = 'mqtt_refused'")
            forger = flowlib.MqttSpy(fl, "agent-team-ung", [], own=True)
            try:
                now = int(time.time())
                for dev in (ung, anna):
                    forger.publish(ack_topic, json.dumps(
                        {"type": "refusal", "refusal": sign_refusal(dev.sign_sk, ref, dev.id, now, "cannot_open"),
                         "cert": dev.cert}, separators=(",", ":")).encode())
            finally:
                forger.close()
            wait(lambda: fl.count("audit", "event = 'mqtt_refused'") > refused0, 10)
            time.sleep(1)
            c("another team's agent's refusal changes nothing; a fagperson's is refused (audited mqtt_refused)",
              fl.count("audit", "event = 'dead_letter'") == 1 and
              fl.count("audit", "event = 'mqtt_refused'") == refused0 + 1 and
              fl.count("outbox", "reference = ? AND dead_at IS NOT NULL", ref) == 1,
              f"mqtt_refused {refused0} -> {fl.count('audit', 'event = ?', 'mqtt_refused')}")
            fl.start_agent(TEAM)

            # -- 5. repaired, and back on the operator's command --
            with fl.db() as db:
                db.execute("UPDATE outbox SET payload = ?, envelope_at = NULL WHERE reference = ? AND needs_ack = 1",
                           (json.dumps(good, sort_keys=True, separators=(",", ":")), ref))
            rc, out, err = fl.ctl("outbox", "retry", ref)
            c("varskoctl outbox retry REF succeeds", rc == 0, out_of(rc, out, err))
            c("the agent files it after the retry", fl.wait_filed(TEAM, [ref], timeout=60) == {ref},
              fl.read_log(f"agent-{TEAM}")[-500:])
            done = wait(lambda: fl.count("outbox", "reference = ? AND needs_ack = 1 AND done_at IS NOT NULL"
                                         " AND dead_at IS NULL", ref) == 1, 30)
            c("acknowledged: the row is done and no longer dead", done)
            c("audited as outbox_retry", fl.count("audit", "event = 'outbox_retry' AND detail = ?", f"ref={ref}") == 1)
            rc, out, err = fl.ctl("outbox", "retry", ref)
            c("a second retry: no dead letter (not_found)", rc == 1 and "not_found" in err, out_of(rc, out, err))
            c("/metrics: varsko_outbox_dead_letters back to 0", wait(lambda: metric(
                fl, "varsko_outbox_dead_letters") == 0, 10))
        finally:
            spy.close()
            if watch.poll() is None:
                watch.terminate()
            watch.wait(10)

        # -- 6. a burst of acknowledgements while the store is held --
        agent = fl.device(f"agent-{TEAM}")
        ev = flowlib.sign_event(agent.sign_sk, ref, "modtaget", agent.id, int(time.time()))
        msg = json.dumps({"type": "event", "event": ev, "cert": agent.cert}, separators=(",", ":")).encode()
        fl.stop_agent(TEAM)
        ok0 = metric(fl, "varsko_mqtt_acks_total", result="ok")
        bad0 = metric(fl, "varsko_mqtt_acks_total", result="refused")
        commits0 = metric(fl, "varsko_store_commit_batch_size_count")
        jobs0 = metric(fl, "varsko_store_commit_batch_size_sum")
        held = threading.Event()

        def hold():
            db = sqlite3.connect(fl.database, timeout=10, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(3)
            db.execute("ROLLBACK")
            db.close()
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(10)
        burst = flowlib.MqttSpy(fl, f"agent-{TEAM}", [], own=True)
        try:
            t0 = time.monotonic()
            infos = [burst.c.publish(ack_topic, msg, qos=1) for _ in range(BURST)]
            for i in infos:
                i.wait_for_publish()
            harness.log(f"     {BURST} acknowledgements published in {time.monotonic() - t0:.1f} s")
        finally:
            burst.close()
        holder.join()
        wait(lambda: metric(fl, "varsko_mqtt_acks_total", result="ok") + metric(
            fl, "varsko_mqtt_acks_total", result="refused") >= ok0 + bad0 + BURST, 60)
        ok1 = metric(fl, "varsko_mqtt_acks_total", result="ok")
        bad1 = metric(fl, "varsko_mqtt_acks_total", result="refused")
        vlog = fl.read_log("varskod")
        c(f"a burst of {BURST} acknowledgements while the store is held: every one applied, none refused",
          ok1 - ok0 == BURST and bad1 == bad0 and "rate_limited" not in vlog,
          f"ok +{ok1 - ok0}, refused +{bad1 - bad0}, rate_limited in log: {'rate_limited' in vlog}")
        commits = metric(fl, "varsko_store_commit_batch_size_count") - commits0
        jobs = metric(fl, "varsko_store_commit_batch_size_sum") - jobs0
        harness.log(f"     the burst's acknowledgements: {jobs:.0f} in {commits:.0f} group commits")
        c("the acknowledgements share group commits (one fdatasync for many)",
          jobs >= BURST and commits <= BURST / 8, f"{jobs:.0f} jobs in {commits:.0f} commits")
        c("varskod still running", fl.alive("varskod"))
    checks.done()


if __name__ == "__main__":
    main()
