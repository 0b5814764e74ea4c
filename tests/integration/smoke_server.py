#!/usr/bin/python3
"""Smoke test of varskod's varsko.v1 wire behaviour (docs/WIRE-BEHAVIOUR.md).

Runs a real varskod on a free loopback port in a temporary directory with a
self-signed certificate, prepared by the real varskoctl (init, import of the
demo municipality, invite), and talks to it with python3-websockets and
PyNaCl: enrollment, login, whoami, ping, revocation, and the refusals and
close codes. Exits 0 when every check held, 1 otherwise, 77 when it cannot
run (missing binaries or modules).

Usage: /usr/bin/python3 tests/integration/smoke_server.py [BUILD_DIR]
(BUILD_DIR defaults to $VARSKO_BUILD_ROOT, else <source>/build).
Must run on Debian's /usr/bin/python3 (python3-websockets 10.4, python3-nacl).
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import nacl.signing
    import nacl.public
    import nacl.exceptions
    import websockets
    from websockets.frames import Opcode
except ImportError as e:  # pragma: no cover
    print(f"SKIP: needs python3-websockets and python3-nacl ({e})")
    sys.exit(77)

SRC = os.environ.get("VARSKO_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VARSKO_BUILD_ROOT") or os.path.join(SRC, "build")
VARSKOD = os.path.join(BUILD, "gateway", "varskod")
VARSKOCTL = os.path.join(BUILD, "gateway", "varskoctl")
DEMO = os.path.join(SRC, "deploy", "demo", "slagelse.json")
USER = "laerer-anna"
HANDSHAKE_TIMEOUT = 2
MAX_FRAME = 8192
IDLE_TIMEOUT = 10  # the smallest the configuration allows
MAX_SESSIONS = 3

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


# ---- canonical signing inputs (proto.h) -------------------------------------

def field(b):
    return struct.pack(">I", len(b)) + b


def f_str(s):
    return field(s.encode())


def f_int(v):
    return field(struct.pack(">q", v))


def enroll_input(nonce, origin, code, sign_pk, box_pk, label):
    return (f_str("varsko-enroll-v1") + field(nonce) + f_str(origin) + f_str(code) + field(sign_pk)
            + field(box_pk) + f_str(label))


def confirm_input(nonce, origin, device):
    return f_str("varsko-confirm-v1") + field(nonce) + f_str(origin) + f_str(device)


def tagged_hash(tag, pk):
    return hashlib.blake2b(field(tag) + field(pk), digest_size=32).digest()


def device_id(sign_pk):
    return "d-" + tagged_hash(b"varsko-device-id-v1", sign_pk)[:8].hex()


def fingerprint(pk):
    h = tagged_hash(b"varsko-fingerprint-v1", pk)[:16].hex()
    return "-".join(h[i:i + 4] for i in range(0, 32, 4))


def login_input(nonce, origin, device, t):
    return f_str("varsko-login-v1") + field(nonce) + f_str(origin) + f_str(device) + f_int(t)


def cert_input(c):
    b = f_str("varsko-cert-v1") + f_int(c["version"]) + field(struct.pack(">Q", c["serial"]))
    for k in ("user", "name", "role", "team"):
        b += f_str(c[k])
    b += field(struct.pack(">Q", len(c["institutions"])))
    for i in c["institutions"]:
        b += f_str(i)
    b += f_str(c["device"]) + field(base64.b64decode(c["sign_pk"])) + field(base64.b64decode(c["box_pk"]))
    b += f_int(parse_time(c["not_before"])) + f_int(parse_time(c["not_after"]))
    return b


def parse_time(s):
    return int(time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)


def fmt_time(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def b64(b):
    return base64.b64encode(b).decode()


def cert_verifies(c, org_pk):
    try:
        nacl.signing.VerifyKey(org_pk).verify(cert_input(c), base64.b64decode(c["sig"]))
        return True
    except (nacl.exceptions.BadSignatureError, KeyError, ValueError):
        return False


# ---- the daemon ---------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, tmp):
        self.tmp = tmp
        self.port = free_port()
        self.conf = os.path.join(tmp, "varskod.conf")
        self.log = os.path.join(tmp, "varskod.log")
        self.proc = None
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1",
                        "-keyout", os.path.join(tmp, "tls.key"), "-out", os.path.join(tmp, "tls.crt")],
                       check=True, capture_output=True)
        os.chmod(os.path.join(tmp, "tls.key"), 0o600)
        with open(self.conf, "w") as f:
            f.write(f"""# smoke test
listen = 127.0.0.1
port = {self.port}
tls_cert = {tmp}/tls.crt
tls_key = {tmp}/tls.key
database = {tmp}/varsko.db
org_key = {tmp}/org.key
gateway_key = {tmp}/gateway.key
gateway_cert = {tmp}/gateway.cert
handshake_timeout = {HANDSHAKE_TIMEOUT}
max_frame = {MAX_FRAME}
idle_timeout = {IDLE_TIMEOUT}
log_level = debug
admin_port = 0
""")
        self.origin = f"wss://localhost:{self.port}"
        self.url = f"wss://localhost:{self.port}/"

    def ctl(self, *args):
        return subprocess.run([VARSKOCTL, "-c", self.conf, *args], capture_output=True, text=True, timeout=30)

    def start(self):
        self.logf = open(self.log, "a")
        offset = self.logf.tell()
        self.proc = subprocess.Popen([VARSKOD, "-c", self.conf], stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            with open(self.log) as f:
                f.seek(offset)
                if f"varskod listening on port {self.port}" in f.read():
                    return True
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.logf.close()
        return self.proc.returncode


# ---- WebSocket helpers ---------------------------------------------------------

class Client:
    def __init__(self, d):
        self.d = d
        self.ctx = ssl.create_default_context(cafile=os.path.join(d.tmp, "tls.crt"))

    async def connect(self):
        ws = await websockets.connect(self.d.url, ssl=self.ctx, subprotocols=["varsko.v1"], max_size=2 ** 20,
                                      ping_interval=None, open_timeout=5)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return ws, hello


async def recv_json(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def close_code(ws, timeout=5):
    """Wait for the server to close; the close code it sent (None if it did not close)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        return None
    await ws.wait_closed()
    return ws.close_code


async def expect_error_close(cl, frame, code, close, what):
    ws, hello = await cl.connect()
    await ws.send(json.dumps(frame(hello)))
    ans = await recv_json(ws)
    check(ans.get("type") == "error" and ans.get("code") == code, f"{what}: error {code} (got {ans})")
    check(ans.get("id") == "r1", f"{what}: id echoed")
    cc = await close_code(ws)
    check(cc == close, f"{what}: close {close} (got {cc})")


def enroll_frame(hello, code, sk, box_pk, origin, label="smoke", sig_key=None):
    nonce = base64.b64decode(hello["nonce"])
    sign_pk = bytes(sk.verify_key)
    sig = (sig_key or sk).sign(enroll_input(nonce, origin, code, sign_pk, box_pk, label)).signature
    f = {"type": "enroll", "id": "r1", "code": code, "origin": origin, "sign_pk": b64(sign_pk),
         "box_pk": b64(box_pk), "label": label, "sig": b64(sig)}
    if label == "":
        del f["label"]  # absent, and signed as ""
    return f


def confirm_frame(hello, sk, origin):
    nonce = base64.b64decode(hello["nonce"])
    device = device_id(bytes(sk.verify_key))
    sig = sk.sign(confirm_input(nonce, origin, device)).signature
    return {"type": "enroll_confirm", "id": "r2", "device": device, "origin": origin, "sig": b64(sig)}


def login_frame(hello, device, sk, origin, t=None):
    t = int(time.time()) if t is None else t
    nonce = base64.b64decode(hello["nonce"])
    sig = sk.sign(login_input(nonce, origin, device, t)).signature
    return {"type": "login", "id": "r1", "device": device, "origin": origin, "time": fmt_time(t), "sig": b64(sig)}


# ---- the checks ------------------------------------------------------------------

def tls_handshake(d, ctx):
    """(TLS version, ALPN) of a handshake with ctx, or None if the server refused it."""
    try:
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                return t.version(), t.selected_alpn_protocol()
    except (ssl.SSLError, OSError):
        return None


def tls_checks(d, base):
    cafile = os.path.join(d.tmp, "tls.crt")

    def ctx(minv, maxv, alpn=None, ciphers=None):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.load_verify_locations(cafile)
        c.minimum_version, c.maximum_version = minv, maxv
        if alpn:
            c.set_alpn_protocols(alpn)
        if ciphers:
            c.set_ciphers(ciphers)
        return c

    V = ssl.TLSVersion
    r = tls_handshake(d, ctx(V.TLSv1_3, V.TLSv1_3, ["h2", "http/1.1"]))
    check(r == ("TLSv1.3", "http/1.1"), f"TLS 1.3 with ALPN http/1.1 ({r})")
    r = tls_handshake(d, ctx(V.TLSv1_3, V.TLSv1_3, ["h2"]))
    check(r is None or r[1] is None, f"ALPN h2 is never selected ({r})")
    r = tls_handshake(d, ctx(V.TLSv1_2, V.TLSv1_2, None, "ECDHE-ECDSA-AES128-GCM-SHA256"))
    check(r is not None and r[0] == "TLSv1.2", f"TLS 1.2 with ECDHE+AEAD ({r})")
    r = tls_handshake(d, ctx(V.TLSv1_2, V.TLSv1_2, None, "ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256"))
    check(r is None, f"TLS 1.2 CBC or non-ECDHE suites refused ({r})")
    try:
        old = ctx(V.TLSv1, V.TLSv1_1)
        old.set_ciphers("ALL:@SECLEVEL=0")
        r = tls_handshake(d, old)
        check(r is None, f"TLS 1.0/1.1 refused ({r})")
    except (ValueError, ssl.SSLError):
        check(True, "TLS 1.0/1.1 not even offered by this OpenSSL")


async def run_checks(d, code, code2):
    cl = Client(d)
    sk = nacl.signing.SigningKey.generate()
    box_pk = bytes(nacl.public.PrivateKey.generate().public_key)

    # HTTPS page
    with urllib.request.urlopen(f"https://localhost:{d.port}/", context=cl.ctx, timeout=5) as r:
        check(r.status == 200 and "Varsko kører" in r.read().decode(), "GET / answers 200 'Varsko kører'")
    try:
        urllib.request.urlopen(f"https://localhost:{d.port}/nope", context=cl.ctx, timeout=5)
        check(False, "GET /nope is 404")
    except urllib.error.HTTPError as e:
        check(e.code == 404, "GET /nope is 404")

    # TLS: 1.2 minimum, ALPN http/1.1 only
    tls_checks(d, cl.ctx)

    # hello
    ws, hello = await cl.connect()
    check(ws.subprotocol == "varsko.v1", "subprotocol varsko.v1 negotiated")
    check(hello.get("type") == "hello" and hello.get("version") == 1, f"hello frame ({hello})")
    check(len(base64.b64decode(hello.get("nonce", ""))) == 32, "hello nonce is 32 bytes")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", hello.get("time", "")) is not None, "hello time format")
    check(abs(parse_time(hello["time"]) - time.time()) < 10, "hello time is now")
    # pre-login frames
    await ws.send(json.dumps({"type": "ping", "id": "p1"}))
    ans = await recv_json(ws)
    check(ans == {"type": "pong", "id": "p1"}, f"ping -> pong with id ({ans})")
    await ws.send(json.dumps({"type": "whoami", "id": "w1"}))
    ans = await recv_json(ws)
    check(ans.get("code") == "not_authenticated" and ans.get("id") == "w1", f"whoami before login ({ans})")
    await ws.send('{"type":"nonsense","id":"x1"}')
    ans = await recv_json(ws)
    check(ans.get("code") == "unknown_type", f"unknown type ({ans})")
    await ws.send('{"type":')
    ans = await recv_json(ws)
    check(ans.get("code") == "bad_json", f"bad json ({ans})")
    await ws.send('{"type":"ping","type":"ping"}')
    ans = await recv_json(ws)
    check(ans.get("code") == "duplicate_key", f"duplicate key ({ans})")
    await ws.send('{"type":"ping","extra":1}')
    ans = await recv_json(ws)
    check(ans.get("code") == "bad_frame", f"extra field ({ans})")
    # fragmented message is reassembled
    await ws.send(iter(['{"type":"pi', 'ng","id', '":"frag"}']))
    ans = await recv_json(ws)
    check(ans == {"type": "pong", "id": "frag"}, f"fragmented ping ({ans})")
    check(ws.open, "connection survives bad frames")
    await ws.close()
    check(hello["nonce"] != (await cl.connect())[1]["nonce"], "every connection gets a fresh nonce")

    # enrollment refusals
    other = nacl.signing.SigningKey.generate()
    await expect_error_close(cl, lambda h: enroll_frame(h, code, sk, box_pk, d.origin, sig_key=other),
                             "bad_signature", 1008, "enroll with a bad signature")
    await expect_error_close(cl, lambda h: enroll_frame(h, code, sk, box_pk, "wss://evil.example:443"),
                             "auth_failed", 1008, "enroll from a foreign origin")
    await expect_error_close(cl, lambda h: enroll_frame(h, "AAAA-BBBB-CCCC-DDDD", sk, box_pk, d.origin),
                             "code_unknown", 1008, "enroll with an unknown code")

    # enrollment (the code was not spent by the refusals above)
    ws, hello = await cl.connect()
    check(fingerprint(base64.b64decode(hello.get("org_pk", ""))) == d.org_fpr,
          "hello carries the organisation key whose fingerprint came with the code")
    await ws.send(json.dumps(enroll_frame(hello, code, sk, box_pk, d.origin)))
    ans = await recv_json(ws)
    check(ans.get("type") == "enrolled" and ans.get("id") == "r1", f"enrolled ({str(ans)[:200]})")
    if ans.get("type") != "enrolled":
        return
    # pending until confirmed: a login from another connection is refused device_pending
    await expect_error_close(cl, lambda h: login_frame(h, ans["cert"]["device"], sk, d.origin), "device_pending",
                             1008, "login before the enrollment is confirmed")
    await ws.send(json.dumps(confirm_frame(hello, sk, d.origin)))
    conf = await recv_json(ws)
    check(conf.get("type") == "confirmed" and conf.get("id") == "r2" and conf.get("cert") == ans["cert"],
          f"confirmed with the same certificate ({str(conf)[:200]})")
    cc = await close_code(ws)
    check(cc == 1000, f"close 1000 after confirmed (got {cc})")
    cert, org_pk = ans["cert"], base64.b64decode(ans["org_pk"])
    device = cert["device"]
    check(cert["user"] == USER and cert["sign_pk"] == b64(bytes(sk.verify_key)), "certificate names user and key")
    check(cert_verifies(cert, org_pk), "device certificate verifies against org_pk")
    check(cert_verifies(ans["gateway_cert"], org_pk) and ans["gateway_cert"]["role"] == "gateway",
          "gateway certificate verifies against org_pk")
    check(cert["not_after"] > cert["not_before"], "certificate validity")

    # the code is single-use
    sk2 = nacl.signing.SigningKey.generate()
    await expect_error_close(cl, lambda h: enroll_frame(h, code, sk2, box_pk, d.origin), "code_used", 1008,
                             "enroll with a used code")

    # login refusals, in the documented order
    await expect_error_close(cl, lambda h: login_frame(h, device, sk, "wss://evil.example:1"), "auth_failed", 1008,
                             "login from a foreign origin")
    await expect_error_close(cl, lambda h: login_frame(h, device, sk, d.origin, int(time.time()) - 3600),
                             "bad_time", 1008, "login with an old time")
    await expect_error_close(cl, lambda h: login_frame(h, "d-0000000000000000", sk, d.origin), "unknown_device",
                             1008, "login of an unknown device")
    await expect_error_close(cl, lambda h: login_frame(h, device, sk2, d.origin), "bad_signature", 1008,
                             "login with the wrong key")

    # a connection that goes away while its login is with the worker: the
    # answer is dropped and nothing else is disturbed
    for _ in range(5):
        ws, hello = await cl.connect()
        await ws.send(json.dumps(login_frame(hello, device, sk, d.origin)))
        ws.transport.abort()

    # login, whoami, ping, a second attempt
    ws, hello = await cl.connect()
    await ws.send(json.dumps(login_frame(hello, device, sk, d.origin)))
    ans = await recv_json(ws)
    check(ans.get("type") == "session" and ans.get("cert", {}).get("device") == device, f"login -> session ({ans})")
    await ws.send(json.dumps({"type": "whoami", "id": "w2"}))
    ans = await recv_json(ws)
    check(ans.get("type") == "session" and ans.get("id") == "w2" and ans["cert"] == cert, "whoami -> session")
    await ws.send(json.dumps({"type": "ping"}))
    ans = await recv_json(ws)
    check(ans == {"type": "pong"}, f"ping without id ({ans})")
    await ws.send(json.dumps(login_frame(hello, device, sk, d.origin)))
    ans = await recv_json(ws)
    check(ans.get("code") == "protocol", f"second login on a connection ({ans})")
    await ws.send(json.dumps({"type": "hello", "version": 1, "nonce": b64(bytes(32)), "time": fmt_time(time.time())}))
    ans = await recv_json(ws)
    check(ans.get("type") == "error", f"server-only frame type refused ({ans})")
    check(ws.open, "session survives")

    # revocation takes effect on the live session
    r = d.ctl("revoke", device)
    check(r.returncode == 0, f"varskoctl revoke ({r.stderr.strip()})")
    await ws.send(json.dumps({"type": "whoami", "id": "w3"}))
    ans = await recv_json(ws)
    check(ans.get("code") == "device_revoked" and ans.get("id") == "w3", f"whoami after revoke ({ans})")
    cc = await close_code(ws)
    check(cc == 1008, f"close 1008 after revoke (got {cc})")
    await expect_error_close(cl, lambda h: login_frame(h, device, sk, d.origin), "device_revoked", 1008,
                             "login of a revoked device")

    # limits and close codes
    ws, hello = await cl.connect()
    await ws.send(json.dumps({"type": "ping", "id": "x" * (MAX_FRAME + 10)}))
    cc = await close_code(ws)
    check(cc == 1009, f"oversized frame -> 1009 (got {cc})")
    ws, hello = await cl.connect()
    await ws.send(iter(['{"type":"ping","id":"'] + ["y" * 1000] * (MAX_FRAME // 1000 + 1) + ['"}']))
    cc = await close_code(ws)
    check(cc == 1009, f"oversized fragmented message -> 1009 (got {cc})")
    ws, hello = await cl.connect()
    await ws.send(b'{"type":"ping"}')
    cc = await close_code(ws)
    check(cc == 1003, f"binary message -> 1003 (got {cc})")
    ws, hello = await cl.connect()
    await ws.write_frame(True, Opcode.TEXT, b'{"type":"ping","id":"\xc3\x28"}')
    cc = await close_code(ws)
    check(cc == 1007, f"invalid UTF-8 -> 1007 (got {cc})")
    ws, hello = await cl.connect()
    await ws.write_frame(True, Opcode.TEXT, b'{"type":"ping","id":"\xed\xa0\x80"}')
    cc = await close_code(ws)
    check(cc == 1007, f"UTF-8 surrogate -> 1007 (got {cc})")

    # too many bad frames
    ws, hello = await cl.connect()
    errors = 0
    for _ in range(17):
        await ws.send("[]")
    for _ in range(17):
        ans = await recv_json(ws)
        errors += ans.get("type") == "error"
    check(errors == 17, f"17 error answers (got {errors})")
    cc = await close_code(ws)
    check(cc == 1008, f"17th bad frame -> close 1008 (got {cc})")
    ws, hello = await cl.connect()
    for _ in range(16):
        await ws.send("[]")
    for _ in range(16):
        await recv_json(ws)
    await ws.send(json.dumps({"type": "ping", "id": "still"}))
    ans = await recv_json(ws)
    check(ans == {"type": "pong", "id": "still"}, "16 bad frames are tolerated")
    await ws.close()

    # wrong path, no subprotocol
    for url, protos in ((d.url + "x", ["varsko.v1"]), (d.url, None)):
        try:
            ws = await websockets.connect(url, ssl=cl.ctx, subprotocols=protos, open_timeout=5)
            check(ws.subprotocol == "varsko.v1" and url == d.url, f"upgrade refused for {url} {protos}")
            await ws.close()
        except (websockets.InvalidHandshake, websockets.ConnectionClosed, OSError):
            check(True, "upgrade refused")

    # a second enrollment on the other code still works after all that
    sk3 = nacl.signing.SigningKey.generate()
    ws, hello = await cl.connect()
    await ws.send(json.dumps(enroll_frame(hello, code2, sk3, box_pk, d.origin, label="")))
    ans = await recv_json(ws)
    check(ans.get("type") == "enrolled", f"second device enrolls ({str(ans)[:120]})")
    if ans.get("type") != "enrolled":
        return
    await ws.send(json.dumps(confirm_frame(hello, sk3, d.origin)))
    check((await recv_json(ws)).get("type") == "confirmed", "second device confirmed")
    check(await close_code(ws) == 1000, "close 1000 after second enrollment")
    device3 = ans["cert"]["device"]

    # a client that sends but never reads is dropped (bounded answer queue); a
    # small receive buffer makes the server's writes back up quickly
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", d.port))
    ws = await websockets.connect(d.url, sock=raw, ssl=cl.ctx, server_hostname="localhost",
                                  subprotocols=["varsko.v1"], ping_interval=None, max_queue=1, read_limit=4096)
    hello = await recv_json(ws)
    await ws.send(json.dumps(login_frame(hello, device3, sk3, d.origin)))
    ans = await recv_json(ws)
    check(ans.get("type") == "session", f"second device logs in ({ans})")
    dropped, stalled, sent = False, False, 0
    try:
        for sent in range(300000):
            await asyncio.wait_for(ws.send('{"type":"ping","id":"%s"}' % ("f" * 64)), 3)
    except websockets.ConnectionClosed:
        dropped = True
    except asyncio.TimeoutError:
        stalled = True
    if stalled:
        # lws stopped reading from us as well (its own back-pressure): then
        # nothing more can pile up, and the idle timeout must end it.
        t0 = time.time()
        try:
            await asyncio.wait_for(ws.wait_closed(), IDLE_TIMEOUT + 10)
            dropped = True
        except asyncio.TimeoutError:
            pass
        print(f"flood stalled after {sent} pings; closed after {time.time() - t0:.1f}s: {dropped}", flush=True)
    check(dropped, f"a client that does not read is dropped (after {sent} pings)")
    with open(d.log) as f:
        log = f.read()
        check("does not read its answers; dropped" in log or (stalled and "idle timeout" in log),
              "dropped for its full answer queue, or by the idle timeout after back-pressure")

    async def handshake_timeout():
        ws, hello = await cl.connect()
        t0 = time.time()
        cc = await close_code(ws, timeout=HANDSHAKE_TIMEOUT + 5)
        took = time.time() - t0
        check(cc == 1008, f"handshake timeout -> 1008 (got {cc})")
        check(HANDSHAKE_TIMEOUT - 0.5 <= took <= HANDSHAKE_TIMEOUT + 2, f"handshake timeout after {took:.1f}s")

    async def idle_timeout():
        ws, hello = await cl.connect()
        await ws.send(json.dumps(login_frame(hello, device3, sk3, d.origin)))
        ans = await recv_json(ws)
        check(ans.get("type") == "session", f"second device logs in ({ans})")
        t0 = time.time()
        await asyncio.sleep(IDLE_TIMEOUT / 2)
        await ws.send(json.dumps({"type": "ping", "id": "keep"}))  # a frame restarts the idle clock
        ans = await recv_json(ws)
        check(ans == {"type": "pong", "id": "keep"}, "ping while idle")
        cc = await close_code(ws, timeout=IDLE_TIMEOUT * 2)
        took = time.time() - t0
        check(cc == 1001, f"idle timeout -> 1001 (got {cc})")
        check(IDLE_TIMEOUT * 1.5 - 0.5 <= took <= IDLE_TIMEOUT * 1.5 + 2, f"idle close after {took:.1f}s")

    await asyncio.gather(handshake_timeout(), idle_timeout())


async def run_cap_checks(d):
    """Run with max_sessions = MAX_SESSIONS: one more is refused, a freed slot is usable again."""
    cl = Client(d)
    conns = [await cl.connect() for _ in range(MAX_SESSIONS)]
    check(all(h.get("type") == "hello" for _, h in conns), f"{MAX_SESSIONS} sessions open")
    try:
        ws, hello = await cl.connect()
        check(False, f"session {MAX_SESSIONS + 1} refused (got {hello})")
    except (websockets.InvalidHandshake, websockets.ConnectionClosed, OSError, asyncio.TimeoutError):
        check(True, "session over max_sessions refused")
    await conns[0][0].close()
    await asyncio.sleep(0.3)
    ws, hello = await cl.connect()
    check(hello.get("type") == "hello", "a freed slot can be used")
    for w, _ in conns[1:] + [(ws, hello)]:
        await w.close()

def main():
    for exe in (VARSKOD, VARSKOCTL):
        if not os.access(exe, os.X_OK):
            print(f"SKIP: {exe} not built")
            return 77
    with tempfile.TemporaryDirectory(prefix="varsko-smoke-") as tmp:
        d = Daemon(tmp)
        r = d.ctl("init")
        if not check(r.returncode == 0, f"varskoctl init ({r.stderr.strip()})"):
            return 1
        r = d.ctl("import", DEMO)
        if not check(r.returncode == 0, f"varskoctl import ({r.stderr.strip()})"):
            return 1
        codes = []
        for _ in range(2):
            r = d.ctl("invite", "--user", USER, "--json")
            if not check(r.returncode == 0, f"varskoctl invite ({r.stderr.strip()})"):
                return 1
            inv = json.loads(r.stdout)
            codes.append(inv["code"])
            d.org_fpr = inv.get("org_fingerprint")
        r = subprocess.run([VARSKOD, "--check-config", "-c", d.conf], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.strip() == f"{d.conf}: ok", f"--check-config ({r.stdout}{r.stderr})")
        if not check(d.start(), "varskod starts and logs its port"):
            print(open(d.log).read())
            return 1
        try:
            asyncio.run(asyncio.wait_for(run_checks(d, codes[0], codes[1]), 120))
        except Exception as e:  # any surprise is a failure, with its reason
            check(False, f"unexpected exception: {type(e).__name__}: {e}")
        check(d.proc.poll() is None, "varskod still running after the abuse")
        rc = d.stop()
        check(rc == 0, f"SIGTERM -> exit 0 (got {rc})")
        with open(d.conf, "a") as f:
            f.write(f"max_sessions = {MAX_SESSIONS}\n")
        if check(d.start(), "varskod restarts with max_sessions"):
            try:
                asyncio.run(asyncio.wait_for(run_cap_checks(d), 60))
            except Exception as e:
                check(False, f"unexpected exception: {type(e).__name__}: {e}")
            rc = d.stop()
            check(rc == 0, f"SIGTERM -> exit 0 after the session cap run (got {rc})")
        r = d.ctl("audit", "verify")
        check(r.returncode == 0, f"audit chain intact ({r.stdout.strip()} {r.stderr.strip()})")
        db = sqlite3.connect(f"file:{tmp}/varsko.db?mode=ro", uri=True)
        rows = db.execute("SELECT event, detail FROM audit").fetchall()
        db.close()
        for event, detail in (("enroll_ok", None), ("enroll_refused", "bad_signature"),
                              ("enroll_refused", "auth_failed"), ("enroll_refused", "code_used"),
                              ("login_ok", None), ("login_refused", "bad_time"),
                              ("login_refused", "device_revoked"), ("login_refused", "bad_signature"),
                              ("bad_frame_close", None)):
            check(any(e == event and (detail is None or detail in dt) for e, dt in rows),
                  f"audited: {event} {detail or ''}")
        with open(d.log) as f:
            log = f.read()
        for secret in codes + [USER, "Anna", "127.0.0.1", "d-"]:
            check(secret not in log, f"log does not contain {secret!r}")
        check("logged in" in log and "enrolled" in log, "log names sessions and devices by pseudonym")
        check("varskod stopped" in log, "log says varskod stopped")
        if failures:
            print("---- varskod log ----")
            print(log[-4000:])
    print(f"{checks} checks, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
