#!/usr/bin/python3
"""A legitimate client keeps working while varskod is abused (issue 13, at CI scale).

While each abuse runs, the C CLI `varsko` as an enrolled fagperson sends
underretninger (a login and a receipt each) and runs `whoami` (a login),
one after the other, from 127.0.0.1: every one of them must succeed. The
abusers connect from other loopback addresses (127.0.0.3 and up), so that
the per-address cap (max_conns_per_address, 64 here) is theirs to hit:

  (a) 300 unauthenticated WebSockets from six addresses send junk frames
      and reconnect when closed; the token bucket on refusals before login
      (unauth_frames_per_second, 100 here) sheds the excess with 1013
      (varsko_unauth_shed_total grows);
  (b) 300 slow-loris sockets from two addresses, half of them stalled in
      the middle of a TLS ClientHello and half raw TCP that never starts
      TLS, reconnecting when closed or refused: varskod holds at most
      64 per address (varsko_connections), refuses the rest
      (varsko_connections_refused_total{reason="address"}), and its
      descriptors and RSS stay bounded;
  (c) one logged-in session sends pings as fast as it can and never reads
      the answers: varskod drops it; the legitimate client is unaffected.

The legitimate client's latency is printed (p50/p99), not asserted.
"""

import asyncio
import os
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402
from test_health_metrics import admin_port_of, scrape, val  # noqa: E402

ANNA, JONAS = "laerer-anna", "laerer-jonas"
PER_ADDRESS = 64
JUNK = ["not json", '{"type":"nonsense","id":"x"}', '{"type":"login"}', '{"type":"ping"', "{}",
        '{"type":"whoami","id":"w"}']
# A TLS record header announcing a ClientHello, and only the first bytes of it.
PARTIAL_HELLO = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + bytes(20)


class Legit(threading.Thread):
    """The CLI as ANNA: `underret send` and `whoami` in turn until stop() (each a new connection and login)."""

    def __init__(self, fl, docs):
        super().__init__(daemon=True)
        self.fl, self.docs = fl, docs
        self.results = []  # (what, ok, seconds, detail)
        self._halt = threading.Event()

    def run(self):
        i = 0
        while not self._halt.is_set() and i < len(self.docs):
            t0 = time.monotonic()
            if i % 2 == 0:
                rc, j, out, err = self.fl.send(ANNA, self.docs[i], timeout=60)
                ok = rc == 0 and isinstance(j, dict) and bool(j.get("reference"))
                self.results.append(("underret send", ok, time.monotonic() - t0, out_of(rc, out, err)))
            else:
                rc, out, err = self.fl.cli_as(ANNA, "whoami", timeout=60)
                self.results.append(("whoami", rc == 0, time.monotonic() - t0, out_of(rc, out, err)))
            i += 1

    def stop(self):
        self._halt.set()
        self.join(120)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else 0.0


def proc_stats(pid):
    """(open descriptors, RSS in KiB) of a process."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return fds, rss


def under_abuse(c, fl, what, abuse, docs, sample=None):
    """Run abuse(stop) (a coroutine function) in its own thread while Legit runs; check Legit's 100 %."""
    stop = threading.Event()
    th = threading.Thread(target=lambda: asyncio.run(abuse(stop)), daemon=True)
    th.start()
    time.sleep(2.0)  # the abuse is under way before the legitimate client starts
    legit = Legit(fl, docs)
    legit.start()
    t_end = time.monotonic() + 8.0
    while time.monotonic() < t_end:
        if sample:
            sample()
        time.sleep(0.5)
    legit.stop()
    stop.set()
    th.join(60)
    res = legit.results
    bad = [r for r in res if not r[1]]
    lat = [r[2] for r in res]
    harness.log(f"     {what}: legitimate client {len(res) - len(bad)}/{len(res)} ok, "
                f"p50 {pct(lat, 0.5) * 1000:.0f} ms, p99 {pct(lat, 0.99) * 1000:.0f} ms")
    c(f"{what}: the legitimate client got through several times", len(res) >= 4, str(len(res)))
    c(f"{what}: every login and every underretning of the legitimate client succeeded", not bad,
      "; ".join(f"{r[0]}: {r[3][:300]}" for r in bad[:3]))
    c(f"{what}: varskod is still running", fl.alive("varskod"))


def tls_ctx(fl):
    ctx = ssl.create_default_context(cafile=fl.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def junk_sockets(fl, stop, stats, n=300, addrs=6):
    import websockets
    ctx = tls_ctx(fl)

    async def one(i):
        src = f"127.0.0.{3 + i % addrs}"
        k = i
        while not stop.is_set():
            try:
                ws = await websockets.connect(fl.ws_url, ssl=ctx, subprotocols=[harness.SUBPROTOCOL],
                                              local_addr=(src, 0), open_timeout=10, ping_interval=None,
                                              close_timeout=1)
            except Exception:
                stats["connect failed"] = stats.get("connect failed", 0) + 1
                await asyncio.sleep(0.2)
                continue
            stats["opened"] = stats.get("opened", 0) + 1
            try:
                while not stop.is_set():
                    await ws.send(JUNK[k % len(JUNK)])
                    k += 1
                    await asyncio.wait_for(ws.recv(), 5)
                    stats["answers"] = stats.get("answers", 0) + 1
            except websockets.ConnectionClosed as e:
                key = f"closed {e.rcvd.code if e.rcvd else None}"
                stats[key] = stats.get(key, 0) + 1
            except (asyncio.TimeoutError, OSError):
                stats["timeouts"] = stats.get("timeouts", 0) + 1
            finally:
                ws.transport.abort()
    await asyncio.gather(*(one(i) for i in range(n)))


async def loris_sockets(fl, stop, stats, n=300, addrs=("127.0.0.3", "127.0.0.4")):
    async def one(i):
        src = addrs[i % len(addrs)]
        while not stop.is_set():
            try:
                r, w = await asyncio.open_connection("127.0.0.1", fl.port, local_addr=(src, 0))
            except OSError:
                stats["connect failed"] = stats.get("connect failed", 0) + 1
                await asyncio.sleep(0.2)
                continue
            if i % 4 < 2:
                w.write(PARTIAL_HELLO)
            ended = False
            while not stop.is_set() and not ended:
                try:
                    ended = await asyncio.wait_for(r.read(4096), 0.5) == b""
                except asyncio.TimeoutError:
                    pass
                except OSError:
                    ended = True
            stats["ended by varskod" if ended else "held to the end"] = \
                stats.get("ended by varskod" if ended else "held to the end", 0) + 1
            w.transport.abort()
            if ended:
                await asyncio.sleep(0.2)
    await asyncio.gather(*(one(i) for i in range(n)))


async def ping_flood(fl, out):
    """Log in as JONAS and send pings without ever reading; out["closed_after"] = seconds until varskod dropped it."""
    import websockets
    dev = fl.device(JONAS)
    async with harness.RawClient(fl.ws_url, fl.ca) as cl:
        ans = await cl.login(dev.id, dev.signing_key)
        out["login"] = ans.get("type")
        pad = "p" * 60
        t0 = time.monotonic()
        n = 0
        try:
            while time.monotonic() - t0 < 30:
                await cl.ws.send(f'{{"type":"ping","id":"{pad}{n % 1000:04d}"}}')
                n += 1
                if n % 256 == 0:
                    await asyncio.sleep(0)
        except (websockets.ConnectionClosed, OSError):
            out["closed_after"] = time.monotonic() - t0
        out["sent"] = n


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[], users=[ANNA, JONAS], config={"unauth_frames_per_second": 100, "max_conns_per_address": PER_ADDRESS}) as fl:
        fl.setup(org=False)
        port = admin_port_of(fl.conf)
        pid = fl.procs["varskod"][0].pid
        docs = [fl.doc(age=8, extra_text=f"misbrugstest {i}") for i in range(120)]
        rc, j, out, err = fl.send(ANNA, docs.pop())
        c("before any abuse the CLI sends an underretning", rc == 0 and isinstance(j, dict), out_of(rc, out, err))
        fds0, rss0 = proc_stats(pid)
        harness.log(f"     varskod at rest: {fds0} descriptors, {rss0} KiB RSS")

        # (a) junk from unauthenticated WebSockets
        stats = {}
        _, _, _, m0 = scrape(port)
        under_abuse(c, fl, "(a) junk before login", lambda stop: junk_sockets(fl, stop, stats), docs[:40])
        _, _, _, m1 = scrape(port)
        harness.log(f"     (a) abusers: {stats}")
        c("(a) the junk sockets connected and were answered", stats.get("opened", 0) >= 100 and
          stats.get("answers", 0) > 0, str(stats))
        shed = val(m1, "varsko_unauth_shed_total") - val(m0, "varsko_unauth_shed_total")
        c("(a) the token bucket shed junk beyond unauth_frames_per_second (closed with 1013)",
          shed > 0 and stats.get("closed 1013", 0) > 0, f"shed {shed}, {stats}")
        harness.log(f"     (a) audit rows written during the abuse: "
                    f"{val(m1, 'varsko_audit_rows') - val(m0, 'varsko_audit_rows'):.0f}")

        # (b) slow-loris: half-open TLS and raw TCP
        stats = {}
        peak = {"conns": 0, "fds": 0, "rss": 0}

        def sample():
            _, _, _, m = scrape(port)
            fds, rss = proc_stats(pid)
            peak["conns"] = max(peak["conns"], val(m, "varsko_connections"))
            peak["fds"] = max(peak["fds"], fds)
            peak["rss"] = max(peak["rss"], rss)

        _, _, _, m0 = scrape(port)
        under_abuse(c, fl, "(b) slow-loris and raw TCP", lambda stop: loris_sockets(fl, stop, stats),
                    docs[40:80], sample)
        _, _, _, m1 = scrape(port)
        harness.log(f"     (b) abusers: {stats}; peak {peak}")
        c("(b) varskod held at most the per-address cap of each abusing address (and the client's own)",
          0 < peak["conns"] <= 2 * PER_ADDRESS + 4, str(peak))
        refused = (val(m1, "varsko_connections_refused_total", reason="address") -
                   val(m0, "varsko_connections_refused_total", reason="address"))
        c("(b) connections over the per-address cap were refused", refused > 0, str(refused))
        c("(b) varskod's descriptors stayed bounded", peak["fds"] <= fds0 + 2 * PER_ADDRESS + 16,
          f"{peak['fds']} at most, {fds0} at rest")
        # Under the sanitizers (tests/run.sh sets ASAN_OPTIONS) freed memory stays in ASan's quarantine
        # (256 MiB by default) and every allocation carries shadow and redzones: a wider bound there.
        slack = 512 * 1024 if os.environ.get("ASAN_OPTIONS") else 65536
        c(f"(b) varskod's RSS stayed bounded (under {slack // 1024} MiB more than at rest)",
          peak["rss"] <= rss0 + slack, f"{peak['rss']} KiB at most, {rss0} KiB at rest")

        # (c) one logged-in session floods pings and never reads
        out = {}
        under_abuse(c, fl, "(c) a logged-in session flooding", lambda stop: ping_flood(fl, out), docs[80:])
        harness.log(f"     (c) flooder: {out}")
        c("(c) the flooding session had logged in", out.get("login") == "session", str(out))
        c("(c) varskod dropped the flooding session", "closed_after" in out, str(out))
        c("(c) varskod says why", "does not read its answers" in fl.read_log("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
