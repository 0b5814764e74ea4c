#!/usr/bin/python3
"""Helpers for the Varsko integration tests.

Everything runs on loopback, on free ports, in one temporary directory per
test, and every process a test starts is stopped in cleanup (also on failure
and on SIGTERM). A test that cannot run calls skip(), which exits 77.

Binaries are found under $VARSKO_BUILD_ROOT (set by
tests/integration/meson.build; default <source>/build) and scripts under
$VARSKO_SOURCE_ROOT. Set VARSKO_KEEP_TMP=1 to keep the temporary directory
for a post-mortem.

The raw WebSocket client (RawClient) speaks varsko.v1 with
python3-websockets 10.4 (asyncio API) and signs login and enroll frames
itself with PyNaCl, using the canonical encoding of proto/proto.h.
"""

import asyncio
import atexit
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77

SOURCE_ROOT = os.environ.get(
    "VARSKO_SOURCE_ROOT",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_ROOT = os.environ.get("VARSKO_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))

SUBPROTOCOL = "varsko.v1"
TAG_LOGIN = b"varsko-login-v1"
TAG_ENROLL = b"varsko-enroll-v1"
TAG_CONFIRM = b"varsko-confirm-v1"
TAG_FPR = b"varsko-fingerprint-v1"
TAG_DEVICE_ID = b"varsko-device-id-v1"


def skip(why):
    """Exit 77 (meson: skipped) after saying why."""
    print(f"SKIP: {why}", flush=True)
    sys.exit(SKIP)


def log(msg):
    print(msg, flush=True)


def binary(rel):
    """Path of a built program (e.g. "gateway/varskod"); skips when missing."""
    p = os.path.join(BUILD_ROOT, rel)
    if not os.access(p, os.X_OK):
        skip(f"{rel} is not built in {BUILD_ROOT}")
    return p


def require_modules():
    """Import the Debian Python modules the tests need, or skip."""
    import importlib.util
    for mod in ("nacl", "websockets"):
        if importlib.util.find_spec(mod) is None:
            skip(f"Python module {mod} missing; run deploy/install-deps.sh and use /usr/bin/python3")


# The teams certs/mkdev.sh and deploy/mosquitto/mkconf.sh make agents for by default, the MQTT
# identities (certificate CNs) they make, and the prefix of each identity's read-only observer.
MQTT_TEAMS = ["team-slagelse", "team-korsoer-skaelskoer", "team-ung", "team-handicap", "doegnvagt"]
MQTT_IDENTITIES = ["varskod"] + [f"agent-{t}" for t in MQTT_TEAMS]
SPY_PREFIX = "spy-"
TRANSCRIPTS = os.path.join(BUILD_ROOT, "cli-transcripts")
_transcript_started = False


def cli_transcript(args, rc, err):
    """Keep what the staff CLI wrote on stderr in this test, for test_cli_transcript.py (issue 11: no line
    a person sees is a bare error code). One file per test script, rewritten by each run of it."""
    global _transcript_started
    try:
        os.makedirs(TRANSCRIPTS, exist_ok=True)
        name = os.path.basename(sys.argv[0]).rsplit(".", 1)[0] or "unknown"
        with open(os.path.join(TRANSCRIPTS, name + ".txt"), "a" if _transcript_started else "w",
                  encoding="utf-8") as f:
            f.write(f"### varsko {' '.join(str(a) for a in args[:3])} -> {rc}\n{err}")
        _transcript_started = True
    except OSError:
        pass


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_not(*taken):
    """A free port on 127.0.0.1 that is none of `taken`."""
    while True:
        p = free_port()
        if p not in taken:
            return p


def wait_port(port, host="127.0.0.1", timeout=20.0, proc=None):
    """Wait until host:port accepts a TCP connection. False on timeout or when proc exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def utc_now():
    return int(time.time())


def fmt_time(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# ---- canonical encoding (proto/proto.h) -------------------------------------

def field(b):
    """One field: 4-byte big-endian length, then the bytes."""
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def field_i64(v):
    return field(struct.pack(">q", v))


def field_u64(v):
    return field(struct.pack(">Q", v))


def login_input(nonce, origin, device, t):
    return field(TAG_LOGIN) + field(nonce) + field(origin) + field(device) + field_i64(t)


def enroll_input(nonce, origin, code, sign_pk, box_pk, label):
    return (field(TAG_ENROLL) + field(nonce) + field(origin) + field(code) +
            field(sign_pk) + field(box_pk) + field(label))


def confirm_input(nonce, origin, device):
    return field(TAG_CONFIRM) + field(nonce) + field(origin.encode()) + field(device.encode())


def device_id(sign_pk):
    h = hashlib.blake2b(field(TAG_DEVICE_ID) + field(sign_pk), digest_size=32).digest()
    return "d-" + h[:8].hex()


def fingerprint(pk):
    h = hashlib.blake2b(field(TAG_FPR) + field(pk), digest_size=32).digest()[:16].hex()
    return "-".join(h[i:i + 4] for i in range(0, 32, 4))


def b64(b):
    return base64.b64encode(b).decode("ascii")


def unb64(s):
    return base64.b64decode(s, validate=True)


# ---- raw WebSocket client ----------------------------------------------------

class Closed(Exception):
    """The server closed the connection; .code and .reason say how."""

    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


class RawClient:
    """One varsko.v1 connection. Use `async with RawClient(url, ca) as c:`.

    After connecting, c.hello holds the server's hello frame (c.nonce its
    decoded nonce).
    """

    def __init__(self, url, ca_file, timeout=10.0):
        self.url = url
        self.ca_file = ca_file
        self.timeout = timeout
        self.ws = None
        self.hello = None
        self.nonce = None

    async def __aenter__(self):
        import websockets
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ws = await asyncio.wait_for(
            websockets.connect(self.url, ssl=ctx, subprotocols=[SUBPROTOCOL],
                               max_size=None, ping_interval=None, open_timeout=self.timeout),
            self.timeout)
        self.hello = await self.recv()
        if self.hello.get("type") != "hello":
            raise AssertionError(f"first frame is not hello: {self.hello.get('type')!r}")
        self.nonce = unb64(self.hello["nonce"])
        return self

    async def __aexit__(self, *exc):
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except Exception:
            pass

    @property
    def subprotocol(self):
        return self.ws.subprotocol

    async def send_text(self, text):
        await self.ws.send(text)

    async def send(self, obj):
        await self.ws.send(json.dumps(obj, separators=(",", ":")))

    async def recv(self):
        """The next frame as a dict. Raises Closed when the server closed."""
        import websockets
        try:
            msg = await asyncio.wait_for(self.ws.recv(), self.timeout)
        except websockets.exceptions.ConnectionClosed as e:
            raise Closed(e.code, e.reason) from None
        if isinstance(msg, bytes):
            raise AssertionError("server sent a binary message")
        return json.loads(msg)

    async def request_text(self, text):
        """Send raw text (e.g. malformed JSON) and return the next frame."""
        await self.ws.send(text)
        return await self.recv()

    async def request(self, obj):
        await self.send(obj)
        return await self.recv()

    async def wait_closed(self):
        """Wait for the close; return (code, reason). Frames before it are ignored."""
        import websockets
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic()))
            except websockets.exceptions.ConnectionClosed as e:
                return e.code, e.reason
            except asyncio.TimeoutError:
                break
        return None, None

    def origin(self):
        """The origin a client signs for this URL: wss://host:port."""
        rest = self.url.split("://", 1)[1].split("/", 1)[0]
        return "wss://" + rest.lower()

    async def login(self, device, signing_key, origin=None, t=None, req_id="l1"):
        """Send a login signed with signing_key (nacl.signing.SigningKey); return the answer."""
        origin = origin if origin is not None else self.origin()
        t = t if t is not None else utc_now()
        sig = signing_key.sign(login_input(self.nonce, origin, device, t)).signature
        return await self.request({"type": "login", "id": req_id, "device": device, "origin": origin,
                                   "time": fmt_time(t), "sig": b64(sig)})

    async def enroll(self, code, signing_key, box_pk, label="", origin=None, req_id="e1"):
        """Send an enroll signed with signing_key (the new device's key); return the answer."""
        origin = origin if origin is not None else self.origin()
        spk = bytes(signing_key.verify_key)
        sig = signing_key.sign(enroll_input(self.nonce, origin, code, spk, box_pk, label)).signature
        frame = {"type": "enroll", "id": req_id, "code": code, "origin": origin,
                 "sign_pk": b64(spk), "box_pk": b64(box_pk), "sig": b64(sig)}
        if label:
            frame["label"] = label
        return await self.request(frame)

    async def confirm(self, signing_key, origin=None, req_id="c1"):
        """Send enroll_confirm for signing_key's device over this connection's nonce; return the answer."""
        origin = origin if origin is not None else self.origin()
        device = device_id(bytes(signing_key.verify_key))
        sig = signing_key.sign(confirm_input(self.nonce, origin, device)).signature
        return await self.request({"type": "enroll_confirm", "id": req_id, "device": device, "origin": origin,
                                   "sig": b64(sig)})


def run(coro):
    """Run one coroutine to completion (a fresh event loop each time)."""
    return asyncio.run(coro)


# ---- checks ------------------------------------------------------------------

class Checks:
    """Prints every check; exit status 1 when one failed."""

    def __init__(self):
        self.failed = []
        self.count = 0

    def check(self, name, ok, detail=""):
        self.count += 1
        if ok:
            log(f"ok   {name}")
        else:
            self.failed.append(name)
            log(f"FAIL {name}" + (f": {detail}" if detail else ""))
        return bool(ok)

    def done(self):
        if self.failed:
            log(f"{len(self.failed)} of {self.count} checks failed: " + ", ".join(self.failed))
            return 1
        log(f"all {self.count} checks passed")
        return 0


# ---- the environment: temp dir, certificates, processes ------------------------

class Env:
    """A temporary directory with certificates, a varskod config and the processes of one test.

    Use as a context manager; cleanup() stops every process and removes the
    directory (kept when VARSKO_KEEP_TMP=1 or keep=True).
    """

    def __init__(self, keep=None, gateway=True):
        self.tmp = tempfile.mkdtemp(prefix="varsko-it-")
        os.chmod(self.tmp, 0o700)
        self.keep = keep if keep is not None else os.environ.get("VARSKO_KEEP_TMP") == "1"
        self.procs = {}  # name -> (Popen, logfile)
        self.certs = os.path.join(self.tmp, "certs")
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state, 0o700)
        self.conf = os.path.join(self.tmp, "varskod.conf")
        self.port = None
        self.mqtt_port = None
        self.varskod = binary("gateway/varskod") if gateway else None
        self.varskoctl = binary("gateway/varskoctl") if gateway else None
        self.cli_bin = os.path.join(BUILD_ROOT, "clients", "cli", "varsko")
        self._cleaned = False
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        self.cleanup()
        sys.exit(128 + signum)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    @property
    def ca(self):
        return os.path.join(self.certs, "ca.crt")

    @property
    def database(self):
        return os.path.join(self.state, "varsko.db")

    @property
    def ws_url(self):
        return f"wss://127.0.0.1:{self.port}"

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def make_certs(self):
        """certs/mkdev.sh into <tmp>/certs, with a read-only observer certificate per MQTT identity
        (SPY_PREFIX + name: see start_mosquitto)."""
        spies = [a for n in MQTT_IDENTITIES for a in ("--client", SPY_PREFIX + n)]
        r = subprocess.run([os.path.join(SOURCE_ROOT, "certs", "mkdev.sh"), "--quiet", *spies, self.certs],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"certs/mkdev.sh failed: {r.stderr.strip()}")

    def write_config(self, port=None, **extra):
        """Write <tmp>/varskod.conf for a listener on 127.0.0.1:port (a free one by default).

        extra: more keys (e.g. max_frame=4096); a value None drops a default key.
        """
        if not os.path.exists(self.ca):
            self.make_certs()
        self.port = port or free_port()
        keys = {
            "listen": "127.0.0.1",
            "port": str(self.port),
            "tls_cert": os.path.join(self.certs, "server.crt"),
            "tls_key": os.path.join(self.certs, "server.key"),
            "database": self.database,
            "org_key": os.path.join(self.state, "org.key"),
            "gateway_key": os.path.join(self.state, "gateway.key"),
            "gateway_cert": os.path.join(self.state, "gateway.cert"),
            "origins": f"wss://localhost:{self.port} wss://127.0.0.1:{self.port}",
            "tenant": "slagelse",
            "log_level": "debug",
            # The admin listener (/healthz, /metrics) on a free port too, never its fixed default.
            "admin_port": str(free_port_not(self.port)),
        }
        for k, v in extra.items():
            keys[k] = None if v is None else str(v)
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("# written by tests/integration/harness.py\n")
            for k, v in keys.items():
                if v is not None:
                    f.write(f"{k} = {v}\n")
        return self.conf

    # -- programs --

    def run(self, argv, env=None, timeout=60, input=None):
        """Run argv; return (rc, stdout, stderr) as text."""
        e = dict(os.environ)
        if env:
            e.update(env)
        try:
            r = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=timeout,
                               input=input, stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return 124, "", f"timed out after {timeout} s: {os.path.basename(argv[0])}"
        return r.returncode, r.stdout, r.stderr

    def admin_get(self, path, timeout=5.0):
        """GET path from varskod's admin listener (admin_port of the config): (status, body text)."""
        import http.client
        port = None
        with open(self.conf, encoding="utf-8") as f:
            for line in f:
                k, _, v = line.partition("=")
                if k.strip() == "admin_port":
                    port = int(v.strip())
        if not port:
            raise RuntimeError("the config has no admin_port")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def ctl(self, *args, timeout=60):
        """varskoctl -c <conf> ARGS...; returns (rc, stdout, stderr)."""
        return self.run([self.varskoctl, "-c", self.conf, *args], timeout=timeout)

    def ctl_ok(self, *args):
        rc, out, err = self.ctl(*args)
        if rc != 0:
            raise RuntimeError(f"varskoctl {args[0]} exited {rc}: {err.strip()}")
        return out

    def invite(self, user, *extra):
        """varskoctl invite --user U --json; returns the parsed object."""
        return json.loads(self.ctl_ok("invite", "--user", user, "--json", *extra))

    def cli(self, home, *args, ca=None, timeout=60, env=None):
        """Run the `varsko` CLI with VARSKO_HOME=home (and VARSKO_CA=ca when given)."""
        if not os.access(self.cli_bin, os.X_OK):
            skip(f"clients/cli/varsko is not built in {BUILD_ROOT}")
        e = {"VARSKO_HOME": home, "HOME": self.tmp}
        if ca is not None:
            e["VARSKO_CA"] = ca
        if env:
            e.update(env)
        base = dict(os.environ)
        base.pop("VARSKO_CA", None)
        base.update(e)
        try:
            r = subprocess.run([self.cli_bin, *args], capture_output=True, text=True, env=base,
                               timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return 124, "", f"timed out after {timeout} s"
        cli_transcript(args, r.returncode, r.stderr)
        return r.returncode, r.stdout, r.stderr

    def start(self, name, argv, port=None, timeout=20.0, env=None):
        """Start argv in the background, output to <tmp>/<name>.log; wait for port if given."""
        logpath = self.path(f"{name}.log")
        logf = open(logpath, "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=e, start_new_session=True)
        self.procs[name] = (p, logf)
        if port is not None and not wait_port(port, timeout=timeout, proc=p):
            rc = p.poll()
            raise RuntimeError(f"{name} did not listen on {port} (exit {rc}); log: {self.read_log(name)[-2000:]}")
        return p

    def stop(self, name, timeout=15.0):
        """SIGTERM (then SIGKILL after timeout) one process; returns its exit status, None if not started."""
        entry = self.procs.pop(name, None)
        if entry is None:
            return None
        p, logf = entry
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        logf.close()
        return p.returncode

    def alive(self, name):
        entry = self.procs.get(name)
        return entry is not None and entry[0].poll() is None

    def read_log(self, name):
        try:
            with open(self.path(f"{name}.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def start_varskod(self):
        if not os.path.exists(self.conf):
            self.write_config()
        return self.start("varskod", [self.varskod, "-c", self.conf], port=self.port)

    def stop_varskod(self):
        return self.stop("varskod")

    def start_mosquitto(self, port=None, teams=None, tenant="slagelse"):
        """A TLS-only mosquitto with client certificates and the Varsko ACL (deploy/mosquitto/mkconf.sh)."""
        mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.access(mosq, os.X_OK):
            skip("mosquitto is not installed (deploy/install-deps.sh)")
        if not os.path.exists(self.ca):
            self.make_certs()
        self.mqtt_port = port or free_port()
        argv = [os.path.join(SOURCE_ROOT, "deploy", "mosquitto", "mkconf.sh"),
                "--port", str(self.mqtt_port), "--certs", self.certs,
                "--state", self.path("mqtt"), "--tenant", tenant]
        for t in teams or []:
            argv += ["--team", t]
        # Each observer reads what its identity reads and writes nothing: it sits beside the real
        # client without taking its session (the client id is the certificate's CN).
        for t in MQTT_TEAMS:
            argv += ["--reader", f"{SPY_PREFIX}agent-{t}:varsko/{tenant}/team/{t}/#"]
        argv += ["--reader", f"{SPY_PREFIX}varskod:varsko/{tenant}/ack"]
        rc, out, err = self.run(argv)
        if rc != 0:
            raise RuntimeError(f"mkconf.sh failed: {err.strip()}")
        return self.start("mosquitto", [mosq, "-c", out.strip()], port=self.mqtt_port)

    def stop_mosquitto(self):
        return self.stop("mosquitto")

    # -- database inspection (read-only helpers and test manipulation) --

    def db(self):
        c = sqlite3.connect(self.database, timeout=10)
        c.execute("PRAGMA busy_timeout = 10000")
        return c

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        for name in list(self.procs):
            try:
                self.stop(name)
            except Exception as e:  # keep going: every process must be stopped
                log(f"cleanup: stopping {name}: {e}")
        if self.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def demo_file():
    return os.path.join(SOURCE_ROOT, "deploy", "demo", "slagelse.json")


def load_demo():
    """The demo municipality document, or skip when it is not there."""
    p = demo_file()
    if not os.path.exists(p):
        skip("deploy/demo/slagelse.json does not exist yet")
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def demo_users(doc):
    """[(user id, display name, role)] of the demo document."""
    out = []
    for u in doc.get("users", []):
        uid = u.get("id") or u.get("user")
        out.append((uid, u.get("name", ""), u.get("role", "")))
    return out


def find_key(obj, key):
    """The first value of `key` anywhere in a JSON value (depth first), or None."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None
