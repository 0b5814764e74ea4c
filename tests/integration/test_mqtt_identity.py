#!/usr/bin/env python3
"""The broker names each session after its certificate, and speaks only AEAD TLS (issue 13).

deploy/mosquitto/mkconf.sh sets use_username_as_clientid (the client id is
the certificate's CN) and AEAD-only TLS 1.2 suites. With the real varskod and
team-slagelse's agent running (republication backoff 600 s, so nothing is
published twice during the test):

  1. TLS 1.2 with every ECDHE-ECDSA CBC suite (the dev certificates are EC)
     is refused by the broker; AES-GCM and ChaCha20-Poly1305 are accepted,
     and so is TLS 1.3.
  2. The agent is stopped and an underretning sent: published once, it waits
     in the agent's persistent session at the broker.
  3. An attacker holding team-ung's agent certificate connects 8 times each
     asking for client ids "varskod", "varskod-slagelse" and
     "agent-team-slagelse", with a clean session, and stays connected a
     moment each time. varskod stays connected (no disconnect in its log,
     varsko_mqtt_connected 1), and the attacker's clean sessions never wipe
     the agent's queue.
  4. The agent comes back: it files the queued underretning from its
     resumed session (there was exactly one publication), and acknowledges
     it; then a second underretning flows end to end while the attacker is
     connected again, and the agent stays connected throughout.
  5. varskod restarted resumes its own persistent session (session present).
"""
import os
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

TEAM = "team-slagelse"
ATTACKER = "agent-team-ung"  # its certificate, not its session
IDS = ["varskod", f"varskod-{flowlib.TENANT}", f"agent-{TEAM}"]
CBC = ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
       "ECDHE-ECDSA-AES256-SHA384"]
AEAD = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]


def s_client(fl, *args):
    """openssl s_client against the broker with a client certificate; the negotiated cipher or None."""
    name = harness.SPY_PREFIX + f"agent-{TEAM}"
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{fl.mqtt_port}", "-CAfile", fl.ca,
                        "-cert", os.path.join(fl.certs, f"{name}.crt"), "-key", os.path.join(fl.certs, f"{name}.key"),
                        *args], input=b"", capture_output=True, timeout=20)
    for ln in r.stdout.decode("utf-8", "replace").splitlines():
        if ", Cipher is " in ln:
            c = ln.split(", Cipher is ", 1)[1].strip()
            return None if c == "(NONE)" else c
    return None


def attack(fl, client_id, hold=0.5):
    """One connection with the attacker's certificate asking for client_id (clean session); its CONNACK rc."""
    import paho.mqtt.client as mqtt
    got = []
    done = threading.Event()

    def on_connect(c, u, flags, rc):
        got.append(rc)
        done.set()
    c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311, clean_session=True)
    c.tls_set(ca_certs=fl.ca, certfile=os.path.join(fl.certs, f"{ATTACKER}.crt"),
              keyfile=os.path.join(fl.certs, f"{ATTACKER}.key"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    c.on_connect = on_connect
    c.connect("127.0.0.1", fl.mqtt_port, keepalive=30)
    c.loop_start()
    done.wait(10)
    time.sleep(hold)
    c.disconnect()
    c.loop_stop()
    return got[0] if got else None


def varskod_connected(fl):
    status, body = fl.admin_get("/metrics")
    return status == 200 and "\nvarsko_mqtt_connected 1\n" in body


def main():
    checks = harness.Checks()
    c = checks.check
    if subprocess.run(["openssl", "version"], capture_output=True).returncode != 0:
        harness.skip("openssl is not installed")
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna"], backoff_first=600, backoff_max=600) as fl:
        fl.setup()

        # -- 1. TLS suites --
        for s in CBC:
            got = s_client(fl, "-tls1_2", "-cipher", s)
            c(f"TLS 1.2 {s} (CBC) is refused", got is None, f"negotiated {got}")
        for s in AEAD:
            got = s_client(fl, "-tls1_2", "-cipher", s)
            c(f"TLS 1.2 {s} is accepted", got == s, f"negotiated {got}")
        got = s_client(fl, "-tls1_3")
        c("TLS 1.3 is accepted", got is not None and got.startswith("TLS_"), f"negotiated {got}")

        # -- 2. an underretning waiting in the agent's session --
        fl.stop_agent(TEAM)
        rc, rcpt, out, err = fl.send("laerer-anna", fl.doc())
        ref1 = (rcpt or {}).get("reference", "")
        c("an underretning sent while the agent is away", rc == 0 and ref1, out_of(rc, out, err))
        c("published once (PUBACK: leveret stored)", bool(flowlib.wait_for(
            lambda: fl.count("events", "reference = ? AND kind = 'leveret'", ref1) == 1, 30)))

        # -- 3. the attack --
        vlog0 = len(fl.read_log("varskod"))
        rcs = []
        for _ in range(8):
            for cid in IDS:
                rcs.append(attack(fl, cid))
        c(f"the attacker's {len(rcs)} connections are let in (as {ATTACKER}: its own session)",
          rcs == [0] * len(rcs), str(rcs))
        vlog = fl.read_log("varskod")[vlog0:]
        c("varskod is never knocked off the broker", "mqtt: disconnected" not in vlog and varskod_connected(fl),
          vlog[-600:])

        # -- 4. the queue survived; the flow goes on --
        alog0 = len(fl.read_log(f"agent-{TEAM}"))
        fl.start_agent(TEAM)
        c("the agent files the underretning queued in its resumed session",
          fl.wait_filed(TEAM, [ref1], timeout=30) == {ref1}, fl.read_log(f"agent-{TEAM}")[alog0:][-600:])
        ((attempts,),) = fl.q("SELECT attempts FROM outbox WHERE reference = ? AND needs_ack = 1", ref1)
        c("from the broker's queue, not a republication (one attempt)", attempts == 1, f"attempts {attempts}")
        c("and acknowledges it", bool(flowlib.wait_for(lambda: fl.count(
            "outbox", "reference = ? AND needs_ack = 1 AND done_at IS NOT NULL", ref1) == 1, 30)))

        stop = threading.Event()

        def keep_attacking():
            while not stop.is_set():
                for cid in IDS:
                    attack(fl, cid, hold=0.2)
        t = threading.Thread(target=keep_attacking)
        t.start()
        try:
            rc, rcpt, out, err = fl.send("laerer-anna", fl.doc())
            ref2 = (rcpt or {}).get("reference", "")
            c("a second underretning, sent during the attack, is filed",
              rc == 0 and fl.wait_filed(TEAM, [ref2], timeout=30) == {ref2}, out_of(rc, out, err))
            c("and acknowledged", bool(flowlib.wait_for(lambda: fl.count(
                "outbox", "reference = ? AND needs_ack = 1 AND done_at IS NOT NULL", ref2) == 1, 30)))
        finally:
            stop.set()
            t.join()
        alog = fl.read_log(f"agent-{TEAM}")[alog0:]
        c("the agent was never disconnected", "disconnected" not in alog, alog[-600:])
        vlog = fl.read_log("varskod")[vlog0:]
        c("varskod was never disconnected", "mqtt: disconnected" not in vlog and varskod_connected(fl), vlog[-600:])

        # -- 5. varskod's own persistent session resumes under its certificate's name --
        n0 = len(fl.read_log("varskod"))
        fl.stop_varskod()
        fl.start_varskod()
        resumed = flowlib.wait_for(
            lambda: "mqtt: connected as varskod (resumed session)" in fl.read_log("varskod")[n0:], 30)
        c("varskod's persistent session resumes after its restart (session present)", resumed,
          fl.read_log("varskod")[n0:][-600:])
    checks.done()


if __name__ == "__main__":
    main()
