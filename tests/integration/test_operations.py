#!/usr/bin/python3
"""docs/OPERATIONS.md as a runbook: every command of its `sh` blocks is run (issue 12).

Every fenced block of docs/OPERATIONS.md has a language; the `sh` blocks
hold commands, one per line. This test runs those of every section but
"Backup and restore" (tests/integration/test_backup.py runs that one), in
order, in a scratch root, and fails on a command it does not know how to
run, so a command added to the document without a test fails here.

The machine has no systemd as PID 1 and the test does not install into /:
  - the paths of the document (/etc/varsko, /var/lib/varsko, /var/lib/
    varsko-agent, /var/backups/varsko, /media/rodnoegle) are moved into the
    scratch root, in the commands and in the copied configuration;
  - `meson setup build ...` is run for real into a scratch directory
    (configure only: it checks the options), and `meson install -C build`
    installs the test's own build with --destdir into the scratch root, so
    `/etc/varsko` there is filled from the build's sysconfdir;
  - `systemd-sysusers` and `systemd-tmpfiles --create` run with --root on
    the installed snippets; `runuser -u USER --` is dropped (the users exist
    in the scratch root's passwd only; the test runs as root);
  - `systemctl enable` runs as `systemctl --root=ROOT enable`; `start` (and
    the start of `enable --now`, `restart`) runs the installed unit's
    ExecStartPre= and ExecStart= lines with NOTIFY_SOCKET set, waiting for
    READY=1 as systemd does for Type=notify (for Type=exec: the process
    staying up); `stop` sends SIGTERM and waits;
  - `curl` runs against the scratch varskod's admin port; the agent talks to
    a real Mosquitto started by the test; the example server name of the
    document is the scratch varskod's address; ENROLLMENT-CODE and
    ORG-FINGERPRINT come from `varskoctl invite`.
The editing the document asks for in prose (the TLS files, origins, ports,
the agent's options file) is done by the test between the blocks.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OPERATIONS = os.path.join(harness.SOURCE_ROOT, "docs", "OPERATIONS.md")
DOC_SERVER = "wss://varsko.slagelse.dk:8443"
DOC_ADMIN = "http://127.0.0.1:8444"
TEAM = "team-slagelse"


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[-300:]!r} stderr={err.strip()[-400:]!r}"


def doc_blocks():
    """[(section, language, [command lines])] of every fenced block, and the sections in order."""
    blocks, section, lang, lines = [], None, None, None
    for line in open(OPERATIONS, encoding="utf-8").read().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("### ") and section != "Backup and restore":
            section = line[4:].strip()  # a subsection with commands of its own (Agents)
        if line.startswith("```"):
            if lines is None:
                lang, lines = line[3:].strip(), []
            else:
                blocks.append((section, lang, lines))
                lines = None
            continue
        if lines is not None:
            lines.append(line)
    return blocks


def build_option(name):
    r = subprocess.run(["meson", "introspect", "--buildoptions", harness.BUILD_ROOT], capture_output=True,
                       text=True, timeout=60)
    for o in json.loads(r.stdout or "[]"):
        if o.get("name") == name:
            return o.get("value")
    return None


class Runbook:
    def __init__(self, env, c):
        self.env, self.c = env, c
        self.root = env.path("root")
        os.makedirs(self.root)
        self.prefix = build_option("prefix") or "/usr/local"
        sysconf = build_option("sysconfdir") or "etc"
        self.sysconfdir = sysconf if sysconf.startswith("/") else os.path.join(self.prefix, sysconf)
        self.sbindir = os.path.join(self.prefix, build_option("sbindir") or "sbin")
        self.bindir = os.path.join(self.prefix, build_option("bindir") or "bin")
        self.libdir = os.path.join(self.prefix, build_option("libdir") or "lib")
        self.procs = {}  # unit -> Popen
        self.port = harness.free_port()
        self.admin_port = harness.free_port()
        self.ws = f"wss://127.0.0.1:{self.port}"
        self.code = self.fpr = None
        self.varsko_home = None  # VARSKO_HOME for a `varsko` command that names no --home

    # ---- paths ----
    def r(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    DOC_PATHS = re.compile(r"(?<![\w/.-])(/etc/varsko|/var/lib/varsko-agent|/var/lib/varsko|/var/backups/varsko"
                           r"|/media/rodnoegle)(?=[/\s\"']|$)", re.M)

    def move(self, text):
        """The document's paths moved into the scratch root (one pass: a moved path is not moved again)."""
        text = self.DOC_PATHS.sub(lambda m: self.r(m.group(1)), text)
        text = text.replace(DOC_SERVER, self.ws).replace(DOC_ADMIN, f"http://127.0.0.1:{self.admin_port}")
        if self.code:
            text = text.replace("ENROLLMENT-CODE", self.code)
        if self.fpr:
            text = text.replace("ORG-FINGERPRINT", self.fpr)
        return text

    def program(self, name):
        """An installed program in the scratch root (varsko needs the installed libvarsko)."""
        for d in (self.sbindir, self.bindir):
            p = self.r(os.path.join(d, name))
            if os.path.isfile(p):
                return p
        return None

    def run(self, argv, env=None, timeout=300):
        e = {"LD_LIBRARY_PATH": self.r(self.libdir)}
        if env:
            e.update(env)
        return self.env.run(argv, env=e, timeout=timeout)

    # ---- systemctl emulation ----
    def unit_text(self, unit):
        base = re.sub(r"@[^.]+\.service$", "@.service", unit)
        path = self.r(os.path.join(self.prefix, "lib", "systemd", "system", base))
        text = open(path, encoding="utf-8").read()
        inst = unit.split("@", 1)[1].rsplit(".", 1)[0] if "@" in unit else ""
        return text.replace("%i", inst)

    def exec_lines(self, unit, key):
        out = []
        for line in self.unit_text(unit).splitlines():
            if line.startswith(key + "="):
                out.append(line.split("=", 1)[1])
        return out

    def expand(self, unit, line):
        """An Exec line with the scratch root's paths and the EnvironmentFile's variables."""
        envvars = {}
        for ef in self.exec_lines(unit, "EnvironmentFile"):
            p = self.move(ef.replace(self.sysconfdir, "/etc"))
            for ln in open(p, encoding="utf-8").read().splitlines():
                if "=" in ln and not ln.startswith("#"):
                    k, v = ln.split("=", 1)
                    envvars[k.strip()] = v.strip()
        line = line.replace(self.sysconfdir + "/varsko", "/etc/varsko")
        argv = []
        for word in shlex.split(line):
            if word.startswith("$") and word[1:] in envvars:
                argv += shlex.split(envvars[word[1:]])
            elif word.startswith(("/usr", "/etc", "/var")) and os.path.isfile(self.r(word)):
                argv.append(self.r(word))
            else:
                argv.append(self.move(word))
        return argv

    def start(self, unit):
        for pre in self.exec_lines(unit, "ExecStartPre"):
            rc, out, err = self.run(self.expand(unit, pre))
            if rc != 0:
                return f"ExecStartPre failed: {out_of(rc, out, err)}"
        argv = self.expand(unit, self.exec_lines(unit, "ExecStart")[0])
        sock_path = self.env.path(f"notify-{unit}.sock")
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(0.5)
        logf = open(self.env.path(f"{unit}.log"), "ab")
        e = dict(os.environ, NOTIFY_SOCKET=sock_path, LD_LIBRARY_PATH=self.r(self.libdir))
        p = subprocess.Popen(argv, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, env=e, start_new_session=True)
        self.procs[unit] = p
        notify = "Type=notify" in self.unit_text(unit)
        deadline = time.time() + 30
        ok = False
        while time.time() < deadline and p.poll() is None:
            if notify:
                try:
                    if sock.recv(4096) == b"READY=1":
                        ok = True
                        break
                except socket.timeout:
                    pass
            else:
                time.sleep(3)
                ok = p.poll() is None
                break
        sock.close()
        logf.close()
        return None if ok else f"{unit} did not start (exit {p.poll()}): {self.log(unit)[-800:]}"

    def stop(self, unit):
        p = self.procs.pop(unit, None)
        if p is None:
            return "not running"
        p.send_signal(signal.SIGTERM)
        try:
            return None if p.wait(30) == 0 else f"exit {p.returncode}"
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            return "did not stop within 30 s"

    def log(self, unit):
        try:
            return open(self.env.path(f"{unit}.log"), "rb").read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop_all(self):
        for unit in list(self.procs):
            self.stop(unit)

    # ---- one command of the document ----
    def command(self, line):
        """Run one line; (ok, detail)."""
        words = shlex.split(line)
        if words[:3] == ["runuser", "-u", words[2] if len(words) > 2 else ""] and "--" in words:
            words = words[words.index("--") + 1:]
        cmd = words[0]
        if cmd == "deploy/install-deps.sh":
            rc, out, err = self.run([os.path.join(harness.SOURCE_ROOT, cmd), *words[1:]], timeout=900)
            return rc == 0, out_of(rc, out, err)
        if cmd == "meson" and words[1] == "setup":
            argv = ["meson", "setup", self.env.path("meson-check"), *words[3:]]
            r = subprocess.run(argv, cwd=harness.SOURCE_ROOT, capture_output=True, text=True, timeout=300)
            return r.returncode == 0, out_of(r.returncode, r.stdout, r.stderr)
        if cmd == "meson" and words[1] == "install":
            rc, out, err = self.run(["meson", "install", "-C", harness.BUILD_ROOT, "--no-rebuild", "--destdir",
                                     self.root, "--quiet"])
            # With --prefix=/usr the configuration directory is /etc; this build's is its own sysconfdir.
            src = self.r(os.path.join(self.sysconfdir, "varsko"))
            if rc == 0 and os.path.isdir(src) and src != self.r("/etc/varsko"):
                os.makedirs(self.r("/etc/varsko"), exist_ok=True)
                for n in os.listdir(src):
                    shutil.copy2(os.path.join(src, n), self.r(os.path.join("/etc/varsko", n)))
            return rc == 0, out_of(rc, out, err)
        if cmd in ("systemd-sysusers", "systemd-tmpfiles"):
            snippet = self.r(os.path.join(self.prefix, "lib", "sysusers.d" if cmd == "systemd-sysusers"
                                          else "tmpfiles.d", "varsko.conf"))
            os.makedirs(self.r("/etc"), exist_ok=True)
            rc, out, err = self.run([cmd, *words[1:], f"--root={self.root}", snippet])
            return rc == 0, out_of(rc, out, err)
        if cmd == "cp":
            shutil.copy2(self.move(words[1]), self.move(words[2]))
            return True, ""
        if cmd in ("varskod", "varskoctl", "varsko"):
            prog = self.program(cmd)
            if prog is None:
                return False, f"{cmd} is not installed in the scratch root"
            e = {"HOME": self.env.tmp}
            if cmd == "varsko" and self.varsko_home:
                e["VARSKO_HOME"] = self.varsko_home
            rc, out, err = self.run([prog, *[self.move(w) for w in words[1:]]], env=e)
            return rc == 0, out_of(rc, out, err)
        if cmd == "curl":
            rc, out, err = self.run([cmd, *[self.move(w) for w in words[1:]]], timeout=30)
            return rc == 0, out_of(rc, out, err)
        if cmd == "systemctl":
            verb, unit = words[1], words[-1]
            problems = []
            if verb == "enable":
                rc, out, err = self.run(["systemctl", f"--root={self.root}", "enable", unit])
                wants = self.r(f"/etc/systemd/system/multi-user.target.wants/{unit}")
                if rc != 0 or not os.path.lexists(wants):
                    problems.append(f"enable: {out_of(rc, out, err)}")
                if "--now" in words and not problems:
                    problems.append(self.start(unit))
            elif verb == "start":
                problems.append(self.start(unit))
            elif verb == "stop":
                problems.append(self.stop(unit))
            elif verb == "restart":
                problems.append(self.stop(unit))
                problems.append(self.start(unit))
            else:
                problems.append(f"systemctl {verb}: not known to this test")
            problems = [p for p in problems if p]
            return not problems, "; ".join(problems)
        return False, f"a command this test does not know how to run: {line}"


def main():
    checks = harness.Checks()
    c = checks.check
    for tool in ("meson", "systemctl", "systemd-sysusers", "systemd-tmpfiles", "curl"):
        if shutil.which(tool) is None:
            harness.skip(f"{tool} is not installed (deploy/install-deps.sh)")
    blocks = doc_blocks()
    untagged = [(s, lines[:1]) for s, lang, lines in blocks if not lang]
    c("every code block of OPERATIONS.md has a language (sh blocks are commands)", not untagged, str(untagged))
    with harness.Env() as env:
        env.make_certs()
        rb = Runbook(env, c)
        try:
            run_sections(env, rb, blocks, c)
        finally:
            rb.stop_all()
    return checks.done()


def prepare(env, rb, section, c):
    """What the document asks for in prose before a section's block."""
    if section == "Configuration and the first start":
        os.makedirs(rb.r("/etc/varsko/tls"), exist_ok=True)
        os.makedirs(rb.r("/etc/varsko/keys"), mode=0o700, exist_ok=True)
        for src, dst in (("server.crt", "varskod.pem"), ("server.key", "varskod.key"), ("ca.crt", "ca.pem")):
            shutil.copy2(os.path.join(env.certs, src), rb.r(f"/etc/varsko/tls/{dst}"))
        os.chmod(rb.r("/etc/varsko/tls/varskod.key"), 0o600)
        shutil.copy2(harness.demo_file(), rb.r("/etc/varsko/kommune.json"))
    if section == "Agents":
        env.start_mosquitto(teams=[TEAM])
        cases = rb.r(f"/var/lib/varsko-agent/{TEAM}/cases")
        os.makedirs(cases, mode=0o700, exist_ok=True)
        with open(rb.r(f"/etc/varsko/agent-{TEAM}.env"), "w", encoding="utf-8") as f:
            f.write(f"VARSKO_AGENT_OPTIONS=--mqtt-host 127.0.0.1 --mqtt-port {env.mqtt_port} "
                    f"--ca {env.ca} --cert {os.path.join(env.certs, f'agent-{TEAM}.crt')} "
                    f"--key {os.path.join(env.certs, f'agent-{TEAM}.key')} --case-dir {cases}\n")
        os.makedirs(rb.r(f"/var/lib/varsko-agent/{TEAM}"), mode=0o700, exist_ok=True)
        inv = json.loads(rb.run([rb.program("varskoctl"), "-c", rb.r("/etc/varsko/varskod.conf"), "invite",
                                 "--user", f"agent-{TEAM}", "--json"])[1])
        rb.code, rb.fpr = inv["code"], inv["org_fingerprint"]
    if section == "The organisation root key":
        os.makedirs(rb.r("/media/rodnoegle"), mode=0o700, exist_ok=True)
        # The document signs a release of the web client copied to the medium: this build's.
        dist = os.path.join(harness.BUILD_ROOT, "clients", "web", "dist")
        if os.path.isfile(os.path.join(dist, "release.json")):
            shutil.copytree(dist, rb.r("/media/rodnoegle/web-2026-12"), dirs_exist_ok=True)
        # admin-add needs an admin with a user key: admin-ole enrolls his first device.
        inv = json.loads(rb.run([rb.program("varskoctl"), "-c", rb.r("/etc/varsko/varskod.conf"), "invite",
                                 "--user", "admin-ole", "--json"])[1])
        rb.admin_home = env.path("home-admin-ole")
        rc, out, err = rb.run([rb.program("varsko"), "enroll", "--home", rb.admin_home, "--server", rb.ws, "--code",
                               inv["code"], "--fingerprint", inv["org_fingerprint"], "--ca", env.ca],
                              env={"HOME": env.tmp})
        c("admin-ole enrolls his first device (before admin-add)", rc == 0, out_of(rc, out, err))
    if section == "Moving the server":
        # Each user runs it on each device: here admin-ole's (the document's name is this varskod's address).
        rb.varsko_home = rb.admin_home
    if section == "Upgrading":
        os.makedirs(rb.r("/var/backups/varsko"), mode=0o700, exist_ok=True)


def edit_config(env, rb):
    """The edit the document asks for after the copy: TLS files, ports, origins, no MQTT here."""
    path = rb.r("/etc/varsko/varskod.conf")
    text = rb.move(open(path, encoding="utf-8").read())
    text = re.sub(r"^port = .*$", f"port = {rb.port}", text, flags=re.M)
    text = re.sub(r"^admin_port = .*$", f"admin_port = {rb.admin_port}", text, flags=re.M)
    text = re.sub(r"^tls_cert = .*$", f"tls_cert = {rb.r('/etc/varsko/tls/varskod.pem')}", text, flags=re.M)
    text = re.sub(r"^#?origins = .*$", f"origins = {rb.ws}", text, flags=re.M)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run_sections(env, rb, blocks, c):
    done = set()
    for section, lang, lines in blocks:
        if lang != "sh" or section == "Backup and restore":
            continue
        if section not in done:
            prepare(env, rb, section, c)
            done.add(section)
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            ok, detail = rb.command(line)
            c(f"[{section}] {line}", ok, detail)
            if line.startswith("cp ") and line.endswith("varskod.conf"):
                edit_config(env, rb)
            if not ok:
                return
    # What the commands should have left behind.
    agent = rb.procs.get(f"varsko-agent@{TEAM}.service")
    c("the agent started from its unit still runs at the end, subscribed to its team's topic",
      agent is not None and agent.poll() is None and "subscribed to" in rb.log(f"varsko-agent@{TEAM}.service"),
      rb.log(f"varsko-agent@{TEAM}.service")[-400:])
    vd = rb.procs.get("varskod.service")
    c("varskod started from its unit (after the upgrade) still runs at the end", vd is not None and vd.poll() is None,
      rb.log("varskod.service")[-400:])
    seen = {s for s, lang, lines in blocks if lang == "sh"}
    c("the sections with commands were all run (all but Backup and restore, which test_backup runs)",
      seen - {"Backup and restore"} <= done, f"{sorted(seen)} vs {sorted(done)}")


if __name__ == "__main__":
    sys.exit(main())
