#!/usr/bin/python3
"""puback-withheld (TESTING.md): a broker that never sends PUBACK, then varskod is killed.

A fake MQTT broker written here (Python ssl on a free loopback port, the
development server certificate, client certificates required and verified
against the development CA, just enough MQTT 3.1.1: CONNACK, SUBACK,
PINGRESP) records every PUBLISH (topic, packet id, QoS, DUP flag, payload)
and never answers one with PUBACK.

  1. The fixture comes up with the real Mosquitto; varskod is restarted
     with mqtt_port pointing at the fake broker. It connects as
     "varskod" (its certificate's CN, which the real broker makes the client
     id anyway) with a persistent session (clean session 0) and its client
     certificate (CN varskod), and subscribes to the ack topic.
  2. laerer-anna submits a few underretninger with the CLI. Each arrives at
     the fake broker at QoS 1 on the team topic, and its payload is
     ciphertext: the child's name, the parents' names, the CPR number and a
     marker sentence of the document are not in it (neither in clear nor in
     any base64 member), while the envelope does decrypt with the team
     agent's key to exactly the submitted document. In the database (read
     only) every outbox row has puback_at NULL and done_at NULL, and there
     is no `leveret` event.
  3. varskod is killed with SIGKILL and started again, still at the fake
     broker: every underretning is published again on the new connection,
     with a byte-identical payload (same reference), and is still not
     marked; no `leveret`.
  4. varskod is stopped (SIGTERM: it must not hang on the unacknowledged
     messages) and started against the real Mosquitto with team-slagelse's
     agent running: every underretning is filed exactly once
     (flowlib.check_exactly_once), and only now has each outbox row
     puback_at and done_at set and exactly one `leveret` event, stored after
     the switch.
"""

import base64
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

TEAM = "team-slagelse"
N = 4
TOPIC = f"varsko/{flowlib.TENANT}/team/{TEAM}/underretning"
ACK_TOPIC = f"varsko/{flowlib.TENANT}/ack"
log = harness.log


# ---- a fake MQTT 3.1.1 broker that never acknowledges a publication ------------------

class FakeBroker:
    """TLS with required, CA-verified client certificates; CONNACK/SUBACK/PINGRESP, never PUBACK.

    Every connection gets a number (1, 2, ...); self.events lists dicts with
    "what" in connect / subscribe / publish / closed / refused / other.
    """

    def __init__(self, certs):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(os.path.join(certs, "server.crt"), os.path.join(certs, "server.key"))
        self.ctx.load_verify_locations(os.path.join(certs, "ca.crt"))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.lock = threading.Lock()
        self.events = []
        self.conns = {}  # number -> socket
        self.nconn = 0
        self.pubacks_sent = 0  # stays 0: there is no code that sends one
        self.stopping = False
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _add(self, **ev):
        ev["t"] = time.time()
        with self.lock:
            self.events.append(ev)

    def _accept(self):
        while not self.stopping:
            try:
                s, _addr = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.nconn += 1
                no = self.nconn
            t = threading.Thread(target=self._serve, args=(s, no), daemon=True)
            self.threads.append(t)
            t.start()

    @staticmethod
    def _read(s, n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError("closed")
            buf += chunk
        return buf

    def _packet(self, s):
        first = self._read(s, 1)[0]
        mult, length = 1, 0
        for _ in range(4):
            b = self._read(s, 1)[0]
            length += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        else:
            raise ValueError("bad remaining length")
        return first, self._read(s, length) if length else b""

    @staticmethod
    def _str(body, pos):
        n = int.from_bytes(body[pos:pos + 2], "big")
        return body[pos + 2:pos + 2 + n].decode("utf-8"), pos + 2 + n

    def _serve(self, raw, no):
        raw.settimeout(60)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self._add(what="refused", conn=no, why=str(e)[:200])
            raw.close()
            return
        cert = s.getpeercert() or {}
        cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), None)
        with self.lock:
            self.conns[no] = s
        try:
            while not self.stopping:
                first, body = self._packet(s)
                kind, flags = first >> 4, first & 0x0F
                if kind == 1:  # CONNECT
                    proto, pos = self._str(body, 0)
                    level, cflags = body[pos], body[pos + 1]
                    keepalive = int.from_bytes(body[pos + 2:pos + 4], "big")
                    client_id, _ = self._str(body, pos + 4)
                    self._add(what="connect", conn=no, proto=proto, level=level, clean=bool(cflags & 0x02),
                              client_id=client_id, keepalive=keepalive, cn=cn)
                    s.sendall(bytes([0x20, 0x02, 0x00, 0x00]))  # CONNACK, session present 0, accepted
                elif kind == 8:  # SUBSCRIBE
                    pid = int.from_bytes(body[0:2], "big")
                    pos, topics = 2, []
                    while pos < len(body):
                        t, pos = self._str(body, pos)
                        topics.append((t, body[pos]))
                        pos += 1
                    self._add(what="subscribe", conn=no, pid=pid, topics=topics, flags=flags)
                    s.sendall(bytes([0x90, 2 + len(topics)]) + pid.to_bytes(2, "big") +
                              bytes(min(q, 1) for _t, q in topics))
                elif kind == 12:  # PINGREQ
                    s.sendall(bytes([0xD0, 0x00]))
                elif kind == 3:  # PUBLISH: recorded, never acknowledged
                    qos = (flags >> 1) & 0x03
                    topic, pos = self._str(body, 0)
                    pid = None
                    if qos > 0:
                        pid = int.from_bytes(body[pos:pos + 2], "big")
                        pos += 2
                    self._add(what="publish", conn=no, topic=topic, pid=pid, qos=qos, dup=bool(flags & 0x08),
                              retain=bool(flags & 0x01), payload=bytes(body[pos:]))
                elif kind == 14:  # DISCONNECT
                    self._add(what="disconnect", conn=no)
                    break
                else:
                    self._add(what="other", conn=no, kind=kind, flags=flags)
        except (EOFError, OSError, ValueError, ssl.SSLError) as e:
            if not self.stopping:
                self._add(what="closed", conn=no, why=str(e)[:100])
        finally:
            with self.lock:
                self.conns.pop(no, None)
            try:
                s.close()
            except OSError:
                pass

    def snapshot(self, what=None, conn=None):
        with self.lock:
            return [e for e in self.events if (what is None or e["what"] == what) and
                    (conn is None or e["conn"] == conn)]

    def wait(self, pred, timeout):
        """Wait until pred() is true; returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v or time.monotonic() > deadline:
                return v
            time.sleep(0.1)

    def stop(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns.values())
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.acceptor.join(5)
        for t in self.threads:
            t.join(5)


def set_mqtt_port(conf, port):
    """Point varskod's configuration (written by the fixture) at another MQTT port."""
    with open(conf, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out, seen = [], False
    for ln in lines:
        if ln.split("=", 1)[0].strip() == "mqtt_port":
            ln = f"mqtt_port = {port}"
            seen = True
        out.append(ln)
    if not seen:
        raise RuntimeError("the fixture's varskod.conf has no mqtt_port")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def open_envelope(e, dev_id, box_sk, box_pk):
    """ENVELOPE.md opening for one recipient (the inverse of flowlib.seal)."""
    from nacl import bindings as nb
    w = next(w for w in e["wraps"] if w["device"] == dev_id)
    epk = flowlib.ub64(e["epk"])
    shared = nb.crypto_scalarmult(box_sk, epk)
    wk = flowlib._hkdf(epk + box_pk, shared, b"varsko-wrap-v1" + dev_id.encode(), 32)
    ck = nb.crypto_aead_xchacha20poly1305_ietf_decrypt(flowlib.ub64(w["key"]), None, flowlib.ub64(w["nonce"]), wk)
    hdr = flowlib._env_header(e["kind"], e["object_id"], e["sender"], [x["device"] for x in e["wraps"]],
                              flowlib.ub64(e["routing"]))
    return nb.crypto_aead_xchacha20poly1305_ietf_decrypt(flowlib.ub64(e["ciphertext"]), hdr,
                                                         flowlib.ub64(e["nonce"]), ck)


def b64_members(o):
    """Every string anywhere in a JSON value that decodes as base64 (decoded)."""
    out = []
    if isinstance(o, dict):
        for v in o.values():
            out += b64_members(v)
    elif isinstance(o, list):
        for v in o:
            out += b64_members(v)
    elif isinstance(o, str) and len(o) >= 16 and len(o) % 4 == 0:
        try:
            out.append(base64.b64decode(o, validate=True))
        except ValueError:
            pass
    return out


def refs_published(fake, refs, conn=None):
    """{ref: [publish events]} for the given references (optionally on one connection)."""
    per = {r: [] for r in refs}
    for ev in fake.snapshot("publish", conn):
        try:
            r = json.loads(ev["payload"]).get("reference")
        except (ValueError, AttributeError):
            r = None
        if r in per:
            per[r].append(ev)
    return per


def outbox_state(fl, refs):
    """[(reference, needs_ack, attempts, puback_at, done_at)] of the refs' outbox rows."""
    rows = fl.q("SELECT reference, needs_ack, attempts, puback_at, done_at FROM outbox ORDER BY id")
    return [r for r in rows if r[0] in refs]


def main():
    checks = harness.Checks()
    c = checks.check
    fake = None
    # myndighed-lene: the team has a caseworker, so the only publications are the underretninger
    # (a team that nobody can read also gets an alert: test_no_reader)
    with flowlib.Flow(agents=[TEAM], users=["laerer-anna", "myndighed-lene"]) as fl:
        try:
            fl.setup(org=False)  # raw envelopes to rosters: teams without a team key (PROTOCOL.md 16.7)
            fake = FakeBroker(fl.certs)
            log(f"     fake broker on 127.0.0.1:{fake.port} (real Mosquitto on {fl.mqtt_port})")

            # The fake broker really requires a client certificate.
            try:
                cctx = ssl.create_default_context(cafile=fl.ca)
                with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as raw:
                    with cctx.wrap_socket(raw, server_hostname="127.0.0.1") as cs:
                        cs.sendall(bytes([0x10, 0x0C, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 0]))
                        got = cs.recv(4)
            except (ssl.SSLError, OSError) as e:
                got = f"error {type(e).__name__}".encode()
            c("the fake broker refuses a client without a certificate (no CONNACK)", not got.startswith(b"\x20"),
              repr(got))
            refused = fake.wait(lambda: fake.snapshot("refused"), 5)
            log(f"     fake broker: {len(refused)} handshake refused: {[e['why'][:80] for e in refused]}")

            # 1. varskod at the fake broker.
            rc = fl.stop_varskod()
            c("varskod stopped (SIGTERM) to be pointed at the fake broker", rc == 0, f"exit {rc}")
            set_mqtt_port(fl.conf, fake.port)
            fl.start_varskod()
            con = fake.wait(lambda: fake.snapshot("connect"), 20)
            sub = fake.wait(lambda: fake.snapshot("subscribe"), 20)
            log(f"     fake broker saw: {[{k: v for k, v in e.items() if k != 't'} for e in con]}; "
                f"subscribe {[e['topics'] for e in sub]}")
            c("varskod connects to the fake broker with its client certificate (CN varskod)",
              len(con) == 1 and con[0]["cn"] == "varskod", str(con))
            c("MQTT 3.1.1, client id varskod (the certificate's CN), persistent session (clean session 0)",
              len(con) == 1 and con[0]["proto"] == "MQTT" and con[0]["level"] == 4
              and con[0]["client_id"] == "varskod" and con[0]["clean"] is False, str(con))
            c(f"varskod subscribes to {ACK_TOPIC} at QoS 1",
              any((ACK_TOPIC, 1) in e["topics"] for e in sub), str([e["topics"] for e in sub]))
            conn1 = con[0]["conn"] if con else None

            # 2. A few underretninger while no PUBACK ever comes.
            marker = "Markørsætning-{i}: lærerens egen iagttagelse i frikvarteret"
            paths, docs_bytes = [], []
            for i in range(N):
                p = fl.doc(age=9, cpr=True if i % 2 == 0 else None, extra_text=marker.format(i=i))
                paths.append(p)
                with open(p, "rb") as f:
                    docs_bytes.append(f.read())
            secrets = [flowlib.CHILD_NAME, *flowlib.PARENT_NAMES, "Eksempelvej", "Markørsætning"]
            for b in docs_bytes:
                d = json.loads(b)
                if "cpr" in d["child"]:
                    secrets.append(d["child"]["cpr"])
                    secrets.append(d["child"]["cpr"].replace("-", ""))
            res = fl.send_many("laerer-anna", paths, parallel=2)
            failed = [out_of(rc, o, e) for _p, rc, j, o, e in res if rc != 0 or not isinstance(j, dict)]
            c(f"{N} submissions get receipts while the broker withholds every PUBACK", not failed,
              f"{len(failed)} failed: {failed[:2]}")
            receipts = {j["reference"]: j for _p, rc, j, _o, _e in res if isinstance(j, dict) and "reference" in j}
            doc_of = {j["reference"]: docs_bytes[i] for i, (_p, rc, j, _o, _e) in enumerate(res)
                      if isinstance(j, dict) and "reference" in j}
            refs = sorted(receipts)
            log(f"     references: {refs}")
            c(f"{N} distinct references", len(refs) == N, str(refs))

            per = fake.wait(lambda: (lambda p: p if all(p.values()) else None)(refs_published(fake, refs)), 20)
            per = per or refs_published(fake, refs)
            log(f"     publications per reference at the fake broker: {[(r, len(v)) for r, v in per.items()]}")
            c("every underretning arrives at the fake broker", refs and all(per.values()),
              f"missing {[r for r, v in per.items() if not v]}")
            pubs = [e for v in per.values() for e in v]
            c(f"every publication is on {TOPIC}", pubs and all(e["topic"] == TOPIC for e in pubs),
              str(sorted({e['topic'] for e in pubs})))
            c("every publication is QoS 1 with a packet id, not retained",
              pubs and all(e["qos"] == 1 and e["pid"] and not e["retain"] for e in pubs),
              str([(e["qos"], e["pid"], e["retain"]) for e in pubs][:6]))
            first_payload = {r: v[0]["payload"] for r, v in per.items() if v}

            # The payload is the team message with the envelope: ciphertext only.
            agent_dev = fl.device(f"agent-{TEAM}")
            agent_box_pk = flowlib.ub64(agent_dev.cert["box_pk"])
            leaks, wrong, not_opened = [], [], []
            for r, pl in first_payload.items():
                text = pl.decode("utf-8", "replace")
                decoded = b64_members(json.loads(pl))
                for s in secrets:
                    if s in text or any(s.encode() in d for d in decoded):
                        leaks.append(f"{r}: {s!r}")
                o = json.loads(pl)
                if o.get("type") != "underretning" or o.get("reference") != r or \
                        o.get("receipt") != flowlib.receipt_only(receipts[r]):
                    wrong.append(r)
                    continue
                e = o["envelope"]
                if flowlib.envelope_hash(e) != flowlib.ub64(receipts[r]["envelope_hash"]):
                    wrong.append(f"{r}: envelope hash")
                try:
                    pt = open_envelope(e, agent_dev.id, agent_dev.box_sk, agent_box_pk)
                except Exception as ex:  # noqa: BLE001 - any failure to open is the finding
                    not_opened.append(f"{r}: {type(ex).__name__}")
                    continue
                if pt != doc_of[r]:
                    not_opened.append(f"{r}: decrypts to other bytes")
            c("the payloads carry no name, CPR number or document text (in clear or base64)", not leaks,
              "; ".join(leaks[:4]))
            c("each payload is the underretning message with the notifier's receipt and the receipted envelope",
              not wrong, str(wrong))
            c("each payload's envelope decrypts with the team agent's key to exactly the submitted document",
              not not_opened, str(not_opened))

            time.sleep(2 * fl.backoff_first + 1)
            per = refs_published(fake, refs)
            dup_flags = sorted({e["dup"] for v in per.values() for e in v})
            log(f"     after {2 * fl.backoff_first + 1} s more: publications per reference "
                f"{[(r, len(v)) for r, v in per.items()]}, DUP flags {dup_flags}")
            c("without a PUBACK (or modtaget) each is published again on the backoff",
              all(len(v) >= 2 for v in per.values()), str([(r, len(v)) for r, v in per.items()]))
            st = outbox_state(fl, refs)
            log(f"     outbox (reference, needs_ack, attempts, puback_at, done_at): {st}")
            c("one outbox row per underretning, needs_ack 1", sorted(r[0] for r in st) == refs
              and all(r[1] == 1 for r in st), str(st))
            c("no outbox row has puback_at or done_at (no PUBACK was ever sent)",
              st and all(r[3] is None and r[4] is None for r in st), str(st))
            c("attempts counted for every row", st and all(r[2] >= 1 for r in st), str(st))
            lev = fl.q("SELECT reference, time FROM events WHERE kind = 'leveret'")
            c("no leveret event without a PUBACK", not lev, str(lev))
            c("varskod's log records no PUBACK", "PUBACK for outbox row" not in fl.read_log("varskod"))
            c("nothing reached the agent (it is on the real broker)", not fl.filed(TEAM), str(fl.filed(TEAM)))

            # 3. SIGKILL, restart, still at the fake broker.
            npub_before = len(fake.snapshot("publish"))
            rc = fl.kill("varskod", signal.SIGKILL)
            c("varskod killed with SIGKILL", rc == -signal.SIGKILL, f"exit {rc}")
            closed = fake.wait(lambda: [e for e in fake.snapshot(conn=conn1) if e["what"] in ("closed",
                                                                                              "disconnect")], 10)
            log(f"     fake broker: connection {conn1} ended: {[(e['what'], e.get('why')) for e in closed]}")
            c("the killed varskod sent no DISCONNECT", not any(e["what"] == "disconnect" for e in closed),
              str(closed))
            fl.start_varskod()
            con2 = fake.wait(lambda: [e for e in fake.snapshot("connect") if e["conn"] != conn1], 20)
            conn2 = con2[0]["conn"] if con2 else None
            c("the restarted varskod connects to the fake broker again (persistent session)",
              len(con2) == 1 and con2[0]["clean"] is False and con2[0]["cn"] == "varskod", str(con2))
            per2 = fake.wait(lambda: (lambda p: p if all(p.values()) else None)(refs_published(fake, refs, conn2)),
                             20) if conn2 else None
            per2 = per2 or refs_published(fake, refs, conn2)
            log(f"     after the restart, publications per reference on connection {conn2}: "
                f"{[(r, len(v)) for r, v in per2.items()]}")
            c("after the restart every underretning is published again", all(per2.values()),
              f"missing {[r for r, v in per2.items() if not v]}")
            same = [r for r, v in per2.items() if v and all(e["payload"] == first_payload.get(r) for e in v)]
            c("each republication is byte-identical to the first publication (same reference, same envelope)",
              sorted(same) == refs, f"identical for {sorted(same)}")
            pubs2 = [e for v in per2.values() for e in v]
            c("republications are QoS 1 on the team topic", pubs2 and all(e["qos"] == 1 and e["topic"] == TOPIC
                                                                          for e in pubs2))
            time.sleep(2)
            st = outbox_state(fl, refs)
            log(f"     outbox after the restart: {st}")
            c("still no outbox row has puback_at or done_at",
              len(st) == N and all(r[3] is None and r[4] is None for r in st), str(st))
            lev = fl.q("SELECT reference, time FROM events WHERE kind = 'leveret'")
            c("still no leveret event", not lev, str(lev))
            log(f"     the fake broker received {len(fake.snapshot('publish'))} publications "
                f"({len(fake.snapshot('publish')) - npub_before} since the kill) and sent {fake.pubacks_sent} PUBACKs")

            # 4. The real broker.
            t0 = time.monotonic()
            rc = fl.stop_varskod()
            dt = time.monotonic() - t0
            c("varskod stops on SIGTERM with unacknowledged publications in flight (exit 0, within 10 s)",
              rc == 0 and dt < 10, f"exit {rc} after {dt:.1f} s")
            npub = len(fake.snapshot("publish"))
            fake.stop()
            switch_at = int(time.time())
            set_mqtt_port(fl.conf, fl.mqtt_port)
            fl.start_varskod()
            log("     varskod started against the real Mosquitto")
            stamps = {}
            got = fl.wait_filed(TEAM, refs, timeout=90, stamps=stamps)
            c(f"the agent files all {N} once varskod is at the real broker", got == set(refs),
              f"missing {sorted(set(refs) - got)}")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and fl.count("outbox", "needs_ack = 1 AND done_at IS NULL") > 0:
                time.sleep(0.5)
            time.sleep(2 * fl.backoff_first + 2)
            flowlib.check_exactly_once(checks, fl, TEAM, refs, stamps=stamps)
            st = outbox_state(fl, refs)
            log(f"     outbox at the real broker: {st}")
            c("now every outbox row has puback_at and done_at",
              len(st) == N and all(r[3] is not None and r[4] is not None for r in st), str(st))
            c("puback_at is from after the switch to the real broker",
              len(st) == N and all(r[3] is not None and r[3] >= switch_at for r in st), f"switch {switch_at}: {st}")
            lev = fl.q("SELECT reference, count(*), min(time), min(device) FROM events WHERE kind = 'leveret' "
                       "GROUP BY reference")
            log(f"     leveret events: {lev}")
            c("exactly one leveret event per underretning, stored after the switch",
              sorted(r[0] for r in lev) == refs and all(r[1] == 1 and r[2] >= switch_at for r in lev), str(lev))
            c("the fake broker got nothing after it was left", len(fake.snapshot("publish")) == npub)
            rc = fl.stop_varskod()
            c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
            ic = fl.integrity()
            c("PRAGMA integrity_check ok", ic == [("ok",)], str(ic))
            rc, out, err = fl.ctl("audit", "verify")
            c("varskoctl audit verify: intact", rc == 0 and "intact" in out, out_of(rc, out, err))
        finally:
            if fake is not None:
                fake.stop()
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
