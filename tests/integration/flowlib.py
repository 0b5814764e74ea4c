#!/usr/bin/python3
"""The underretning-flow fixture of the integration tests (on top of harness.py).

Flow(...) is a harness.Env that sets up, in one temporary directory:

  - development certificates (certs/mkdev.sh) and a Mosquitto over TLS with
    client certificates and the Varsko ACL (deploy/mosquitto/mkconf.sh);
  - varskoctl init, the demo municipality (deploy/demo/slagelse.json) and the
    agent users "agent-<team>" (role agent; taken from the demo when it has
    them, else imported from a small supplement);
  - varskod with mqtt_* (its MQTT client certificate has CN "varskod") and a
    short outbox backoff so republishing is quick;
  - a `varsko enroll`ed home per user (laerer-anna, laerer-jonas, the
    myndighed users, leder-thomas) and per team agent;
  - one running varsko-agent per requested team, filing into
    <tmp>/cases-<team>/.

It also has helpers to run CLI commands with --json, to make documents
(variants of deploy/demo/underretning-example.json), to wait for filing, to
read the database read-only, to run programs under faketime, to listen on
MQTT with a team agent's certificate, and a raw-protocol toolkit (routing
header, envelope sealing, events) written from proto/ENVELOPE.md and
proto/flow.h for inputs the CLI cannot produce.

Every process is stopped in cleanup (harness.Env), also on failure.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import queue
import signal
import ssl
import sqlite3
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import field, log  # noqa: E402

TENANT = "slagelse"
TEAMS = list(harness.MQTT_TEAMS)
FAGPERSONER = ["laerer-anna", "laerer-jonas"]
MYNDIGHED = {"team-slagelse": "myndighed-lene", "team-korsoer-skaelskoer": "myndighed-peter",
             "team-ung": "myndighed-camilla", "team-handicap": "myndighed-henrik", "doegnvagt": "myndighed-ida"}
DEFAULT_USERS = FAGPERSONER + list(MYNDIGHED.values()) + ["leder-thomas"]
EXAMPLE = os.path.join(harness.SOURCE_ROOT, "deploy", "demo", "underretning-example.json")
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"]

# The fixture child of the example document (fictional) and a CPR number for it.
CHILD_NAME = "Sofie Eksempel Fiktivsen"
PARENT_NAMES = ["Mette Eksempel Fiktivsen", "Jens Fiktivsen"]


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:400]!r} stderr={err.strip()[:400]!r}"


def copenhagen():
    from zoneinfo import ZoneInfo
    return ZoneInfo("Europe/Copenhagen")


def cph_today(offset=0):
    """The Copenhagen date now (+ offset seconds)."""
    return datetime.datetime.fromtimestamp(time.time() + offset, copenhagen()).date()


def easter(y):
    """Easter Sunday (anonymous Gregorian computus)."""
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month = (h + ll - 7 * m + 114) // 31
    day = (h + ll - 7 * m + 114) % 31 + 1
    return datetime.date(y, month, day)


def is_hverdag(d):
    """DOMAIN.md: Monday..Friday except the listed holidays."""
    if d.weekday() >= 5:
        return False
    e = easter(d.year)
    off = {-3, -2, 1, 39, 50} | ({26} if d.year <= 2023 else set())
    if (d - e).days in off:
        return False
    return (d.month, d.day) not in {(1, 1), (6, 5), (12, 24), (12, 25), (12, 26), (12, 31)}


def next_hverdag_at(hour, minute=0, after=None, weekdays=(0, 1, 2, 3)):
    """Unix time of the next Copenhagen hverdag (Mon-Thu by default) at hour:minute, later than `after` + 600 s."""
    tz = copenhagen()
    after = after if after is not None else time.time()
    d = datetime.datetime.fromtimestamp(after, tz).date()
    for _ in range(40):
        if is_hverdag(d) and d.weekday() in weekdays:
            t = datetime.datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz).timestamp()
            if t > after + 600:
                return int(t)
        d += datetime.timedelta(days=1)
    raise RuntimeError("no hverdag in 40 days")


def faketime_env(offset):
    """Environment that runs a program `offset` seconds in the future (libfaketime). Skips without it."""
    lib = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)
    if lib is None:
        harness.skip("libfaketime is not installed (Debian package faketime)")
    if offset < 0:
        raise ValueError("only move the clock forward: certificates were made at real time")
    env = {"LD_PRELOAD": lib, "FAKETIME": f"+{int(offset)}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    # In the sanitizer build the preloaded libfaketime comes before the ASan
    # runtime, which ASan refuses unless told that the order is intended.
    asan = os.environ.get("ASAN_OPTIONS", "")
    if "verify_asan_link_order" not in asan:
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "verify_asan_link_order=0"
    return env


# ---- canonical encodings (proto.h, ENVELOPE.md, flow.h) --------------------------

def u64(v):
    return field(struct.pack(">Q", v))


def i64(v):
    return field(struct.pack(">q", v))


def b64(b):
    return base64.b64encode(b).decode("ascii")


def ub64(s):
    return base64.b64decode(s, validate=True)


def compact(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tm(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def routing_header(institution, age_group, akut, handicap, submission, created):
    """ENVELOPE.md "The routing header": the canonical bytes and the JSON form."""
    raw = (field(b"varsko-routing-v1") + u64(1) + field(institution) + field(age_group) + u64(int(akut)) +
           u64(int(handicap)) + field(submission) + i64(created))
    js = {"age_group": age_group, "akut": bool(akut), "created": tm(created), "handicap": bool(handicap),
          "institution": institution, "submission": submission}
    return raw, js


def _hkdf(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def _env_header(kind, obj, sender, devices, routing):
    h = field(b"varsko-envelope-v1") + u64(1) + field(kind) + field(obj) + field(sender)
    return h + u64(len(devices)) + b"".join(field(d) for d in devices) + field(routing)


def env_signing_input(e):
    devices = [w["device"] for w in e["wraps"]]
    hdr = _env_header(e["kind"], e["object_id"], e["sender"], devices, ub64(e["routing"]))
    si = field(b"varsko-envelope-sig-v1") + field(hdr) + field(ub64(e["epk"])) + u64(len(e["wraps"]))
    for w in e["wraps"]:
        si += field(w["device"]) + field(ub64(w["nonce"])) + field(ub64(w["key"]))
    return si + field(ub64(e["nonce"])) + field(ub64(e["ciphertext"]))


def envelope_hash(e):
    return hashlib.sha256(field(b"varsko-envelope-hash-v1") + field(env_signing_input(e))).digest()


def user_key_recipient(chain_answer):
    """(key id, box_pk) of the current user key a `chain` answer names (PROTOCOL.md 15.2), or None.

    Reads the links as they come (the C clients verify them; this is for raw test clients that
    seal a kvittering to the notifier's user key, PROTOCOL.md 12.5)."""
    user, gen, box_pk = chain_answer.get("chain"), 0, None
    for link in chain_answer.get("links", []):
        if link.get("op") in ("uk_create", "uk_rotate"):
            gen, box_pk = link["generation"], ub64(link["uk_box_pk"])
    return (f"user:{user}:{gen}", box_pk) if gen else None


def seal(kind, object_id, sender, sender_sk, recipients, routing, plaintext):
    """ENVELOPE.md sealing with fresh randomness. recipients: [(device, box_pk bytes)]. Returns the JSON object."""
    from nacl import bindings as nb
    srt = sorted(recipients, key=lambda r: r[0].encode())
    ck = os.urandom(32)
    nonce = os.urandom(24)
    esk = os.urandom(32)
    epk = nb.crypto_scalarmult_base(esk)
    wraps = []
    for dev, box_pk in srt:
        shared = nb.crypto_scalarmult(esk, box_pk)
        wk = _hkdf(epk + box_pk, shared, b"varsko-wrap-v1" + dev.encode(), 32)
        wn = os.urandom(24)
        wraps.append({"device": dev, "key": b64(nb.crypto_aead_xchacha20poly1305_ietf_encrypt(ck, None, wn, wk)),
                      "nonce": b64(wn)})
    hdr = _env_header(kind, object_id, sender, [d for d, _ in srt], routing)
    ct = nb.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, hdr, nonce, ck)
    e = {"ciphertext": b64(ct), "epk": b64(epk), "kind": kind, "nonce": b64(nonce), "object_id": object_id,
         "routing": b64(routing), "sender": sender, "sig": "", "version": 1, "wraps": wraps}
    e["sig"] = b64(nb.crypto_sign(env_signing_input(e), sender_sk)[:64])
    return e


def sign_event(sk, reference, kind, device, t, akut=None, started=None, team=None, env_hash=None):
    """flow.h event: the JSON object, signed with sk (64-byte libsodium secret key)."""
    from nacl import bindings as nb
    si = (field(b"varsko-event-v1") + u64(1) + field(reference) + field(kind) + field(device) + i64(t) +
          i64(-1 if akut is None else int(akut)) + i64(-1 if started is None else int(started)) +
          field(team or "") + u64(0 if env_hash is None else 1) + field(env_hash or bytes(32)))
    obj = {"device": device, "kind": kind, "reference": reference, "sig": b64(nb.crypto_sign(si, sk)[:64]),
           "time": tm(t), "version": 1}
    if akut is not None:
        obj["akut"] = bool(akut)
    if started is not None:
        obj["started"] = bool(started)
    if team is not None:
        obj["team"] = team
    if env_hash is not None:
        obj["envelope_hash"] = b64(env_hash)
    return obj


def wait_for(pred, timeout, step=0.2):
    """Call pred until it returns something true or timeout seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def stored_bytes(env):
    """varskod's database file and its WAL, as bytes (stop varskod first: what it wrote is there)."""
    out = b""
    for suffix in ("", "-wal"):
        if os.path.exists(env.database + suffix):
            with open(env.database + suffix, "rb") as f:
                out += f.read()
    return out


# What `varsko underret send --json` adds to the receipt object (varsko(1)).
SEND_KEYS = ("duplicate", "no_reader")


def receipt_only(rec):
    """The receipt object of a `varsko underret send --json` answer, without what the client adds."""
    return {k: v for k, v in rec.items() if k not in SEND_KEYS} if isinstance(rec, dict) else rec


class Device:
    """The keys and certificate of an enrolled home (device.key, device.cert)."""

    def __init__(self, home):
        with open(os.path.join(home, "device.key"), encoding="utf-8") as f:
            k = json.load(f)
        with open(os.path.join(home, "device.cert"), encoding="utf-8") as f:
            self.cert = json.load(f)
        self.sign_sk = ub64(k["sign_sk"])
        self.box_sk = ub64(k["box_sk"])
        self.id = self.cert["device"]
        self.user = self.cert["user"]
        import nacl.signing
        self.signing_key = nacl.signing.SigningKey(self.sign_sk[:32])


# ---- MQTT listener --------------------------------------------------------------

async def request(cl, frame):
    """Send one frame (dict or raw text) and return the answer to it, skipping pushes (frames without an id).
    A closed connection gives {"type": "closed", "code": N, "reason": S}."""
    try:
        if isinstance(frame, str):
            await cl.send_text(frame)
        else:
            await cl.send(frame)
        while True:
            a = await cl.recv()
            if "id" in a or a.get("type") == "error":
                return a
    except harness.Closed as e:
        return {"type": "closed", "code": e.code, "reason": e.reason}


class MqttSpy:
    """A paho client that records every message it may read as `name` (a certificate's file stem).

    By default it connects as that identity's read-only observer (harness.SPY_PREFIX + name): the
    broker names a session after the certificate's CN, so a spy with the real certificate would
    take the session of the running varskod or agent. own=True connects with the certificate
    itself, for a test that publishes as that identity while its real client is not running."""

    def __init__(self, env, name, topics, timeout=10.0, own=False):
        import paho.mqtt.client as mqtt
        if not own:
            name = harness.SPY_PREFIX + name
        self.msgs = queue.Queue()
        self.all = []
        self.lock = threading.Lock()
        self.connected = queue.Queue()
        self.subacks = queue.Queue()
        self.c = mqtt.Client(client_id=f"spy-{name}-{os.getpid()}-{time.monotonic_ns() % 100000}",
                             protocol=mqtt.MQTTv311, clean_session=True)
        self.c.tls_set(ca_certs=env.ca, certfile=os.path.join(env.certs, f"{name}.crt"),
                       keyfile=os.path.join(env.certs, f"{name}.key"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.topics = topics
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = lambda c, u, mid, granted: self.subacks.put(granted)
        self.c.connect("127.0.0.1", env.mqtt_port, keepalive=30)
        self.c.loop_start()
        if self.connected.get(timeout=timeout) != 0:
            raise RuntimeError(f"MQTT spy {name} refused")
        for _ in topics:
            self.subacks.get(timeout=timeout)

    def _on_connect(self, c, u, flags, rc):
        self.connected.put(rc)
        if rc == 0:
            for t in self.topics:
                c.subscribe(t, qos=1)

    def _on_message(self, c, u, m):
        with self.lock:
            self.all.append((m.topic, bytes(m.payload)))
        self.msgs.put((m.topic, bytes(m.payload)))

    def messages(self):
        with self.lock:
            return list(self.all)

    def publish(self, topic, payload):
        info = self.c.publish(topic, payload, qos=1)
        info.wait_for_publish()
        return info.rc

    def references(self):
        """The "reference" of every JSON message received so far (None for non-JSON)."""
        out = []
        for _t, p in self.messages():
            try:
                out.append(json.loads(p).get("reference"))
            except (ValueError, AttributeError):
                out.append(None)
        return out

    def close(self):
        try:
            self.c.disconnect()
        except (OSError, ssl.SSLError):
            pass
        self.c.loop_stop()


# ---- the fixture ------------------------------------------------------------------

class Flow(harness.Env):
    """See the module text. Flow(agents=[...], users=[...]).setup() brings everything up."""

    def __init__(self, agents=None, users=None, backoff_first=2, backoff_max=8, config=None, keep=None):
        super().__init__(keep=keep)
        self.agent_teams = list(TEAMS if agents is None else agents)
        self.users = list(DEFAULT_USERS if users is None else users)
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.extra_config = dict(config or {})
        self.homes = {}
        self.agent_bin = os.path.join(harness.BUILD_ROOT, "clients", "agent", "varsko-agent")
        self.docs = self.path("docs")
        os.mkdir(self.docs, 0o700)
        self.varskod_env = None
        self._ndoc = 0

    # -- setup --

    def setup(self, org=True):
        """org=True (the default): the key model (PROTOCOL.md 16) from the start: `varskoctl org init`
        before anyone enrolls, and every team with a chain (admin, the team's leder, its agent and every
        enrolled user placed in it) and a team key (made by the leder) before the agents start.
        org=False: no org chain, underretninger sealed to rosters (tests of that path)."""
        t0 = time.monotonic()
        harness.require_modules()
        import importlib.util
        if importlib.util.find_spec("paho") is None:
            harness.skip("python3-paho-mqtt is not installed (deploy/install-deps.sh)")
        if not os.access(self.cli_bin, os.X_OK):
            harness.skip(f"clients/cli/varsko is not built in {harness.BUILD_ROOT}")
        if self.agent_teams and not os.access(self.agent_bin, os.X_OK):
            harness.skip(f"clients/agent/varsko-agent is not built in {harness.BUILD_ROOT}")
        doc = harness.load_demo()
        self.make_certs()
        self.start_mosquitto()
        conf = {
            "mqtt_host": "127.0.0.1",
            "mqtt_port": self.mqtt_port,
            "mqtt_ca": self.ca,
            "mqtt_cert": os.path.join(self.certs, "varskod.crt"),
            "mqtt_key": os.path.join(self.certs, "varskod.key"),
            "outbox_backoff_first": self.backoff_first,
            "outbox_backoff_max": self.backoff_max,
        }
        conf.update(self.extra_config)
        self.write_config(**conf)
        self.ctl_ok("init")
        self.ctl_ok("import", harness.demo_file())
        have = {u.get("id") for u in doc.get("users", [])}
        missing = [t for t in TEAMS if f"agent-{t}" not in have]
        if missing:
            sup = {"tenant": TENANT, "users": [{"id": f"agent-{t}", "name": f"Agent {t}", "role": "agent", "team": t}
                                               for t in missing]}
            p = self.path("agents-supplement.json")
            with open(p, "w", encoding="utf-8") as f:
                json.dump(sup, f)
            log(f"the demo has no agent users for {missing}: importing a supplement")
            self.ctl_ok("import", p)
        if org:
            self.root_key = self.path("root.key")
            self.ctl_ok("org", "init", "--root-key", self.root_key)
        self.start_varskod()
        for u in self.users:
            self.enroll(u)
        for t in TEAMS:  # every team's agent device is on its roster, running or not
            self.enroll(f"agent-{t}")
        if org:
            self.key_teams(doc)
        for t in self.agent_teams:
            self.start_agent(t)
        log(f"fixture up in {time.monotonic() - t0:.1f} s: varskod {self.ws_url}, mosquitto {self.mqtt_port}, "
            f"users {self.users}, agents {self.agent_teams}")
        return self

    def key_teams(self, doc):
        """Every team's chain and key (see setup(org=True)); the admin and the leders are enrolled for it."""
        users = {(u.get("id") or u.get("user")): u for u in doc.get("users", [])}
        admin = next(uid for uid, u in users.items() if u.get("role") == "admin")
        if admin not in self.homes:
            self.enroll(admin)
        self.ctl_ok("org", "admin-add", admin, "--root-key", self.root_key)
        for t in TEAMS:
            leder = next((uid for uid, u in users.items() if u.get("role") == "leder" and u.get("team") == t), None)
            if leder is None:
                raise RuntimeError(f"the demo has no leder for {t}")
            if leder not in self.homes:
                self.enroll(leder)
            steps = [(admin, ("team", "create", t, leder))]
            steps += [(leder, ("team", "add", t, uid)) for uid in self.homes
                      if uid != leder and users.get(uid, {}).get("team") == t and
                      users[uid].get("role") in ("myndighed", "leder", "agent")]
            steps.append((leder, ("team", "key", t)))
            for who, args in steps:
                rc, out, err = self.cli_as(who, *args)
                if rc != 0:
                    raise RuntimeError(f"{who}: varsko {' '.join(args)}: {out_of(rc, out, err)}")
        log(f"team chains and keys for {TEAMS} (admin {admin})")

    def setup_org(self, extra_users=()):
        """For the key model's tests: certificates, mosquitto, config, init, the demo and extra_users
        (dicts of a municipality document's users), `varskoctl org init` (root key at self.root_key)
        before anyone enrolls, then varskod. Returns varskoctl org init's (rc, out, err)."""
        import importlib.util
        if importlib.util.find_spec("paho") is None:
            harness.skip("python3-paho-mqtt is not installed (deploy/install-deps.sh)")
        if not os.access(self.agent_bin, os.X_OK):
            harness.skip("clients/agent/varsko-agent is not built")
        harness.load_demo()
        self.make_certs()
        self.start_mosquitto()
        self.write_config(mqtt_host="127.0.0.1", mqtt_port=self.mqtt_port, mqtt_ca=self.ca,
                          mqtt_cert=os.path.join(self.certs, "varskod.crt"),
                          mqtt_key=os.path.join(self.certs, "varskod.key"))
        self.ctl_ok("init")
        self.ctl_ok("import", harness.demo_file())
        if extra_users:
            sup = self.path("extra-users.json")
            with open(sup, "w", encoding="utf-8") as f:
                json.dump({"tenant": TENANT, "users": list(extra_users)}, f)
            self.ctl_ok("import", sup)
        self.root_key = self.path("root.key")
        res = self.ctl("org", "init", "--root-key", self.root_key)
        if res[0] == 0:
            self.start_varskod()
        return res

    def start_varskod(self, env=None):
        """varskod (again), optionally under another environment (faketime)."""
        if not os.path.exists(self.conf):
            self.write_config()
        self.varskod_env = env
        return self.start("varskod", [self.varskod, "-c", self.conf], port=self.port, env=env)

    def kill(self, name, sig=signal.SIGKILL):
        """Send sig to a process started by this fixture and reap it (SIGKILL: no cleanup of its own)."""
        entry = self.procs.pop(name, None)
        if entry is None:
            return None
        p, logf = entry
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        logf.close()
        return p.returncode

    def restart_mosquitto(self):
        """Mosquitto again on the same port with the same persistence directory."""
        return self.start_mosquitto(port=self.mqtt_port)

    def enroll(self, user):
        home = self.path(f"home-{user}")
        inv = self.invite(user)
        rc, out, err = self.cli(home, "enroll", "--server", self.ws_url, "--code", inv["code"], "--ca", self.ca,
                                "--fingerprint", inv["org_fingerprint"], "--label", f"test-{user}")
        if rc != 0:
            raise RuntimeError(f"enroll {user}: {out_of(rc, out, err)}")
        self.homes[user] = home
        self.enroll_out = getattr(self, "enroll_out", {})
        self.enroll_out[user] = out  # the first device's output holds the user's recovery code
        return home

    def device(self, user):
        return Device(self.homes[user])

    # -- raw protocol sessions --

    def raw_session(self, user, fn, timeout=15.0):
        """Log in as user's enrolled device with the raw client and run `await fn(cl, dev)`; returns its result."""
        dev = self.device(user)

        async def go():
            async with harness.RawClient(self.ws_url, self.ca, timeout=timeout) as cl:
                ans = await cl.login(dev.id, dev.signing_key)
                if ans.get("type") != "session":
                    raise RuntimeError(f"raw login as {user} refused: {ans}")
                return await fn(cl, dev)
        return harness.run(go())

    # -- agents --

    def case_dir(self, team):
        return self.path(f"cases-{team}")

    def agent_argv(self, team, command=None):
        argv = [self.agent_bin, "--home", self.homes[f"agent-{team}"], "--mqtt-host", "127.0.0.1",
                "--mqtt-port", str(self.mqtt_port), "--ca", self.ca,
                "--cert", os.path.join(self.certs, f"agent-{team}.crt"),
                "--key", os.path.join(self.certs, f"agent-{team}.key"),
                "--team", team, "--case-dir", self.case_dir(team), "--tenant", TENANT]
        if command:
            argv += ["--command", command]
        return argv

    def start_agent(self, team, env=None, wait=True):
        os.makedirs(self.case_dir(team), mode=0o700, exist_ok=True)
        name = f"agent-{team}"
        before = len(self.read_log(name))
        p = self.start(name, self.agent_argv(team), env=env)
        if wait:
            self.wait_agent_subscribed(team, since=before)
        return p

    def stop_agent(self, team):
        return self.stop(f"agent-{team}")

    def wait_agent_subscribed(self, team, since=0, timeout=15.0):
        """Wait until the agent's log says it subscribed (or connected); True when seen."""
        name = f"agent-{team}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive(name):
                raise RuntimeError(f"{name} exited: {self.read_log(name)[-1500:]}")
            text = self.read_log(name)[since:].lower()
            if "subscribed" in text or "suback" in text:
                return True
            time.sleep(0.1)
        log(f"note: {name} log shows no subscription after {timeout:.0f} s; going on")
        return False

    def filed(self, team):
        """{reference: path} of the underretninger filed in the team's case directory."""
        d = self.case_dir(team)
        out = {}
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return out
        for n in names:
            if n.startswith("U-") and n.endswith(".json"):
                out[n[:-5]] = os.path.join(d, n)
        return out

    def case_entries(self, team):
        """Every visible entry of the case directory (what a case system would pick up)."""
        try:
            return sorted(n for n in os.listdir(self.case_dir(team)) if not n.startswith("."))
        except FileNotFoundError:
            return []

    def ack_entries(self, team):
        try:
            return sorted(os.listdir(os.path.join(self.case_dir(team), ".acks")))
        except FileNotFoundError:
            return []

    def wait_filed(self, team, refs, timeout=60.0, stamps=None):
        """Wait until every ref is filed by the team's agent; returns the set filed.

        stamps (a dict) gets ref -> (inode, mtime_ns) when a file is first seen,
        so a later re-filing (a new file by rename) can be noticed.
        """
        refs = set(refs)
        deadline = time.monotonic() + timeout
        while True:
            f = self.filed(team)
            if stamps is not None:
                for r, p in f.items():
                    if r not in stamps:
                        try:
                            st = os.stat(p)
                            stamps[r] = (st.st_ino, st.st_mtime_ns)
                        except FileNotFoundError:
                            pass
            got = refs & set(f)
            if got == refs or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    # -- CLI --

    def cli_as(self, user, *args, env=None, timeout=60):
        return self.cli(self.homes[user], *args, env=env, timeout=timeout)

    def cli_json(self, user, *args, env=None, timeout=60):
        """`varsko ARGS --json` as user: (rc, parsed stdout or None, stdout, stderr)."""
        rc, out, err = self.cli_as(user, *args, "--json", env=env, timeout=timeout)
        try:
            j = json.loads(out) if out.strip() else None
        except ValueError:
            j = None
        return rc, j, out, err

    def send(self, user, doc_path, *extra, env=None, timeout=60):
        """varsko underret send FILE --json: (rc, receipt object or None, stdout, stderr)."""
        return self.cli_json(user, "underret", "send", doc_path, *extra, env=env, timeout=timeout)

    def send_many(self, user, paths, parallel=4, env=None):
        """Send every document (parallel CLI processes); returns [(path, rc, obj, out, err)] in order."""
        results = [None] * len(paths)
        lock = threading.Lock()
        nxt = [0]

        def worker():
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= len(paths):
                    return
                rc, j, out, err = self.send(user, paths[i], env=env, timeout=120)
                results[i] = (paths[i], rc, j, out, err)

        ts = [threading.Thread(target=worker) for _ in range(parallel)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return results

    def receipt_file(self, user, ref):
        return os.path.join(self.homes[user], "receipts", f"{ref}.json")

    # -- documents --

    def doc(self, name=None, institution=None, age=None, birth_date=None, cpr=None, akut=None, handicap=None,
            child_name=None, extra_text=None, pad=0, mutate=None, offset=0, raw=None):
        """A variant of underretning-example.json written to <tmp>/docs/NAME.json; returns the path.

        age: a birth date making the child `age` years old on the Copenhagen date
        (now + offset seconds), well away from a birthday. cpr=True uses a CPR
        number for that birth date instead of birth_date (or give the CPR text).
        extra_text is appended to `concern` (makes documents distinct); pad adds
        that many bytes of JSON whitespace; mutate(obj) may change anything;
        raw (text) is written as is.
        """
        self._ndoc += 1
        name = name or f"doc-{self._ndoc:04d}"
        path = os.path.join(self.docs, f"{name}.json")
        if raw is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(raw)
            return path
        with open(EXAMPLE, encoding="utf-8") as f:
            d = json.load(f)
        if institution is not None:
            d["institution"] = institution
        if age is not None:
            today = cph_today(offset)
            bd = datetime.date(today.year - age, today.month, min(today.day, 28)) - datetime.timedelta(days=60)
            birth_date = bd.isoformat()
        if birth_date is not None:
            d["child"]["birth_date"] = birth_date
        if cpr is not None:
            if cpr is True:
                bd = datetime.date.fromisoformat(d["child"]["birth_date"])
                seventh = "4" if 2000 <= bd.year <= 2036 else "1"
                cpr = f"{bd.day:02d}{bd.month:02d}{bd.year % 100:02d}-{seventh}{self._ndoc % 1000:03d}"
            d["child"].pop("birth_date", None)
            d["child"]["cpr"] = cpr
        if akut is not None:
            d["akut"] = akut
        if handicap is not None:
            d["handicap"] = handicap
        if child_name is not None:
            d["child"]["name"] = child_name
        if extra_text:
            d["concern"] += " " + extra_text
        if mutate is not None:
            mutate(d)
        text = json.dumps(d, ensure_ascii=False, indent=1)
        if pad:
            text = text[:-1] + " " * pad + "}"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # -- database (read-only) --

    def ro(self):
        c = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        c.execute("PRAGMA busy_timeout = 10000")
        return c

    def q(self, sql, *args):
        c = self.ro()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def count(self, table, where="1", *args):
        return self.q(f'SELECT count(*) FROM "{table}" WHERE {where}', *args)[0][0]

    def counts(self, tables=("underretninger", "events", "outbox", "deadlines", "audit")):
        out = {}
        for t in tables:
            try:
                out[t] = self.count(t)
            except sqlite3.Error as e:
                out[t] = f"error: {e}"
        return out

    def events_of(self, ref):
        """[(kind, device, role, team)] of the stored events of ref, in order."""
        return self.q("SELECT kind, device, role, team FROM events WHERE reference = ? ORDER BY seq", ref)

    def integrity(self):
        return self.q("PRAGMA integrity_check")

    # -- logs --

    def all_logs(self):
        """{name: text} of every process log in the temp dir."""
        out = {}
        for n in os.listdir(self.tmp):
            if n.endswith(".log"):
                with open(self.path(n), "rb") as f:
                    out[n] = f.read().decode("utf-8", "replace")
        return out


def check_exactly_once(checks, fl, team, refs, stamps=None, what="", only=True):
    """Every ref filed once by the team's agent: one file per reference, nothing else in the case dir, one
    modtaget and one journaliseret event per reference in the database, every outbox row acknowledged, the
    .acks entries consistent, and (with stamps) no file written twice."""
    c = checks.check
    refs = set(refs)
    filed = fl.filed(team)
    entries = fl.case_entries(team)
    extra = [e for e in entries if not (e.startswith("U-") and e.endswith(".json") and e[:-5] in refs)]
    if not only:
        entries = [e for e in entries if e[:-5] in refs]
        extra = []
        filed = {r: p for r, p in filed.items() if r in refs}
    c(f"{what}case dir of {team} holds exactly the {len(refs)} references",
      set(filed) == refs and len(entries) == len(refs),
      f"{len(entries)} entries, missing {sorted(refs - set(filed))[:5]}, other {extra[:5]}")
    bad = []
    for r in sorted(refs & set(filed)):
        try:
            with open(filed[r], encoding="utf-8") as f:
                json.load(f)
        except (OSError, ValueError) as e:
            bad.append(f"{r}: {e}")
    c(f"{what}every filed file is a complete JSON document", not bad, "; ".join(bad[:3]))
    if stamps is not None:
        changed = []
        for r, (ino, mt) in stamps.items():
            try:
                st = os.stat(filed[r])
                if (st.st_ino, st.st_mtime_ns) != (ino, mt):
                    changed.append(r)
            except (KeyError, FileNotFoundError):
                changed.append(r)
        c(f"{what}no filed file was written again later", not changed, f"rewritten: {changed[:5]}")
    rows = fl.q("SELECT reference, kind, count(*) FROM events WHERE kind IN ('modtaget','journaliseret') "
                "GROUP BY reference, kind")
    per = {}
    for ref, kind, n in rows:
        per.setdefault(ref, {})[kind] = n
    wrong = [r for r in refs if per.get(r) != {"modtaget": 1, "journaliseret": 1}]
    c(f"{what}one modtaget and one journaliseret event per reference in the database", not wrong,
      f"{len(wrong)} wrong, e.g. {[(r, per.get(r)) for r in sorted(wrong)[:3]]}")
    open_rows = fl.q("SELECT reference FROM outbox WHERE needs_ack = 1 AND done_at IS NULL")
    open_refs = sorted(r for (r,) in open_rows if r in refs)
    c(f"{what}every outbox row is acknowledged (done)", not open_refs, f"open: {open_refs[:5]}")
    acks = set(fl.ack_entries(team))
    missing = sorted(f"{r}.{k}.json" for r in refs for k in ("modtaget", "journaliseret")
                     if f"{r}.{k}.json" not in acks)
    c(f"{what}the agent's .acks holds the signed modtaget and journaliseret of every reference", not missing,
      f"{len(acks)} entries; missing {missing[:4]}")
    # The agent marks an event sent when the broker's PUBACK reaches it, which may come after varskod has
    # already applied the event: give the last markers a moment.
    deadline = time.monotonic() + 10
    while True:
        unsent = sorted(f"{r}.{k}" for r in refs for k in ("modtaget", "journaliseret")
                        if f"{r}.{k}.sent" not in acks)
        if not unsent or time.monotonic() > deadline:
            break
        time.sleep(0.2)
        acks = set(fl.ack_entries(team))
    c(f"{what}the agent marked every stored event sent (PUBACK)", not unsent, f"not sent: {unsent[:4]}")
    stored = {}
    for ref, kind, ev in fl.q("SELECT reference, kind, event FROM events WHERE kind IN ('modtaget','journaliseret')"):
        if ref in refs:
            stored[(ref, kind)] = ev
    differ = []
    for r in sorted(refs):
        for k in ("modtaget", "journaliseret"):
            try:
                with open(os.path.join(fl.case_dir(team), ".acks", f"{r}.{k}.json"), encoding="utf-8") as f:
                    a = json.load(f)
            except (OSError, ValueError):
                continue
            try:
                d = json.loads(stored.get((r, k), "null"))
            except ValueError:
                d = None
            # The stored ack may be the MQTT payload {"type":"event","event":...} or the bare event.
            a_ev = a.get("event", a) if isinstance(a, dict) else a
            if a_ev != d:
                differ.append(f"{r}.{k}")
    c(f"{what}the events in .acks are exactly the events varskod stored (no second, different event)",
      not differ, f"differ: {differ[:4]}")
    if only:
        other = [a for a in acks if not any(a.startswith(r + ".") for r in refs)]
        c(f"{what}the agent's .acks holds nothing for other references", not other, f"other entries: {other[:5]}")
    import re
    filed_lines = {}
    refused = []
    for line in fl.read_log(f"agent-{team}").splitlines():
        m = re.search(r"(U-\d{4}-\d+): (filed|refused|failed)", line)
        if m and m.group(1) in refs:
            if m.group(2) == "filed":
                filed_lines[m.group(1)] = filed_lines.get(m.group(1), 0) + 1
            else:
                refused.append(line.strip())
    twice = sorted(r for r in refs if filed_lines.get(r, 0) != 1)
    c(f"{what}the agent's log says 'filed' exactly once per reference", not twice,
      f"{len(twice)} not once, e.g. {[(r, filed_lines.get(r, 0)) for r in twice[:4]]}")
    c(f"{what}the agent's log has no refusal or failure for these references", not refused, str(refused[:3]))
    try:
        tmps = [n for n in os.listdir(fl.case_dir(team)) if ".tmp-" in n]
    except FileNotFoundError:
        tmps = []
    c(f"{what}no temporary files left in the case directory", not tmps, str(tmps[:5]))
