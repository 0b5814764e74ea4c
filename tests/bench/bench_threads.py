#!/usr/bin/python3
"""Consultation threads under load (issue 10, "Performance"): figures printed, never asserted.

For threads of 2, 8 and 32 members (one device each, every member online):
  - messages accepted per second: the sender's device sends M messages over a
    few connections, each sealed beforehand (PyNaCl, to every member's user
    key, exactly as a client does) so that the timed part is varskod's work:
    verify, group commit, answer, push;
  - varskod's CPU time per message (utime + stime of its process);
  - deliveries per second: thread_message pushes received by the other
    members' sessions, from the first send to the last push;
and, in the same run, raw Mosquitto QoS 1 over TLS (mosquitto_pub and
mosquitto_sub with the development certificates) carrying payloads of the
same size to the same number of subscribers. Every message varskod
acknowledges is durable before its answer; Mosquitto's QoS 1 is not (its
persistence is periodic).

Real varskod, Mosquitto, the C CLI (enrollment, the thread), loopback only,
temporary directories. Run it with `tests/run.sh --bench`, or directly after
a build: VARSKO_BUILD_ROOT=build /usr/bin/python3 tests/bench/bench_threads.py [--messages M]
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import flowlib  # noqa: E402
import harness  # noqa: E402

INST = "inst-nordskovskolen"
SENDER = "laerer-anna"
CONNS = 4   # sender connections
WINDOW = 6  # requests in flight per connection (varskod allows 8)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def routing(thread, version):
    return (harness.field("varsko-threadmsg-v1") + harness.field(thread) + harness.field_u64(version) +
            harness.field("text"))


async def chain(cl, kind, name):
    await cl.send({"type": "chain_get", "id": "c", "kind": kind, "chain": name})
    while True:
        a = await cl.recv()
        if a.get("id") == "c" or a.get("type") == "error":
            return a


async def run_case(fl, thread, members, messages):
    """(accepted/s, varskod CPU µs per message, deliveries/s, envelope bytes) for one thread."""
    dev = fl.device(SENDER)
    sk = bytes(dev.signing_key) + bytes(dev.signing_key.verify_key)
    async with harness.RawClient(fl.ws_url, fl.ca, timeout=30) as cl:
        await cl.login(dev.id, dev.signing_key)
        await cl.send({"type": "thread_get", "id": "t", "thread": thread})
        th = await cl.recv()
        while th.get("id") != "t" and th.get("type") != "error":
            th = await cl.recv()
        version = th["links"][-1]["seq"]
        recipients = [flowlib.user_key_recipient(await chain(cl, "user", u)) for u in members]
    text = json.dumps({"text": "Bench: en besked af passende længde om trivsel og fravær. " * 4},
                      separators=(",", ":"), ensure_ascii=False).encode()
    frames = []
    for i in range(messages):
        mid = flowlib_b32("M-", f"bench-{thread}-{i}")
        env = flowlib.seal("thread_message", mid, dev.id, sk, recipients, routing(thread, version), text)
        frames.append({"type": "thread_send", "id": f"s{i}", "thread": thread, "envelope": env})
    env_bytes = len(json.dumps(frames[0]["envelope"], separators=(",", ":")))

    # the other members online: one raw session each, counting pushes
    others = [u for u in members if u != SENDER]
    got = {u: 0 for u in others}
    done = asyncio.Event()
    last = [0.0]

    async def listen(user, ready):
        d = fl.device(user)
        async with harness.RawClient(fl.ws_url, fl.ca, timeout=60) as c:
            await c.login(d.id, d.signing_key)
            ready.set()
            while got[user] < messages:
                p = await c.recv()
                if p.get("type") == "thread_message" and p.get("thread") == thread:
                    got[user] += 1
                    last[0] = time.monotonic()
                    if all(v >= messages for v in got.values()):
                        done.set()

    readies = [asyncio.Event() for _ in others]
    listeners = [asyncio.create_task(listen(u, r)) for u, r in zip(others, readies)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)

    pid = fl.procs["varskod"][0].pid
    cpu0 = cpu_seconds(pid)
    t0 = time.monotonic()
    refused = []

    async def sender(part):
        async with harness.RawClient(fl.ws_url, fl.ca, timeout=60) as c:
            await c.login(dev.id, dev.signing_key)
            pending = 0
            it = iter(part)
            more = True
            while more or pending:
                while more and pending < WINDOW:
                    f = next(it, None)
                    if f is None:
                        more = False
                        break
                    await c.send(f)
                    pending += 1
                if pending:
                    a = await c.recv()
                    if "id" in a:
                        pending -= 1
                        if a.get("type") != "thread_sent":
                            refused.append(a.get("code"))
    await asyncio.gather(*(sender(frames[k::CONNS]) for k in range(CONNS)))
    t_acc = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    try:
        await asyncio.wait_for(done.wait(), 120)
    except asyncio.TimeoutError:
        pass
    t_del = (last[0] or time.monotonic()) - t0
    for t in listeners:
        t.cancel()
    delivered = sum(got.values())
    return {"accepted_per_s": messages / t_acc, "cpu_us_per_msg": cpu * 1e6 / messages,
            "deliveries_per_s": delivered / t_del if t_del > 0 else 0.0, "delivered": delivered,
            "expected": messages * len(others), "refused": len(refused), "envelope_bytes": env_bytes}


def flowlib_b32(prefix, seed):
    import base64
    import hashlib
    b = hashlib.sha256(seed.encode()).digest()[:16]
    return prefix + base64.b32encode(b).decode().rstrip("=")


def raw_broker(fl):
    """A second Mosquitto for the raw comparison, started by the bench: the same TLS listener as
    deploy/mosquitto/mkconf.sh writes (client certificates, AEAD suites), but without the ACL and with free
    client ids, so that many subscribers may share a certificate. Returns (process, port)."""
    state = fl.path("raw-mosquitto")
    os.makedirs(state, exist_ok=True)
    port = harness.free_port()
    subprocess.run([os.path.join(harness.SOURCE_ROOT, "deploy", "mosquitto", "mkconf.sh"), "--port", str(port),
                    "--certs", fl.certs, "--state", state], check=True, capture_output=True)
    conf = os.path.join(state, "mosquitto.conf")
    with open(conf, encoding="utf-8") as f:
        lines = [ln for ln in f.read().splitlines()
                 if not ln.startswith(("acl_file", "use_username_as_clientid"))]
    with open(conf, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    harness.wait_port(port, proc=p)
    return p, port


def mosquitto_case(fl, subscribers, messages, size):
    """Deliveries/s of raw Mosquitto QoS 1 over TLS: one publisher, `subscribers` subscribers, payloads of size bytes."""
    pub, sub = shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")
    if pub is None or sub is None:
        return None
    broker, port = raw_broker(fl)
    try:
        topic = f"varsko/{flowlib.TENANT}/team/team-slagelse/bench"
        tls = ["--cafile", fl.ca, "-h", "127.0.0.1", "-p", str(port)]
        subs = []
        for k in range(subscribers):
            subs.append(subprocess.Popen(
                [sub, *tls, "--cert", os.path.join(fl.certs, "agent-team-slagelse.crt"),
                 "--key", os.path.join(fl.certs, "agent-team-slagelse.key"), "-i", f"bench-sub-{k}-{os.getpid()}",
                 "-q", "1", "-t", topic, "-C", str(messages), "-W", "120"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        time.sleep(1.0)  # subscribed
        line = ("x" * (size - 1)) + "\n"
        t0 = time.monotonic()
        p = subprocess.Popen([pub, *tls, "--cert", os.path.join(fl.certs, "varskod.crt"),
                              "--key", os.path.join(fl.certs, "varskod.key"), "-i", f"bench-pub-{os.getpid()}",
                              "-q", "1", "-t", topic, "-l"], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdin.write((line * messages).encode())
        p.stdin.close()
        p.wait(120)
        for s in subs:
            s.wait(130)
        elapsed = time.monotonic() - t0
        return messages * subscribers / elapsed
    finally:
        broker.terminate()
        broker.wait(10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=300, help="messages per thread size (default 300)")
    ap.add_argument("--sizes", default="2,8,32", help="thread sizes in members (default 2,8,32)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    extra = [{"id": f"bench-fag-{k:02d}", "name": f"Bench Fagperson {k:02d}", "role": "fagperson",
              "institutions": [INST]} for k in range(1, max(sizes) - 1)]
    rows = []
    with flowlib.Flow(agents=[], users=[]) as fl:
        rc, out, err = fl.setup_org(extra_users=extra)
        if rc != 0:
            print(f"bench_threads: varskoctl org init failed: {err.strip()}", file=sys.stderr)
            return 1
        t0 = time.monotonic()
        for u in [SENDER, "raadgiver-sofie"] + [e["id"] for e in extra]:
            fl.enroll(u)
        print(f"bench_threads: {2 + len(extra)} users enrolled in {time.monotonic() - t0:.1f} s", flush=True)
        for n in sizes:
            members = [SENDER, "raadgiver-sofie"] + [e["id"] for e in extra][:n - 2]
            argv = ["thread", "new", "--institution", INST, "--title", f"Bench {n}", "--json"]
            for m in members[2:]:
                argv += ["--member", m]
            rc, out, err = fl.cli_as(SENDER, *argv, timeout=300)
            if rc != 0:
                print(f"bench_threads: thread of {n} members: {err.strip()}", file=sys.stderr)
                return 1
            thread = json.loads(out)["thread"]
            res = harness.run(run_case(fl, thread, members, args.messages))
            mq = mosquitto_case(fl, n - 1, args.messages, res["envelope_bytes"])
            res.update(members=n, mosquitto_deliveries_per_s=mq)
            rows.append(res)
            print(f"bench_threads: {n:2d} members: {res['accepted_per_s']:7.1f} messages/s accepted, "
                  f"{res['cpu_us_per_msg']:8.0f} µs varskod CPU per message, "
                  f"{res['deliveries_per_s']:8.1f} deliveries/s ({res['delivered']}/{res['expected']}), "
                  f"Mosquitto QoS 1 TLS {mq if mq is None else round(mq, 1)} deliveries/s "
                  f"(envelope {res['envelope_bytes']} bytes, {res['refused']} refused)", flush=True)
    print("bench_threads: " + json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
