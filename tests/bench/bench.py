#!/usr/bin/python3
"""Varsko under load and under attack (issue 13): the benchmarks, figures printed, never asserted.

Starts its own Mosquitto, varskod and agents on loopback (tests/integration
flowlib.Flow: temporary directory, free ports), enrolls one device per load
client, and runs the C programs of tests/bench/ against them:

  crypto_bound   cryptobound: verify + hash + receipt signature, µs on one core
  submit         loadgen submit at 1, 4, 16, 64, 256 clients: receipts/s, latency
                 p50/p99/p99.9, varskod CPU-µs per receipt (/proc/PID/stat) and that
                 over the crypto bound, fsyncs and KiB written (/proc/PID/io) per receipt
  submit_badsig  the same with 5 % of submissions carrying a broken signature
  idle           N logged-in idle TLS WebSockets: varskod RSS per connection, and a
                 fresh client's p99 receipt latency while they idle
  outbox_drain   Mosquitto SIGSTOPped while N underretninger are submitted, then
                 SIGCONT: time until every publication has its PUBACK and every
                 underretning its agent's acknowledgement (the outbox table)
  abuse          garbage / slowloris / flood, each while a legitimate client submits:
                 its success rate and p99, varskod RSS and fds, fsyncs/s
  threads        tests/bench/bench_threads.py (thread relay against raw Mosquitto)

fsyncs are counted by the kernel: `perf stat -e syscalls:sys_enter_fsync,
syscalls:sys_enter_fdatasync -p PID` over the window (tracepoint counters, no
ptrace, so varskod is not slowed). Each figure is the median of --runs runs
(default 3) with min and max; ratios are taken within one run.

Writes <build>/bench/results.json and one SVG per benchmark; prints a table;
the last line is "N benchmarks ran, N failed". Run it with tests/bench/run.sh.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import flowlib  # noqa: E402
import harness  # noqa: E402

TARGETS = {
    "crypto_bound": "(the bound itself)",
    "submit": "64 clients: varskod CPU-µs/receipt ≤ 2× the crypto bound; p99 < 20 ms at half the max rate",
    "submit_badsig": "as submit; refusals cost no fsync",
    "idle": "≤ 24 KiB RSS per idle connection at 10,000",
    "outbox_drain": "≥ 5,000/s published and ≥ 1,000/s acknowledged",
    "abuse": "legitimate client 100 % success, p99 < 100 ms; at most a few fsyncs/s from abuse",
    "threads": "deliveries/s ≥ 0.5× raw Mosquitto QoS 1",
}
INST = "inst-nordskovskolen"


# ---- measuring varskod ----------------------------------------------------------

def proc_cpu(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine_busy():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def proc_write_bytes(pid):
    """Bytes varskod caused to be written to storage (/proc/PID/io write_bytes, all its threads)."""
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Window:
    """varskod's CPU seconds, bytes written and fsync+fdatasync calls between start() and stop()."""

    def __init__(self, pid):
        self.pid = pid
        self.perf = None

    def start(self):
        self.cpu0 = proc_cpu(self.pid)
        self.wb0 = proc_write_bytes(self.pid)
        self.busy0 = machine_busy()
        self.t0 = time.monotonic()
        try:
            self.perf = subprocess.Popen(
                ["perf", "stat", "-x,", "-e", "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync",
                 "-p", str(self.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(0.2)  # attached
        except OSError:
            self.perf = None
        return self

    def stop(self):
        self.cpu = proc_cpu(self.pid) - self.cpu0
        wb1 = proc_write_bytes(self.pid)
        self.written = wb1 - self.wb0 if wb1 is not None and self.wb0 is not None else None
        self.wall = time.monotonic() - self.t0
        b1 = machine_busy()
        # cores of the whole machine busy in the window (other work on it included)
        self.machine_cores = (os.cpu_count() or 1) * (b1[0] - self.busy0[0]) / max(1, b1[1] - self.busy0[1])
        self.fsyncs = None
        if self.perf is not None:
            self.perf.send_signal(signal.SIGINT)
            try:
                _, err = self.perf.communicate(timeout=10)
                n = 0
                seen = False
                for line in err.splitlines():
                    parts = line.split(",")
                    if len(parts) > 2 and parts[2].startswith("syscalls:") and parts[0].isdigit():
                        n += int(parts[0])
                        seen = True
                self.fsyncs = n if seen else None
            except subprocess.TimeoutExpired:
                self.perf.kill()
        return self


# ---- the programs -----------------------------------------------------------------

def prog(name):
    return os.path.join(harness.BUILD_ROOT, "tests", "bench", name)


def loadgen(fl, mode, homes_file, clients=1, duration=5.0, count=0, doc=None, bad=0, extra=(), wait=True):
    argv = [prog("loadgen"), mode, "--url", fl.ws_url, "--ca", fl.ca, "--clients", str(clients),
            "--duration", str(duration)]
    if homes_file:
        argv += ["--homes", homes_file]
    if count:
        argv += ["--count", str(count)]
    if doc:
        argv += ["--doc", doc]
    if bad:
        argv += ["--bad-sig-percent", str(bad)]
    argv += list(extra)
    LIVE[:] = [x for x in LIVE if x.poll() is None]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.PIPE if "--wait-go" in extra else subprocess.DEVNULL)
    LIVE.append(p)
    return finish(p) if wait else p


ABUSE_SOURCE = "127.0.0.3"  # the abusers' address; the legitimate client connects from 127.0.0.1
LIVE = []  # loadgen processes, ended by Bench.down() if still running


def ready(p):
    """Wait for loadgen's {"event":"ready"} line (every client connected); the line, or an error."""
    for line in p.stdout:
        if line.startswith("{") and json.loads(line).get("event") == "ready":
            return json.loads(line)
    finish(p)
    raise RuntimeError("loadgen ended before it was ready")


def finish(p, timeout=900):
    out, err = p.communicate(timeout=timeout)
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"loadgen exited {p.returncode}: {err.strip()[-500:]}")
    return lines


# ---- statistics -----------------------------------------------------------------

def agg(runs):
    """[{key: number}] -> {key: {"median", "min", "max"}} over the runs that have the key."""
    out = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        if vals:
            out[k] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
    return out


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


# ---- SVG ---------------------------------------------------------------------------

def svg_bars(path, title, rows, key, unit):
    """One bar per row (its label): the median of key, a whisker from min to max."""
    vals = [(r["label"], r["figures"].get(key)) for r in rows if "figures" in r]
    vals = [(lab, f) for lab, f in vals if f]
    w, h, left, top, bottom = 640, 320, 70, 40, 50
    vmax = max([f["max"] for _, f in vals] + [1e-9])
    bw = (w - left - 20) / max(1, len(vals))
    esc = lambda s: str(s).replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             f'font-size="12"><rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{esc(title)}</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
             f'<text x="{left - 5}" y="{top + 4}" text-anchor="end">{fmt(vmax)}</text>',
             f'<text x="{left - 5}" y="{h - bottom}" text-anchor="end">0</text>',
             f'<text x="12" y="{(h - bottom + top) / 2}" transform="rotate(-90 12 {(h - bottom + top) / 2})" '
             f'text-anchor="middle">{esc(unit)}</text>']
    span = h - bottom - top
    for i, (lab, f) in enumerate(vals):
        x = left + i * bw + bw * 0.15
        y = lambda v: h - bottom - span * v / vmax  # noqa: E731
        parts.append(f'<rect x="{x:.1f}" y="{y(f["median"]):.1f}" width="{bw * 0.7:.1f}" '
                     f'height="{h - bottom - y(f["median"]):.1f}" fill="#4a7ab5"/>')
        cx = x + bw * 0.35
        parts.append(f'<line x1="{cx:.1f}" y1="{y(f["min"]):.1f}" x2="{cx:.1f}" y2="{y(f["max"]):.1f}" '
                     f'stroke="black"/>')
        parts.append(f'<text x="{cx:.1f}" y="{y(f["median"]) - 4:.1f}" text-anchor="middle">'
                     f'{fmt(f["median"])}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{h - bottom + 16}" text-anchor="middle">{esc(lab)}</text>')
    parts.append(f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle" fill="#555">median of the runs; '
                 f'whisker: min to max</text></svg>')
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts) + "\n")


# ---- the benchmarks ----------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.q = args.quick
        self.runs = 1 if args.quick else args.runs
        self.fl = None
        self.homes_file = None
        self.bound_us = None
        self.doc = None

    # -- fixture --

    def up(self):
        """One fixture for every benchmark but threads: Mosquitto, varskod, all agents, bench devices."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # varskod inherits it
        self.nofile = hard
        # A capacity fixture: the load comes from one loopback address and 256 devices, standing for
        # many people at many addresses, so the caps per address, device and user are raised (test_abuse
        # and test_limits prove those caps; the abusers here connect from ABUSE_SOURCE).
        conf = {"max_sessions": min(100000, max(self.idle_counts() + [100]) + 1000),
                "max_conns_per_address": 100000, "max_sessions_per_device": 1000,
                "max_sessions_per_user": 1000}
        for kv in self.args.config:
            k, v = kv.split("=", 1)
            conf[k] = v
        self.fl = flowlib.Flow(config=conf)
        self.fl.__enter__()
        t0 = time.monotonic()
        self.fl.setup()
        n = self.devices()
        users = [{"id": f"bench-fag-{k:03d}", "name": f"Bench Fagperson {k:03d}", "role": "fagperson",
                  "institutions": [INST]} for k in range(n)]
        sup = self.fl.path("bench-users.json")
        with open(sup, "w", encoding="utf-8") as f:
            json.dump({"tenant": flowlib.TENANT, "users": users}, f)
        self.fl.ctl_ok("import", sup)
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(4) as ex:
            homes = list(ex.map(self.fl.enroll, [u["id"] for u in users]))
        self.homes_file = self.fl.path("bench-homes.txt")
        with open(self.homes_file, "w", encoding="utf-8") as f:
            f.write("\n".join(homes) + "\n")
        self.doc = self.fl.doc(name="bench-doc", mutate=lambda d: d["attachments"][0].update(size=100 * 1024))
        self.pid = self.fl.procs["varskod"][0].pid
        print(f"bench: fixture up in {time.monotonic() - t0:.0f} s ({n} bench devices, fd limit {hard})",
              flush=True)

    def restart_varskod(self):
        self.fl.stop_varskod()
        self.fl.start_varskod()
        self.pid = self.fl.procs["varskod"][0].pid
        time.sleep(1.0)  # settled: MQTT connected, first ticks done

    def down(self):
        for p in LIVE:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        if self.fl is not None:
            self.fl.__exit__(None, None, None)
            self.fl = None

    def devices(self):
        return 4 if self.q else 256

    def client_counts(self):
        return [1, 4] if self.q else [1, 4, 16, 64, 256]

    def idle_counts(self):
        return [200] if self.q else [1000, 10000, 50000]

    def dur(self, full):
        return 3.0 if self.q else full

    # -- crypto bound --

    def bench_crypto_bound(self):
        runs = []
        for _ in range(self.runs):
            doc = self.doc or self.make_doc_outside()
            out = subprocess.run([prog("cryptobound"), doc, "0.5" if self.q else "1.5"], capture_output=True,
                                 text=True, timeout=120)
            if out.returncode != 0:
                raise RuntimeError(out.stderr.strip())
            runs.append(json.loads(out.stdout))
        figs = agg([{k: r[k] for k in ("us_per_submission", "verify_us", "hash_us", "sign_us",
                                        "submissions_per_s_per_core", "envelope_json_bytes")} for r in runs])
        self.bound_us = figs["us_per_submission"]["median"]
        return [{"label": "1 core", "figures": figs}], "us_per_submission", "µs per submission"

    def make_doc_outside(self):
        d = json.load(open(flowlib.EXAMPLE, encoding="utf-8"))
        d["attachments"][0]["size"] = 100 * 1024
        fd, p = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(d, f, ensure_ascii=False, indent=1)
        return p

    # -- durable submissions --

    def submit_once(self, clients, bad):
        # The clients connect and log in first; the window (varskod CPU, fsyncs) and the clock start together.
        p = loadgen(self.fl, "submit", self.homes_file, clients=clients, duration=self.dur(8.0), doc=self.doc,
                    bad=bad, extra=["--wait-go"], wait=False)
        ready(p)
        w = Window(self.pid).start()
        p.stdin.write("go\n")
        p.stdin.flush()
        res = finish(p)[-1]
        w.stop()
        ok = max(1, res["ok"])
        lg_cpu = res["loadgen_cpu_s"]
        fig = {"receipts_per_s": res["receipts_per_s"], "p50_ms": res["lat_ms"]["p50"],
               "p99_ms": res["lat_ms"]["p99"], "p999_ms": res["lat_ms"]["p999"],
               "varskod_cpu_us": w.cpu * 1e6 / ok,
               "x_bound": (w.cpu * 1e6 / ok) / self.bound_us if self.bound_us else None,
               "fsyncs_per_receipt": w.fsyncs / ok if w.fsyncs is not None else None,
               "kib_written_per_receipt": w.written / 1024 / ok if w.written is not None else None,
               "varskod_cores": w.cpu / w.wall, "loadgen_cores": lg_cpu / res["wall_s"],
               "machine_cores": w.machine_cores,
               "loadgen_cpu_us": lg_cpu * 1e6 / ok, "failed": res["failed"],
               "bad_refused": res["bad_sig_refused"], "bad_accepted": res["bad_sig_accepted"]}
        if res["errors"]:
            fig["errors"] = res["errors"]
        return fig

    def submit_rows(self, bad):
        if self.bound_us is None:
            self.bench_crypto_bound()
        rows = []
        for c in self.client_counts():
            runs = [self.submit_once(c, bad) for _ in range(self.runs)]
            rows.append({"label": f"{c} clients", "figures": agg(runs),
                         "errors": [r.get("errors") for r in runs if r.get("errors")]})
            f = rows[-1]["figures"]
            print(f"bench: submit{' bad ' + str(bad) + '%' if bad else ''} {c:3d} clients: "
                  f"{fmt(f['receipts_per_s']['median'])}/s p99 {fmt(f['p99_ms']['median'])} ms, "
                  f"{fmt(f['varskod_cpu_us']['median'])} µs varskod CPU", flush=True)
        return rows, "receipts_per_s", "receipts/s"

    def bench_submit(self):
        return self.submit_rows(0)

    def bench_submit_badsig(self):
        return self.submit_rows(5)

    # -- idle connections --

    def fresh_client(self, duration):
        """A legitimate client submitting meanwhile (its own device, the last bench home)."""
        one = self.fl.path("bench-one-home.txt")
        with open(self.homes_file, encoding="utf-8") as f:
            last = f.read().split()[-1]
        with open(one, "w", encoding="utf-8") as f:
            f.write(last + "\n")
        return loadgen(self.fl, "submit", one, clients=1, duration=duration, doc=self.doc, wait=False)

    def bench_idle(self):
        rows = []
        for n in self.idle_counts():
            if n + 200 > self.nofile:
                rows.append({"label": f"{n}", "skipped": f"the fd limit is {self.nofile} (hard), below {n} "
                             "connections plus varskod's own"})
                print(f"bench: idle {n}: skipped (fd limit {self.nofile})", flush=True)
                continue
            runs = []
            for _ in range(self.runs):
                # A fresh varskod each run: memory freed by earlier work would be reused by the
                # connections and hide their cost.
                self.restart_varskod()
                rss0 = proc_rss_kib(self.pid)
                hold = self.dur(8.0)
                p = loadgen(self.fl, "idle", self.homes_file, clients=n, duration=hold + 2, wait=False)
                up = ready(p)
                time.sleep(0.5)
                rss1 = proc_rss_kib(self.pid)
                fds = proc_fds(self.pid)
                legit = finish(self.fresh_client(hold))[-1]
                res = finish(p)[-1]
                runs.append({"opened": up["open"], "rss_kib_per_conn": (rss1 - rss0) / max(1, up["open"]),
                             "varskod_rss_mib": rss1 / 1024, "varskod_fds": fds, "open_s": up["open_s"],
                             "fresh_p99_ms": legit["lat_ms"]["p99"], "fresh_ok": legit["ok"],
                             "fresh_failed": legit["failed"], "closed_by_server": res["closed_by_server"]})
                time.sleep(1.0)  # varskod notices the closes
            rows.append({"label": f"{n}", "figures": agg(runs)})
            f = rows[-1]["figures"]
            print(f"bench: idle {n}: {fmt(f['rss_kib_per_conn']['median'])} KiB/conn, fresh client p99 "
                  f"{fmt(f['fresh_p99_ms']['median'])} ms", flush=True)
        return rows, "rss_kib_per_conn", "KiB RSS per connection"

    # -- outbox drain --

    def bench_outbox_drain(self):
        n = self.args.outbox or (300 if self.q else 10000)
        runs = []
        mosq = self.fl.procs["mosquitto"][0]
        for _ in range(self.runs):
            top = self.fl.q("SELECT coalesce(max(id), 0) FROM outbox")[0][0]
            os.kill(mosq.pid, signal.SIGSTOP)
            try:
                t0 = time.monotonic()
                res = loadgen(self.fl, "submit", self.homes_file, clients=16, duration=600, count=n, doc=self.doc)[-1]
                t_sub = time.monotonic() - t0
            finally:
                os.kill(mosq.pid, signal.SIGCONT)
            t1 = time.monotonic()
            pub = done = None
            limit = 120 if self.q else max(600, n // 10)
            while time.monotonic() - t1 < limit:
                rows = self.fl.q("SELECT count(*), count(puback_at), count(done_at) FROM outbox "
                                 "WHERE id > ? AND needs_ack = 1", top)[0]
                total, p, d = rows
                if pub is None and total >= res["ok"] and p >= total:
                    pub = time.monotonic() - t1
                if total >= res["ok"] and d >= total:
                    done = time.monotonic() - t1
                    break
                time.sleep(0.25)
            runs.append({"submitted": res["ok"], "submit_per_s": res["ok"] / t_sub,
                         "published_per_s": res["ok"] / pub if pub else None,
                         "acked_per_s": res["ok"] / done if done else None,
                         "drain_s": done, "publish_s": pub})
            print(f"bench: outbox drain of {res['ok']}: published in {fmt(pub)} s, acknowledged in {fmt(done)} s",
                  flush=True)
        return [{"label": f"{n} queued", "figures": agg(runs)}], "acked_per_s", "acknowledged per s"

    # -- abuse --

    def bench_abuse(self):
        src = ["--source", ABUSE_SOURCE]
        cases = [("garbage", 100 if self.q else 500, src), ("slowloris", 200 if self.q else 2000, src),
                 ("flood", 1, src)]
        rows = []
        for mode, n, extra in cases:
            runs = []
            for _ in range(self.runs):
                d = self.dur(10.0) + self.dur(3.0)
                w = Window(self.pid).start()
                p = loadgen(self.fl, mode, self.homes_file if mode == "flood" else None, clients=n,
                            duration=d + 2, extra=extra, wait=False)
                time.sleep(1.5)  # the abuse is under way
                alone = Window(self.pid).start()  # the abuse alone, before the legitimate client starts
                time.sleep(self.dur(3.0))
                alone.stop()
                rss = [proc_rss_kib(self.pid)]
                fds = [proc_fds(self.pid)]
                legit = self.fresh_client(d - self.dur(3.0) - 1)
                while legit.poll() is None:
                    time.sleep(0.5)
                    rss.append(proc_rss_kib(self.pid))
                    fds.append(proc_fds(self.pid))
                lg = finish(legit)[-1]
                ab = finish(p)[-1]
                w.stop()
                tries = lg["ok"] + lg["failed"]
                runs.append({"legit_success_pct": 100.0 * lg["ok"] / tries if tries else 0.0,
                             "legit_p99_ms": lg["lat_ms"]["p99"], "legit_receipts": lg["ok"],
                             "varskod_rss_mib_max": max(rss) / 1024, "varskod_fds_max": max(fds),
                             "fsyncs_per_s": w.fsyncs / w.wall if w.fsyncs is not None else None,
                             "abuse_alone_fsyncs_per_s": alone.fsyncs / alone.wall if alone.fsyncs is not None
                             else None, "abuse_alone_varskod_cores": alone.cpu / alone.wall,
                             "varskod_cores": w.cpu / w.wall, "loadgen_cores": ab["loadgen_cpu_s"] / ab["wall_s"],
                             "abuse_closed_by_server": ab.get("closed_by_server"),
                             "abuse_frames": ab.get("frames"), "loadgen": ab, "legit_errors": lg["errors"]})
                time.sleep(1.0)
            rows.append({"label": f"{mode} {n}", "figures": agg(runs), "loadgen": [r["loadgen"] for r in runs],
                         "legit_errors": [r["legit_errors"] for r in runs]})
            f = rows[-1]["figures"]
            print(f"bench: abuse {mode} {n}: legit {fmt(f['legit_success_pct']['median'])} % ok, p99 "
                  f"{fmt(f['legit_p99_ms']['median'])} ms, {fmt(f['fsyncs_per_s']['median'] if 'fsyncs_per_s' in f else None)} "
                  "fsyncs/s", flush=True)
        return rows, "legit_p99_ms", "legit p99 ms"

    # -- thread relay (bench_threads.py, its own fixture) --

    def bench_threads(self):
        runs = {}
        for _ in range(self.runs):
            argv = [sys.executable, os.path.join(HERE, "bench_threads.py")]
            if self.q:
                argv += ["--messages", "40", "--sizes", "2,8"]
            else:
                argv += ["--messages", "200"]
            out = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
            if out.returncode != 0:
                raise RuntimeError(f"bench_threads.py exited {out.returncode}: {out.stderr.strip()[-500:]}")
            line = [x for x in out.stdout.splitlines() if x.startswith("bench_threads: [")][-1]
            for r in json.loads(line.split(": ", 1)[1]):
                mq = r.get("mosquitto_deliveries_per_s")
                runs.setdefault(r["members"], []).append(
                    {"accepted_per_s": r["accepted_per_s"], "deliveries_per_s": r["deliveries_per_s"],
                     "mosquitto_deliveries_per_s": mq, "cpu_us_per_msg": r["cpu_us_per_msg"],
                     "x_mosquitto": r["deliveries_per_s"] / mq if mq else None})
        rows = [{"label": f"{m} members", "figures": agg(v)} for m, v in sorted(runs.items())]
        return rows, "deliveries_per_s", "deliveries/s"


ORDER = ["crypto_bound", "submit", "submit_badsig", "idle", "outbox_drain", "abuse", "threads"]
SHOWN = {  # the columns of the printed table, per benchmark
    "crypto_bound": ["us_per_submission", "verify_us", "sign_us", "submissions_per_s_per_core"],
    "submit": ["receipts_per_s", "p50_ms", "p99_ms", "p999_ms", "varskod_cpu_us", "x_bound", "fsyncs_per_receipt",
               "kib_written_per_receipt", "varskod_cores", "loadgen_cores", "machine_cores"],
    "idle": ["opened", "rss_kib_per_conn", "varskod_rss_mib", "fresh_p99_ms", "fresh_failed"],
    "outbox_drain": ["submitted", "published_per_s", "acked_per_s", "drain_s"],
    "abuse": ["legit_success_pct", "legit_p99_ms", "varskod_rss_mib_max", "varskod_fds_max",
              "abuse_alone_fsyncs_per_s", "fsyncs_per_s", "abuse_alone_varskod_cores", "loadgen_cores"],
    "threads": ["accepted_per_s", "deliveries_per_s", "mosquitto_deliveries_per_s", "x_mosquitto"],
}
SHOWN["submit_badsig"] = SHOWN["submit"] + ["bad_refused", "bad_accepted"]


def print_table(results):
    for name in ORDER:
        b = results["benchmarks"].get(name)
        if b is None:
            continue
        print(f"\n## {name}   target: {TARGETS[name]}")
        if b.get("error"):
            print(f"   FAILED: {b['error']}")
            continue
        cols = SHOWN[name]
        print("   " + " | ".join(["case"] + cols))
        for r in b["rows"]:
            if r.get("skipped"):
                print(f"   {r['label']} | skipped: {r['skipped']}")
                continue
            cells = []
            for c in cols:
                f = r["figures"].get(c)
                cells.append("-" if f is None else
                             fmt(f["median"]) if f["min"] == f["max"] else
                             f"{fmt(f['median'])} [{fmt(f['min'])}–{fmt(f['max'])}]")
            print("   " + " | ".join([r["label"]] + cells))


def markdown(results):
    """The figures of results.json as Markdown tables (for README's "Figures")."""
    for name in ORDER:
        b = results["benchmarks"].get(name)
        if b is None or b.get("error"):
            continue
        cols = SHOWN[name]
        print(f"\n**{name}** ({b.get('date', results.get('date'))}, {b.get('runs', results.get('runs'))} runs; "
              f"target: {TARGETS[name]})\n")
        print("| " + " | ".join(["case"] + cols) + " |")
        print("|" + " --- |" * (len(cols) + 1))
        for r in b["rows"]:
            if r.get("skipped"):
                print(f"| {r['label']} | skipped: {r['skipped']} |" + " |" * (len(cols) - 1))
                continue
            cells = []
            for c in cols:
                f = r["figures"].get(c)
                cells.append("-" if f is None else fmt(f["median"]) if f["min"] == f["max"] else
                             f"{fmt(f['median'])} ({fmt(f['min'])}–{fmt(f['max'])})")
            print("| " + " | ".join([r["label"]] + cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small counts, one run (for trying the bench out)")
    ap.add_argument("--only", default="", help="comma-separated benchmark names (" + ",".join(ORDER) + ")")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (default 3; --quick: 1)")
    ap.add_argument("--outbox", type=int, default=0, metavar="N",
                    help="underretninger queued in the outbox drain (default 10000, the issue's figure; "
                         "--quick: 300); each run submits them first, so 10000 takes minutes")
    ap.add_argument("--out", default=os.path.join(harness.BUILD_ROOT, "bench"), help="results directory")
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                    help="an extra varskod config key for the fixture (repeatable)")
    ap.add_argument("--markdown", action="store_true",
                    help="run nothing: print <out>/results.json as Markdown tables")
    args = ap.parse_args()
    if args.markdown:
        with open(os.path.join(args.out, "results.json"), encoding="utf-8") as f:
            markdown(json.load(f))
        return 0
    names = [n for n in ORDER if not args.only or n in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - set(ORDER)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for p in ("cryptobound", "loadgen"):
        if not os.access(prog(p), os.X_OK):
            print(f"bench: {prog(p)} is not built (ninja -C {harness.BUILD_ROOT})", file=sys.stderr)
            return 1
    os.makedirs(args.out, exist_ok=True)
    b = Bench(args)
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": f"{platform.node()}: {os.cpu_count()} cores, {platform.machine()}, "
                          f"{platform.release()}", "command": " ".join(["tests/bench/run.sh"] + sys.argv[1:]),
               "runs": b.runs, "quick": args.quick, "benchmarks": {}}
    t0 = time.monotonic()
    failed = 0
    try:
        for name in names:
            t1 = time.monotonic()
            try:
                if name != "threads" and name != "crypto_bound" and b.fl is None:
                    b.up()
                rows, key, unit = getattr(b, "bench_" + name)()
                results["benchmarks"][name] = {"rows": rows, "target": TARGETS[name], "seconds": time.monotonic() - t1,
                                               "date": results["date"], "runs": b.runs}
                svg_bars(os.path.join(args.out, f"{name}.svg"), f"{name} ({unit})", rows, key, unit)
            except Exception as e:  # one benchmark failing does not stop the others
                failed += 1
                results["benchmarks"][name] = {"error": f"{type(e).__name__}: {e}", "target": TARGETS[name]}
                print(f"bench: {name} failed: {e}", file=sys.stderr, flush=True)
    finally:
        b.down()
    results["seconds"] = time.monotonic() - t0
    path = os.path.join(args.out, "results.json")
    if args.only and os.path.exists(path):
        # --only: the other benchmarks' figures of the last run stay (each carries its own date)
        try:
            with open(path, encoding="utf-8") as f:
                old = json.load(f)
            merged = dict(old.get("benchmarks", {}))
            merged.update(results["benchmarks"])
            results["benchmarks"] = {n: merged[n] for n in ORDER if n in merged}
        except (OSError, ValueError):
            pass
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    print(f"\nbench: {results['machine']}, {results['date']}, {results['command']}, {results['runs']} run(s) per "
          f"figure, {results['seconds']:.0f} s; median [min–max]; results in {args.out}/results.json and *.svg")
    print("bench: loadgen_cores and varskod_cores are CPU seconds per wall second of each process (2 cores in all)")
    print_table(results)
    print(f"\n{len(names)} benchmarks ran, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
