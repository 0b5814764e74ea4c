#!/usr/bin/python3
"""Every error code of the catalogue through the staff CLI (issue 11, Done means).

clients/catalogue/da.json has a Danish text and a next step for every code
of proto/include/varsko/err.h. This test makes `varsko` meet each of them and
checks what a teacher would see: the Danish text (and its next step) on
standard error, the stable code after it as "(kode: NAME)", never a line
that is the bare code, and the documented exit status (0 ok, 1 refused or
failed, 2 usage, 3 the server could not be reached: connect, timeout,
closed, unavailable).

How each code is met:
  - a server made to answer it: a small WebSocket server on loopback with
    the real varskod's TLS certificate and the real organisation's hello
    (so the enrolled device logs in to it) that answers the login with an
    `error` frame carrying that code. Every code goes through this path, also
    those that only programs make locally: the CLI must render any code the
    same way, wherever it came from;
  - genuinely, where a code can be produced for real: usage (a wrong
    option, exit 2), connect (the server stopped), closed (the server
    closes after its hello), tls (a certificate from another CA),
    not_found (a home with no device), and the real varskod's answers for a
    clock an hour ahead (bad_time, with the skew in the detail), a revoked
    device (device_revoked) and a device the server does not know
    (unknown_device).
"""

import asyncio
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

UNREACHABLE = {"connect", "timeout", "closed", "unavailable"}
CAUSED = UNREACHABLE | {"tls"}  # the CLI names the address and the cause (network, certificate, server)


def catalogue():
    with open(os.path.join(harness.SOURCE_ROOT, "clients", "catalogue", "da.json"), encoding="utf-8") as f:
        errors = json.load(f)["errors"]
    with open(os.path.join(harness.SOURCE_ROOT, "proto", "include", "varsko", "err.h"), encoding="utf-8") as f:
        codes = re.findall(r'X\((\w+), (-?\d+), "([a-z_]+)",', f.read())
    return errors, [n for _, _, n in codes]


class FakeServer:
    """A varsko.v1 server on loopback that says the real hello and then answers every frame with one code.

    mode "answer": an error frame with self.code for each frame; "close": close right after the hello.
    """

    def __init__(self, certs, hello):
        self.certs = certs
        self.hello = hello
        self.code = "internal"
        self.mode = "answer"
        self.port = harness.free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(20):
            raise RuntimeError("fake server did not start")

    @property
    def url(self):
        return f"wss://localhost:{self.port}/varsko"

    def _run(self):
        import websockets
        asyncio.set_event_loop(self.loop)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.certs, "server.crt"), os.path.join(self.certs, "server.key"))

        async def handler(ws, path=None):
            hello = dict(self.hello, time=harness.fmt_time(time.time()) if isinstance(self.hello.get("time"), str)
                         else int(time.time()))
            await ws.send(json.dumps(hello))
            if self.mode == "close":
                await ws.close()
                return
            try:
                async for msg in ws:
                    try:
                        fid = json.loads(msg).get("id")
                    except (ValueError, AttributeError):
                        fid = None
                    ans = {"type": "error", "code": self.code, "message": f"the test server answers {self.code}"}
                    if fid is not None:
                        ans["id"] = fid
                    await ws.send(json.dumps(ans))
            except websockets.ConnectionClosed:
                pass

        async def main():
            self.server = await websockets.serve(handler, "127.0.0.1", self.port, ssl=ctx,
                                                 subprotocols=["varsko.v1"])
            self.ready.set()
            self.stop_event = asyncio.Event()
            await self.stop_event.wait()
            self.server.close()
            await self.server.wait_closed()

        self.loop.run_until_complete(main())

    def close(self):
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(10)


def real_hello(fl):
    async def go():
        async with harness.RawClient(fl.ws_url, fl.ca) as cl:
            return cl.hello
    return harness.run(go())


def copy_home(fl, user, name, server=None):
    home = fl.path(name)
    shutil.copytree(fl.homes[user], home)
    if server is not None:
        with open(os.path.join(home, "server"), "w", encoding="utf-8") as f:
            f.write(server + "\n")
    return home


def device_of(home):
    with open(os.path.join(home, "device.cert"), encoding="utf-8") as f:
        return json.load(f)["device"]


def main():
    checks = harness.Checks()
    c = checks.check
    errors, codes = catalogue()
    c("the catalogue has an entry for every code of err.h", sorted(errors) == sorted(codes),
      str(set(errors) ^ set(codes)))

    def seen(what, code, rc, out, err, want_rc):
        """The Danish text, the next step and "(kode: CODE)" on stderr, the exit status, no bare code line."""
        e = errors[code]
        c(f"{what}: exit status {want_rc}", rc == want_rc, out_of(rc, out, err))
        c(f"{what}: the Danish text of {code}", e["text"] in err, err)
        if code in CAUSED:
            # The cause found for this connection replaces the general next step: the address and whether it
            # is the network, the certificate or the server (issue 11, Must 4; test_home_server checks each).
            c(f"{what}: the address and the cause instead of the general next step",
              "Adresse: wss://" in err and "Det er " in err, err)
        elif e.get("next"):
            c(f"{what}: the next step of {code}", e["next"] in err, err)
        c(f"{what}: the code for support, after the text", f"(kode: {code})" in err and
          err.index(e["text"]) < err.index(f"(kode: {code})") if e["text"] in err and f"(kode: {code})" in err
          else False, err)
        bare = [ln for ln in (out + err).splitlines() if ln.strip() in (code, f"varsko: {code}")]
        c(f"{what}: no line is the bare code", not bare, str(bare))

    with flowlib.Flow(agents=[], users=["laerer-anna", "laerer-jonas"]) as fl:
        fl.setup()
        hello = real_hello(fl)
        fake = FakeServer(fl.certs, hello)
        try:
            home = copy_home(fl, "laerer-anna", "home-fake", server=fake.url)
            # 1. every code, answered by a server made to answer it
            for code in codes:
                if code == "ok":
                    continue
                fake.code = code
                rc, out, err = fl.cli(home, "underret", "list")
                seen(f"server answers {code}", code, rc, out, err, 3 if code in UNREACHABLE else 1)

            # 2. the codes that can be met for real
            rc, out, err = fl.cli(home, "underret", "list", "--ikke-en-option")
            seen("a wrong option", "usage", rc, out, err, 2)

            fake.mode = "close"
            rc, out, err = fl.cli(home, "underret", "list")
            seen("the server closes after its hello", "closed", rc, out, err, 3)
        finally:
            fake.close()

        rc, out, err = fl.cli(home, "underret", "list")
        seen("the server is stopped", "connect", rc, out, err, 3)

        # another CA's certificate: the home's pinned CA does not admit it
        other = fl.path("other-certs")
        r = subprocess.run([os.path.join(harness.SOURCE_ROOT, "certs", "mkdev.sh"), "--quiet", other],
                           capture_output=True, text=True, timeout=120)
        c("a second development CA is made", r.returncode == 0, r.stderr)
        if r.returncode == 0:
            fake = FakeServer(other, hello)
            try:
                tls_home = copy_home(fl, "laerer-anna", "home-tls", server=fake.url)
                rc, out, err = fl.cli(tls_home, "underret", "list")
                seen("a certificate of another CA", "tls", rc, out, err, 3 if "tls" in UNREACHABLE else 1)
            finally:
                fake.close()

        empty = fl.path("home-empty")
        os.mkdir(empty, 0o700)
        rc, out, err = fl.cli(empty, "underret", "list")
        seen("a home with no device", "not_found", rc, out, err, 1)

        # the real varskod: a clock an hour ahead (libfaketime on the CLI only) is told by how much
        rc, out, err = fl.cli_as("laerer-anna", "underret", "list", env=flowlib.faketime_env(3600))
        seen("a clock an hour ahead (real varskod)", "bad_time", rc, out, err, 1)
        c("... and the detail says by how much", re.search(r"clock is 3[56]\d\d s ahead of the server's", err)
          is not None, err)

        # the real varskod: a device it does not know, and a revoked device
        ghost = copy_home(fl, "laerer-jonas", "home-ghost")
        fl.ctl_ok("revoke", device_of(fl.homes["laerer-jonas"]))
        rc, out, err = fl.cli(ghost, "underret", "list")
        seen("a revoked device (real varskod)", "device_revoked", rc, out, err, 1)
        with fl.db() as db:
            dev = device_of(fl.homes["laerer-anna"])
            db.execute("PRAGMA foreign_keys = OFF")
            db.execute("DELETE FROM devices WHERE id = ?", (dev,))
        rc, out, err = fl.cli_as("laerer-anna", "underret", "list")
        seen("a device the server does not know (real varskod)", "unknown_device", rc, out, err, 1)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
