#!/usr/bin/python3
"""Varsko as a Debian service (issue 12): install, systemd units, readiness, logs, limits.

- `meson install --destdir` into a temporary root puts every program, the
  units, the sysusers.d and tmpfiles.d snippets, the example configuration
  and the man pages (when built) where a packager expects them, and nothing
  test-only (varskod-ghost);
- `systemd-analyze verify` accepts both units without a single warning
  (their programs pointed at the destdir copies), and `systemd-analyze
  security --offline=true` scores each at most 3.0 ("OK"); the scores are
  printed;
- `systemd-sysusers` and `systemd-tmpfiles --create` with --root make the
  users and the directories with the owners and modes the units need;
- varskod speaks systemd's notify protocol: READY=1 only once the listener
  accepts, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM;
- with stderr on journald's stream (JOURNAL_STREAM) every line carries a
  syslog priority prefix; with `log_format = json` every line is a JSON
  object; neither changes what is logged;
- varskod raises its open-file soft limit to the hard limit and says so.
"""

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:400]!r} stderr={err.strip()[:400]!r}"


def build_option(name):
    r = subprocess.run(["meson", "introspect", "--buildoptions", harness.BUILD_ROOT], capture_output=True,
                       text=True, timeout=60)
    for o in json.loads(r.stdout or "[]"):
        if o.get("name") == name:
            return o.get("value")
    return None


def installed(dest, prefix, rel):
    return os.path.join(dest, prefix.lstrip("/"), rel)


def notify_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)
    return s


def drain(sock, until, want=None):
    """Datagrams from sock until time `until` (or until one equal to `want` arrived): [(time, text)]."""
    got = []
    while time.time() < until:
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        got.append((time.time(), data.decode("utf-8", "replace")))
        if want is not None and got[-1][1] == want:
            break
    return got


def main():
    checks = harness.Checks()
    c = checks.check
    for tool in ("meson", "systemd-analyze", "systemd-sysusers", "systemd-tmpfiles", "prlimit"):
        if shutil.which(tool) is None:
            harness.skip(f"{tool} is not installed (deploy/install-deps.sh)")
    with harness.Env() as env:
        # ---- meson install ----
        dest = env.path("dest")
        rc, out, err = env.run(["meson", "install", "-C", harness.BUILD_ROOT, "--no-rebuild", "--destdir", dest,
                                "--quiet"], timeout=300)
        c("meson install --destdir exits 0", rc == 0, out_of(rc, out, err))
        prefix = build_option("prefix") or "/usr/local"
        sbindir = build_option("sbindir") or "sbin"
        bindir = build_option("bindir") or "bin"
        sysconfdir = build_option("sysconfdir") or "etc"
        datadir = build_option("datadir") or "share"
        mandir = build_option("mandir") or "share/man"
        unitdir = build_option("systemdsystemunitdir") or os.path.join(prefix, "lib", "systemd", "system")

        def p(d, *rest):
            return installed(dest, prefix, os.path.join(d, *rest)) if not d.startswith("/") else \
                os.path.join(dest, d.lstrip("/"), *rest)

        want = {
            "varskod": p(sbindir, "varskod"),
            "varskoctl": p(sbindir, "varskoctl"),
            "varsko-agent": p(sbindir, "varsko-agent"),
            "varsko": p(bindir, "varsko"),
            "varskod.service": p(unitdir, "varskod.service"),
            "varsko-agent@.service": p(unitdir, "varsko-agent@.service"),
            "sysusers.d/varsko.conf": p(os.path.join(prefix, "lib", "sysusers.d"), "varsko.conf"),
            "tmpfiles.d/varsko.conf": p(os.path.join(prefix, "lib", "tmpfiles.d"), "varsko.conf"),
            "example config (config dir)": p(sysconfdir, "varsko", "varskod.conf.example"),
            "example config (docs)": p(datadir, "doc", "varsko", "varskod.conf.example"),
        }
        if os.path.isdir(os.path.join(harness.SOURCE_ROOT, "docs", "man")):
            for page, sec in (("varskod", 8), ("varskoctl", 8), ("varsko-agent", 8), ("varsko", 1),
                              ("varskod.conf", 5)):
                want[f"{page}({sec})"] = p(mandir, f"man{sec}", f"{page}.{sec}")
        missing = [k for k, v in want.items() if not os.path.isfile(v)]
        c(f"meson install puts all {len(want)} files in place", not missing, f"missing: {missing}")
        files = sorted(os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs)
        harness.log("     installed: " + ", ".join(files))
        c("nothing test-only is installed (varskod-ghost)", not any("ghost" in f for f in files), str(files))
        libdir = p(build_option("libdir") or "lib")
        for prog in ("varskod", "varskoctl", "varsko-agent", "varsko"):
            if os.path.isfile(want[prog]):
                # varsko links the installed libvarsko.so, found in the destdir's libdir here.
                rc, out, err = env.run([want[prog], "--version"], env={"LD_LIBRARY_PATH": libdir})
                c(f"the installed {prog} runs (--version)", rc == 0 and "0." in out, out_of(rc, out, err))
        mode = os.stat(want["varskod"]).st_mode & 0o777 if os.path.isfile(want["varskod"]) else 0
        c("the installed programs are executable by everyone, writable by root only", mode == 0o755, oct(mode))

        # ---- systemd-analyze verify and security ----
        units = env.path("units")
        os.mkdir(units)
        copies = {}
        for name, inst in (("varskod.service", "varskod.service"),
                           ("varsko-agent@.service", "varsko-agent@team-slagelse.service")):
            src = want[name]
            if not os.path.isfile(src):
                continue
            text = open(src, encoding="utf-8").read()
            prog_dir = os.path.join(prefix, sbindir) if not sbindir.startswith("/") else sbindir
            c(f"{name}: its programs are the installed ones ({prog_dir})", f"{prog_dir}/" in text, text[:300])
            # Point the programs at the destdir copies, so verify can check they exist and are executable.
            copies[inst] = os.path.join(units, inst)
            with open(copies[inst], "w", encoding="utf-8") as f:
                f.write(text.replace(f"{prog_dir}/", os.path.dirname(want["varskod"]) + "/"))
        rc, out, err = env.run(["systemd-analyze", "verify", "--man=no", *copies.values()], timeout=120)
        c("systemd-analyze verify accepts both units without a warning",
          rc == 0 and err.strip() == "" and len(copies) == 2, out_of(rc, out, err))
        for inst, path in copies.items():
            rc, out, err = env.run(["systemd-analyze", "security", "--offline=true", "--no-pager", path],
                                   timeout=120)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", out)
            score = float(m.group(1)) if m else None
            harness.log(f"     systemd-analyze security {inst}: {m.group(1)} {m.group(2)}" if m else
                        f"     systemd-analyze security {inst}: no score ({out_of(rc, out, err)})")
            c(f"systemd-analyze security {inst}: exposure at most 3.0 (OK)", score is not None and score <= 3.0,
              out_of(rc, out[-600:], err))
        for inst in copies:
            text = open(copies[inst], encoding="utf-8").read()
            for line in ("ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                         "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
                         "Restart=on-failure", "StateDirectory="):
                c(f"{inst} has {line.strip()}", line in text)
        c("varskod.service is Type=notify with a watchdog and LimitNOFILE",
          all(x in open(copies.get("varskod.service", os.devnull)).read()
              for x in ("Type=notify", "WatchdogSec=", "LimitNOFILE=")))

        # ---- sysusers and tmpfiles into a scratch root ----
        root = env.path("root")
        os.makedirs(os.path.join(root, "etc"))
        rc, out, err = env.run(["systemd-sysusers", f"--root={root}", want["sysusers.d/varsko.conf"]])
        passwd = open(os.path.join(root, "etc", "passwd")).read() if os.path.exists(
            os.path.join(root, "etc", "passwd")) else ""
        users = {ln.split(":")[0]: ln.split(":") for ln in passwd.splitlines() if ln}
        c("systemd-sysusers makes the system users varsko and varsko-agent (no login shell)",
          rc == 0 and {"varsko", "varsko-agent"} <= set(users) and
          all(users[u][6].endswith("nologin") and int(users[u][2]) < 1000 for u in ("varsko", "varsko-agent")),
          out_of(rc, out, err) + passwd)
        rc, out, err = env.run(["systemd-tmpfiles", "--create", f"--root={root}", want["tmpfiles.d/varsko.conf"]])
        ok = rc == 0
        for d, m, owner in (("var/lib/varsko", 0o700, "varsko"), ("var/lib/varsko-agent", 0o700, "varsko-agent")):
            path = os.path.join(root, d)
            st = os.stat(path) if os.path.isdir(path) else None
            ok = ok and st is not None and st.st_mode & 0o777 == m and owner in users and \
                st.st_uid == int(users[owner][2])
        confdir = os.path.join(root, (os.path.join(prefix, sysconfdir) if not sysconfdir.startswith("/")
                                      else sysconfdir).lstrip("/"), "varsko")
        st = os.stat(confdir) if os.path.isdir(confdir) else None
        ok = ok and st is not None and st.st_mode & 0o777 == 0o750 and "varsko" in users and \
            st.st_gid == int(users["varsko"][3])
        c("systemd-tmpfiles makes /var/lib/varsko, /var/lib/varsko-agent (0700, their users) and the "
          "configuration directory (0750, group varsko)", ok, out_of(rc, out, err))

        # ---- readiness, watchdog and journald priorities ----
        env.write_config()
        env.ctl_ok("init")
        nsock_path = env.path("notify.sock")
        nsock = notify_socket(nsock_path)
        logpath = env.path("varskod-journal.log")
        logf = open(logpath, "wb")
        st = os.fstat(logf.fileno())
        e = dict(os.environ, NOTIFY_SOCKET=nsock_path, WATCHDOG_USEC="2000000",
                 JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        proc = subprocess.Popen([env.varskod, "-c", env.conf], stdout=logf, stderr=logf, stdin=subprocess.DEVNULL,
                                env=e, start_new_session=True)
        try:
            msgs = drain(nsock, time.time() + 20, want="READY=1")
            ready = [t for t, m in msgs if m == "READY=1"]
            accepting = False
            if ready:
                try:
                    socket.create_connection(("127.0.0.1", env.port), timeout=2).close()
                    accepting = True
                except OSError:
                    pass
            c("varskod sends READY=1, and its listener accepts at that moment", ready and accepting, str(msgs))
            msgs = drain(nsock, time.time() + 3.5)
            dogs = [t for t, m in msgs if m == "WATCHDOG=1"]
            c("WATCHDOG=1 at least every second with WATCHDOG_USEC=2000000 (half the interval)",
              len(dogs) >= 3, str(msgs))
            proc.terminate()
            msgs = drain(nsock, time.time() + 15, want="STOPPING=1")
            c("STOPPING=1 on SIGTERM", any(m == "STOPPING=1" for _, m in msgs), str(msgs))
            rc = proc.wait(15)
            c("varskod exits 0 after SIGTERM", rc == 0, f"rc={rc}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            logf.close()
            nsock.close()
        lines = [ln for ln in open(logpath, encoding="utf-8", errors="replace").read().splitlines() if ln]
        bad = [ln for ln in lines if not re.match(r"^<[3467]>(error|warn|info|debug) ", ln)]
        prio = {"3": "error", "4": "warn", "6": "info", "7": "debug"}
        wrong = [ln for ln in lines if re.match(r"^<([3467])>(\w+) ", ln) and
                 prio[ln[1]] != re.match(r"^<([3467])>(\w+) ", ln).group(2)]
        c("on journald's stream every line starts with its syslog priority (<3> error ... <7> debug)",
          lines and not bad and not wrong, f"{len(lines)} lines; bad {bad[:3]} wrong {wrong[:3]}")
        c("... and the startup is logged (listening, open-file limit)",
          any("listening on port" in ln for ln in lines) and any("open-file limit" in ln for ln in lines),
          str(lines[:8]))

        # ---- log_format = json ----
        env.write_config(port=env.port, log_format="json")
        env.start_varskod()
        env.stop_varskod()
        lines = [ln for ln in env.read_log("varskod").splitlines() if ln]
        objs = []
        for ln in lines:
            try:
                o = json.loads(ln)
            except ValueError:
                o = None
            objs.append(o)
        c("log_format = json: every line is a JSON object with level, msg and time",
          lines and all(isinstance(o, dict) and set(o) == {"level", "msg", "time"} and
                        o["level"] in ("error", "warn", "info", "debug") and
                        re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", o["time"]) for o in objs),
          str(lines[:4]))
        c("... with the same messages (listening, stopped)",
          any("listening on port" in o["msg"] for o in objs if o) and any(o["msg"] == "varskod stopped"
                                                                          for o in objs if o), str(lines[-3:]))
        env.write_config(port=env.port, log_format="xml")
        rc, out, err = env.run([env.varskod, "--check-config", "-c", env.conf])
        c("log_format = xml is refused naming the allowed words", rc != 0 and
          "log_format: must be one of auto, text, journal, json" in out + err, out_of(rc, out, err))

        # ---- the open-file limit ----
        env.write_config(port=env.port)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        lim_hard = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
        env.start("varskod-nofile", ["prlimit", f"--nofile=256:{lim_hard}", env.varskod, "-c", env.conf],
                  port=env.port)
        env.stop("varskod-nofile")
        text = env.read_log("varskod-nofile")
        c(f"varskod started with 256:{lim_hard} open files raises the soft limit to {lim_hard} and says so",
          f"open-file limit {lim_hard}" in text, text[-600:])
        env.write_config(port=env.port, max_sessions=100000)
        env.start("varskod-nofile2", ["prlimit", "--nofile=256:1024", env.varskod, "-c", env.conf], port=env.port)
        env.stop("varskod-nofile2")
        text = env.read_log("varskod-nofile2")
        c("a hard limit below max_sessions is a warning naming LimitNOFILE",
          "open-file limit 1024 allows about 960 sessions, fewer than max_sessions = 100000" in text and
          "LimitNOFILE" in text, text[-600:])
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
