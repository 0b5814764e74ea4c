#!/usr/bin/python3
"""varskod's limits per device, per user, on memory and on connections (docs/WIRE-BEHAVIOUR.md "Limits").

  - max_sessions_per_device (default 4): four logged-in sessions of one
    device; a fifth login is refused with rate_limited and a message that
    names the device cap, and closed; once one of the four closes, a new
    login succeeds;
  - pushes to a slow reader: 32 submissions committed at once (the store
    held by a lock of the test's own while they arrive) push 32
    new_underretning to the team's myndighed session; its queue takes
    only some of them, the rest are dropped and counted, and once the queue
    has drained one "missed" push says how many: delivered plus missed is
    32, the session stays open, and /metrics counts the dropped ones;
  - logins are group-commit jobs: 16 logins (four devices, four sessions
    each) sent together while the test holds the store's write lock all
    succeed, and their login_ok audit rows share a few commits;
  - max_sessions_per_user (set to 2): the third session of one user is
    refused with rate_limited naming the user cap;
  - mem_budget_bytes (set to 3 MiB): three logged-in sessions send
    fragmented submit frames (junk envelopes, answered with an error) and
    hold them half-sent; when the third pushes
    the total over the budget, the one holding the most is closed with 1013
    and the other two finish their frames, get answers and still answer a
    ping; /metrics counts one eviction;
  - max_sessions (set to 40) counts raw TCP connections that never start
    TLS: of 60 from one address 40 are held and the rest refused, and
    handshake_timeout (2 s) closes the 40 from the accept on; a CLI login
    works afterwards;
  - the accept budget: 200 raw TCP connections arriving together are all
    accepted; the listener pauses between turns of the event loop instead
    of refusing the 65th;
  - logins_per_device_per_minute (set to 3): logins with a wrong key for a
    device take nothing from its bucket; its fourth successful login in a
    minute is refused with rate_limited and closed with 1013 before
    anything is written (3 login_ok audit rows, the refusal counted), a
    wrong-key login is then refused the same way, and another device still
    logs in.
"""

import asyncio
import json
import os
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import nacl.signing  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402
from test_health_metrics import admin_port_of, scrape, val  # noqa: E402

ANNA, JONAS, THOMAS, LENE = "laerer-anna", "laerer-jonas", "leder-thomas", "myndighed-lene"
MIB = 1 << 20


def restart(fl, **keys):
    """varskod again with the fixture's MQTT settings and `keys` on top."""
    fl.stop_varskod()
    conf = {"mqtt_host": "127.0.0.1", "mqtt_port": fl.mqtt_port, "mqtt_ca": fl.ca,
            "mqtt_cert": os.path.join(fl.certs, "varskod.crt"), "mqtt_key": os.path.join(fl.certs, "varskod.key")}
    conf.update(keys)
    fl.write_config(port=fl.port, **conf)
    fl.start_varskod()


async def logged_in(fl, user):
    """A raw client logged in as user's device, and the login's answer."""
    dev = fl.device(user)
    cl = harness.RawClient(fl.ws_url, fl.ca)
    await cl.__aenter__()
    return cl, await cl.login(dev.id, dev.signing_key)


async def answer(cl):
    """The next frame with an id (pushes, which have none, are skipped)."""
    while True:
        a = await cl.recv()
        if "id" in a:
            return a


async def alive(cl):
    try:
        return (await flowlib.request(cl, {"type": "ping", "id": "p"})).get("type") == "pong"
    except asyncio.TimeoutError:
        return False


async def caps(c, fl, n_ok, what):
    """Open n_ok sessions of ANNA's device, then one more; check the refusal says `what`. Returns the open ones."""
    cls = []
    for i in range(n_ok):
        cl, ans = await logged_in(fl, ANNA)
        cls.append(cl)
        c(f"{what} cap: session {i + 1} of {n_ok} logs in", ans.get("type") == "session", str(ans))
    extra, ans = await logged_in(fl, ANNA)
    c(f"{what} cap: login {n_ok + 1} refused with rate_limited",
      ans.get("type") == "error" and ans.get("code") == "rate_limited", str(ans))
    c(f"{what} cap: the refusal names the {what} cap", what in (ans.get("message") or ""), str(ans))
    code, _ = await extra.wait_closed()
    c(f"{what} cap: the refused connection is closed with 1008", code == 1008, str(code))
    return cls


async def device_cap(c, fl):
    cls = await caps(c, fl, 4, "device")
    await cls[0].__aexit__()
    await asyncio.sleep(0.3)
    cl, ans = await logged_in(fl, ANNA)
    c("device cap: after one session closed a new login succeeds", ans.get("type") == "session", str(ans))
    for x in cls[1:] + [cl]:
        await x.__aexit__()


async def push_burst(c, fl, port):
    """32 submits sent at once from four sessions (8 in flight each); LENE's session gets the pushes."""
    lene, ans = await logged_in(fl, LENE)
    c("pushes: the myndighed session logs in", ans.get("type") == "session", str(ans))
    with open(flowlib.EXAMPLE, "rb") as f:
        pt = f.read()
    senders, frames = [], []
    for _ in range(4):  # the device cap: 4 sessions with 8 requests in flight each
        cl, _ = await logged_in(fl, ANNA)
        senders.append((cl, fl.device(ANNA)))
    for i, (cl, dev) in enumerate(senders):
        _, hjs = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, f"s-burst-{i}", int(time.time()))
        routed = await flowlib.request(cl, {"type": "route", "id": "r", "header": hjs})
        if "roster" not in routed:
            raise RuntimeError(f"route: {routed}")
        readers = [(d["device"], flowlib.ub64(d["box_pk"])) for d in routed["roster"]["devices"]]
        for j in range(8):
            sub = f"s-burst-{i:02d}-{j:02d}"
            routing, _ = flowlib.routing_header("inst-nordskovskolen", "6-13", False, False, sub, int(time.time()))
            env = flowlib.seal("underretning", sub, dev.id, dev.sign_sk, readers, routing, pt + sub.encode())
            frames.append((cl, {"type": "submit", "id": f"s{j}", "envelope": env}))
    # The store held by a write lock of our own while the 32 arrive, so that (nearly) all of them
    # commit in one group and their pushes reach the slow session in one turn of the event loop.
    lock = sqlite3.connect(fl.database, isolation_level=None, timeout=10)
    lock.execute("BEGIN IMMEDIATE")
    try:
        await asyncio.gather(*(cl.send(f) for cl, f in frames))
        await asyncio.sleep(0.5)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    receipts = 0
    for cl, _ in senders:
        for _ in range(8):
            receipts += (await answer(cl)).get("type") == "receipt"
    c("pushes: all 32 submissions got receipts", receipts == 32, str(receipts))
    new, missed, other = 0, [], []
    t_end = time.monotonic() + 5
    while time.monotonic() < t_end and new + sum(missed) < 32:
        try:
            f = await asyncio.wait_for(lene.ws.recv(), 1.0)
        except asyncio.TimeoutError:
            continue
        f = json.loads(f)
        if f.get("type") == "new_underretning":
            new += 1
        elif f.get("type") == "missed":
            missed.append(f.get("count"))
        else:
            other.append(f.get("type"))
    harness.log(f"     pushes: {new} new_underretning delivered, missed {missed}, other {other}")
    c("pushes: a burst beyond the queue's room is told in a missed push", len(missed) >= 1, str(missed))
    c("pushes: delivered plus missed is every push", new + sum(missed) == 32, f"{new} + {missed}")
    c("pushes: the slow session stays open", await alive(lene))
    _, _, _, m = scrape(port)
    # The four sender sessions of the same user also get pushes (leveret of their submissions) that they
    # do not read, so the global counter holds at least the slow session's.
    c("pushes: /metrics counts the dropped pushes", val(m, "varsko_pushes_missed_total") >= sum(missed),
      f"{val(m, 'varsko_pushes_missed_total')} < {sum(missed)}")
    for cl, _ in senders:
        await cl.__aexit__()
    await lene.__aexit__()


async def login_group(c, fl, port):
    users = [ANNA, JONAS, THOMAS, LENE]
    clients = []
    for u in users:
        for _ in range(4):
            cl = harness.RawClient(fl.ws_url, fl.ca)
            await cl.__aenter__()
            clients.append((cl, fl.device(u)))
    samples = scrape(port)[3]
    commits0, jobs0 = val(samples, "varsko_store_commit_batch_size_count"), val(samples,
                                                                               "varsko_store_commit_batch_size_sum")
    lock = sqlite3.connect(fl.database, isolation_level=None, timeout=10)
    lock.execute("BEGIN IMMEDIATE")
    try:
        pending = [asyncio.ensure_future(cl.login(dev.id, dev.signing_key)) for cl, dev in clients]
        await asyncio.sleep(1.0)  # every login frame is in varskod, its job waiting for the store
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    answers = await asyncio.gather(*pending)
    samples = scrape(port)[3]
    commits = val(samples, "varsko_store_commit_batch_size_count") - commits0
    jobs = val(samples, "varsko_store_commit_batch_size_sum") - jobs0
    harness.log(f"     16 logins sent together while the store was held: {jobs:.0f} jobs in {commits:.0f} commits")
    c("login group commit: all 16 logins sent together succeed",
      all(a.get("type") == "session" for a in answers), str([a.get("code") for a in answers if a.get("code")]))
    c("login group commit: their audit rows share a few commits (not one each)", jobs >= 16 and commits <= 4,
      f"{jobs:.0f} jobs in {commits:.0f} commits")
    for cl, _ in clients:
        await cl.__aexit__()


async def user_cap(c, fl):
    for x in await caps(c, fl, 2, "user"):
        await x.__aexit__()


def submit_parts(total, part):
    """A submit frame of about `total` bytes whose envelope is junk, as text fragments of `part` bytes."""
    head, tail = '{"type":"submit","id":"big","envelope":"', '"}'
    body = total - len(head) - len(tail)
    parts = [head]
    while body > 0:
        n = min(part, body)
        parts.append("A" * n)
        body -= n
    parts.append(tail)
    return parts


async def send_held(cl, parts, hold):
    """Send every fragment but the last, wait for `hold` (an Event), then the last."""
    async def gen():
        for p in parts[:-1]:
            yield p
        await hold.wait()
        yield parts[-1]
    await cl.ws.send(gen())


async def budget(c, fl, port):
    a, ans_a = await logged_in(fl, ANNA)
    b, ans_b = await logged_in(fl, JONAS)
    d, ans_d = await logged_in(fl, THOMAS)
    c("budget: three sessions log in", all(x.get("type") == "session" for x in (ans_a, ans_b, ans_d)),
      str((ans_a, ans_b, ans_d)))
    hold_a, hold_b, hold_d = asyncio.Event(), asyncio.Event(), asyncio.Event()
    # The greedy one: 1.2 MiB received (a 2 MiB buffer); the others 300 KiB (512 KiB) and 600 KiB (1 MiB).
    ta = asyncio.ensure_future(send_held(a, submit_parts(int(1.2 * MIB), 16384), hold_a))
    await asyncio.sleep(1.0)
    tb = asyncio.ensure_future(send_held(b, submit_parts(300 * 1024, 16384), hold_b))
    await asyncio.sleep(1.0)
    _, _, _, s = scrape(port)
    held = val(s, "varsko_frame_bytes_held")
    c("budget: /metrics shows the bytes held under the budget", 2 * MIB <= held <= 3 * MIB, str(held))
    td = asyncio.ensure_future(send_held(d, submit_parts(600 * 1024, 16384), hold_d))
    code, _ = await a.wait_closed()
    c("budget: the session holding the most is closed with 1013", code == 1013, str(code))
    hold_b.set()
    hold_d.set()
    await asyncio.wait_for(asyncio.gather(tb, td), 20)
    for name, cl in (("the second", b), ("the third", d)):
        ans = await answer(cl)
        c(f"budget: {name} session's frame is answered (a junk envelope: an error)",
          ans.get("type") == "error" and ans.get("id") == "big", str(ans)[:200])
        c(f"budget: {name} session still answers a ping", await alive(cl))
    ta.cancel()
    _, _, _, s = scrape(port)
    c("budget: /metrics counts one eviction", val(s, "varsko_sessions_evicted_total") == 1,
      str(val(s, "varsko_sessions_evicted_total")))
    for cl in (a, b, d):
        await cl.__aexit__()


def raw_sockets(fl, n, source):
    """n TCP connections to varskod's port from the loopback address source, never starting TLS."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.connect(("127.0.0.1", fl.port))
        socks.append(s)
    return socks


def connections_become(port, n, timeout):
    """/metrics once varsko_connections is n, or at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        _, _, _, m = scrape(port)
        if val(m, "varsko_connections") == n or time.monotonic() > deadline:
            return m
        time.sleep(0.1)


def crowd(c, fl, port):
    """200 connections arriving together: the accept budget pauses the listener, it refuses none."""
    socks = raw_sockets(fl, 200, "127.0.0.4")
    m = connections_become(port, 200, 5)
    c("crowd: 200 connections arriving together are all accepted", val(m, "varsko_connections") == 200,
      str(val(m, "varsko_connections")))
    c("crowd: the accept budget paused the listener rather than refusing",
      val(m, "varsko_connections_refused_total", reason="accept_budget") >= 1 and
      val(m, "varsko_connections_refused_total", reason="max_sessions") == 0 and
      val(m, "varsko_connections_refused_total", reason="address") == 0,
      str(m))
    for s in socks:
        s.close()


def raw_tcp(c, fl, port):
    socks = raw_sockets(fl, 60, "127.0.0.3")
    time.sleep(1.0)
    _, _, _, m = scrape(port)
    c("max_sessions: 40 of 60 raw TCP connections are held", val(m, "varsko_connections") == 40,
      str(val(m, "varsko_connections")))
    c("max_sessions: the other 20 were refused",
      val(m, "varsko_connections_refused_total", reason="max_sessions") >= 20,
      str(val(m, "varsko_connections_refused_total", reason="max_sessions")))
    m = connections_become(port, 0, 6)
    c("handshake_timeout: raw TCP that never starts TLS is closed", val(m, "varsko_connections") == 0,
      str(val(m, "varsko_connections")))
    c("handshake_timeout: counted in /metrics",
      val(m, "varsko_connections_refused_total", reason="handshake_timeout") >= 40,
      str(val(m, "varsko_connections_refused_total", reason="handshake_timeout")))
    closed = 0
    for s in socks:
        s.settimeout(1.0)
        try:
            closed += s.recv(1) == b""
        except OSError:
            closed += 1
        s.close()
    c("handshake_timeout: every raw socket sees its end", closed == 60, f"{closed} of 60")
    rc, j, out, err = fl.send(ANNA, fl.doc(age=7))
    c("after the raw TCP the CLI sends an underretning", rc == 0 and isinstance(j, dict), out_of(rc, out, err))


async def login_rate(c, fl):
    dev = fl.device(JONAS)
    ok0 = fl.count("audit", "event = 'login_ok' AND actor = ?", dev.id)
    limited = "event = 'login_refused' AND detail LIKE 'reason=rate_limited%'"
    refused0 = fl.count("audit", limited)  # the session caps above are refused with rate_limited too
    stranger = nacl.signing.SigningKey.generate()

    async def once(key):
        async with harness.RawClient(fl.ws_url, fl.ca) as cl:
            ans = await cl.login(dev.id, key)
            if ans.get("code") != "rate_limited":
                return ans, None
            try:
                code, _ = await cl.wait_closed()
            except Exception as ex:  # noqa: BLE001 - reported below
                code = repr(ex)
            return ans, code

    answers = [await once(dev.signing_key) for _ in range(2)]
    wrong = [await once(stranger) for _ in range(5)]
    c("login rate: logins with a wrong key for the device are refused (bad_signature)",
      all(a.get("code") == "bad_signature" for a, _ in wrong), str(wrong))
    answers.append(await once(dev.signing_key))
    c("login rate: three logins in a minute succeed (the wrong-key ones took nothing)",
      all(a.get("type") == "session" for a, _ in answers), str(answers))
    fourth, code = await once(dev.signing_key)
    c("login rate: the fourth is refused with rate_limited and says why",
      fourth.get("code") == "rate_limited" and "too often" in (fourth.get("message") or ""), str(fourth))
    c("login rate: ... and its connection is closed with 1013", code == 1013, str(code))
    late, code = await once(stranger)
    c("login rate: a wrong-key login for the device is refused the same way, before its signature is checked",
      late.get("code") == "rate_limited" and code == 1013, f"{late} {code}")
    c("login rate: only the three logins were audited as login_ok (the refusals wrote no row of their own)",
      fl.count("audit", "event = 'login_ok' AND actor = ?", dev.id) == ok0 + 3,
      f"{ok0} -> {fl.count('audit', 'event = ? AND actor = ?', 'login_ok', dev.id)}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and fl.count("audit", limited) == refused0:
        await asyncio.sleep(0.2)
    c("login rate: the refusals are in the audit log, counted", fl.count("audit", limited) > refused0,
      f"{refused0} -> {fl.count('audit', limited)}")
    cl, ans = await logged_in(fl, ANNA)
    c("login rate: another device still logs in", ans.get("type") == "session", str(ans))
    await cl.__aexit__()


def main():
    checks = harness.Checks()
    c = checks.check
    with flowlib.Flow(agents=[], users=[ANNA, JONAS, THOMAS, LENE]) as fl:
        fl.setup(org=False)  # raw envelopes to rosters (PROTOCOL.md 16.7) for the push burst
        harness.run(device_cap(c, fl))
        harness.run(push_burst(c, fl, admin_port_of(fl.conf)))
        harness.run(login_group(c, fl, admin_port_of(fl.conf)))
        restart(fl, max_sessions_per_user=2)
        harness.run(user_cap(c, fl))
        # max_frame as large as the frames, so that a junk one is answered rather than closed with 1009.
        restart(fl, mem_budget_bytes=3 * MIB, max_frame=4 * MIB)
        harness.run(budget(c, fl, admin_port_of(fl.conf)))
        restart(fl, max_conns_per_address=1000)
        crowd(c, fl, admin_port_of(fl.conf))
        restart(fl, max_sessions=40, max_conns_per_address=1000, handshake_timeout=2)
        raw_tcp(c, fl, admin_port_of(fl.conf))
        restart(fl, logins_per_device_per_minute=3)
        harness.run(login_rate(c, fl))
        log = fl.read_log("varskod")
        c("varskod logged the eviction", "closing with 1013" in log)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
