#!/usr/bin/python3
"""The Mosquitto deployment config: TLS only, client certificates, and the ACL.

Starts mosquitto with deploy/mosquitto/mkconf.sh's config and certificates
from certs/mkdev.sh, then checks with paho-mqtt clients that:
  - a client without a certificate, or with one from another CA, is refused;
  - varskod may publish to any team's topic and read acks;
  - an agent receives its own team's notifications and no other team's;
  - an agent gets nothing of another team's, even when it subscribes to
    that team or to the whole tenant, and cannot publish to another team;
  - an agent's ack reaches varskod.
"""

import os
import queue
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

try:
    import paho.mqtt.client as mqtt
except ImportError:
    harness.skip("python3-paho-mqtt is not installed (deploy/install-deps.sh)")

TENANT = "slagelse"
TIMEOUT = 10.0


class Client:
    """A paho client connected with one of the development certificates (name = file stem)."""

    def __init__(self, env, name, cert_dir=None, ca=None, background=True):
        cert_dir = cert_dir or env.certs
        self.msgs = queue.Queue()
        self.subacks = queue.Queue()
        self.connected = queue.Queue()
        self.c = mqtt.Client(client_id=f"test-{name}-{os.getpid()}", protocol=mqtt.MQTTv311,
                             clean_session=True)
        certfile = os.path.join(cert_dir, f"{name}.crt") if name else None
        keyfile = os.path.join(cert_dir, f"{name}.key") if name else None
        self.c.tls_set(ca_certs=ca or env.ca, certfile=certfile, keyfile=keyfile,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.c.on_connect = lambda c, u, flags, rc: self.connected.put(rc)
        self.c.on_message = lambda c, u, m: self.msgs.put((m.topic, m.payload))
        self.c.on_subscribe = lambda c, u, mid, granted: self.subacks.put(granted)
        self.error = None
        try:
            self.c.connect("127.0.0.1", env.mqtt_port, keepalive=30)
        except (OSError, ssl.SSLError) as e:
            self.error = e
            return
        self.background = background
        if background:
            self.c.loop_start()

    def wait_connected(self):
        """The CONNACK code, or None when the connection never came up."""
        if self.error is not None:
            return None
        if not self.background:
            # Drive the client in this thread so a TLS alert after the
            # handshake (TLS 1.3 client-certificate refusal) is caught here.
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and self.connected.empty():
                try:
                    if self.c.loop(0.2) != mqtt.MQTT_ERR_SUCCESS:
                        return None
                except (OSError, ssl.SSLError):
                    return None
        try:
            return self.connected.get(timeout=TIMEOUT)
        except queue.Empty:
            return None

    def subscribe(self, topic):
        """Subscribe at QoS 1; return the granted list from SUBACK (128 = refused)."""
        self.c.subscribe(topic, qos=1)
        return self.subacks.get(timeout=TIMEOUT)

    def publish(self, topic, payload):
        info = self.c.publish(topic, payload, qos=1)
        info.wait_for_publish()
        return info.rc

    def received(self, wait, until=None):
        """Messages received within `wait` seconds; returns early once `until` (a (topic, payload)) arrived."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            try:
                m = self.msgs.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return out
            out.append(m)
            if until is not None and m == until:
                return out

    def close(self):
        if self.error is None:
            try:
                self.c.disconnect()
            except (OSError, ssl.SSLError):
                pass
            if self.background:
                self.c.loop_stop()


def main():
    checks = harness.Checks()
    clients = []
    with harness.Env(gateway=False) as env:
        env.make_certs()
        env.start_mosquitto()
        harness.log(f"mosquitto on 127.0.0.1:{env.mqtt_port}")

        def client(name, **kw):
            c = Client(env, name, **kw)
            clients.append(c)
            return c

        try:
            anon = client(None, background=False)
            checks.check("client without a certificate is refused", anon.wait_connected() != 0,
                         "connected without a client certificate")

            other = os.path.join(env.tmp, "other-ca")
            subprocess.run([os.path.join(harness.SOURCE_ROOT, "certs", "mkdev.sh"), "--quiet", other],
                           check=True, timeout=120)
            foreign = client("varskod", cert_dir=other, background=False)
            checks.check("certificate from another CA is refused", foreign.wait_connected() != 0,
                         "connected with a foreign CA's certificate")

            gw = client("varskod")
            ung = client("agent-team-ung")
            sla = client("agent-team-slagelse")
            for name, c in (("varskod", gw), ("agent-team-ung", ung), ("agent-team-slagelse", sla)):
                checks.check(f"{name} connects with its certificate", c.wait_connected() == 0)

            t_ung = f"varsko/{TENANT}/team/team-ung/underretning"
            t_sla = f"varsko/{TENANT}/team/team-slagelse/underretning"
            t_ack = f"varsko/{TENANT}/ack"
            checks.check("agent-team-ung may subscribe to its team",
                         ung.subscribe(f"varsko/{TENANT}/team/team-ung/#") == (1,))
            checks.check("agent-team-slagelse may subscribe to its team",
                         sla.subscribe(f"varsko/{TENANT}/team/team-slagelse/#") == (1,))
            # Mosquitto 2.0 grants every subscription and applies the read
            # ACL to each delivery: these two must deliver nothing foreign.
            ung.subscribe(f"varsko/{TENANT}/team/team-slagelse/#")
            ung.subscribe(f"varsko/{TENANT}/#")
            checks.check("varskod may subscribe to acks", gw.subscribe(t_ack) == (1,))

            gw.publish(t_ung, b"ref-ung")
            got = ung.received(TIMEOUT, until=(t_ung, b"ref-ung"))
            checks.check("varskod -> team-ung reaches agent-team-ung", (t_ung, b"ref-ung") in got, f"got {got}")

            gw.publish(t_sla, b"ref-sla")
            got = sla.received(TIMEOUT, until=(t_sla, b"ref-sla"))
            checks.check("varskod -> team-slagelse reaches agent-team-slagelse",
                         (t_sla, b"ref-sla") in got, f"got {got}")
            got = ung.received(1.0)
            checks.check("agent-team-ung (subscribed to team-slagelse/# and the tenant) gets nothing of team-slagelse",
                         all(t != t_sla for t, _ in got), f"got {got}")

            ung.publish(t_sla, b"forged")
            got = sla.received(1.5)
            checks.check("agent-team-ung cannot publish to another team's topic",
                         (t_sla, b"forged") not in got, f"got {got}")

            ung.publish(t_ack, b"ack-1")
            got = gw.received(TIMEOUT, until=(t_ack, b"ack-1"))
            checks.check("agent ack reaches varskod", (t_ack, b"ack-1") in got, f"got {got}")

            checks.check("mosquitto is still running", env.alive("mosquitto"))
        finally:
            for c in clients:
                c.close()
        rc = env.stop_mosquitto()
        checks.check("mosquitto stops cleanly on SIGTERM", rc == 0, f"exit {rc}")
        logtext = env.read_log("mosquitto")
        checks.check("mosquitto log has no client address", "127.0.0.1" not in logtext)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
