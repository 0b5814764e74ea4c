"""Shared by the browser suite's Python tests: where the built web client is,
the server certificate's SPKI hash (so Chromium accepts exactly that key),
running one node scenario against a flowlib.Flow and relaying its checks.
"""

import base64
import hashlib
import os
import shutil
import subprocess

import harness

HERE = os.path.dirname(os.path.abspath(__file__))


def require_web():
    """The built web client (build/clients/web/dist); skips when node or Chromium is missing."""
    dist = os.path.join(harness.BUILD_ROOT, "clients", "web", "dist")
    if not os.path.isfile(os.path.join(dist, "index.html")):
        harness.skip(f"the web client is not built in {dist} (deploy/npm-deps.sh, then ninja)")
    if shutil.which("node") is None or not os.access("/usr/bin/chromium", os.X_OK):
        harness.skip("node or /usr/bin/chromium is missing (deploy/install-deps.sh)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        harness.skip("tests/browser/node_modules is missing (deploy/npm-deps.sh)")
    return dist


def spki_hash(cert_path):
    """base64 SHA-256 of the certificate's SubjectPublicKeyInfo (Chromium's pin format)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, capture_output=True,
                         check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def shot_dir(name):
    """Where a scenario's screenshots go: build/tests/browser/shots/<name> (kept for people to look at)."""
    d = os.path.join(harness.BUILD_ROOT, "tests", "browser", "shots", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def demo_name(user):
    """A demo user's display name."""
    return next(name for uid, name, _ in harness.demo_users(harness.load_demo()) if uid == user)


def run_scenario(env, script, extra, checks, timeout=600):
    """node tests/browser/SCRIPT against env's varskod; its "ok"/"not ok" lines become checks."""
    e = dict(os.environ)
    e.update({"VARSKO_URL": f"https://127.0.0.1:{env.port}/",
              "VARSKO_SPKI": spki_hash(os.path.join(env.certs, "server.crt"))})
    e.update(extra)
    try:
        r = subprocess.run(["node", os.path.join(HERE, script)], capture_output=True, text=True, env=e,
                           timeout=timeout, cwd=HERE)
        out, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as x:
        out, rc = (x.stdout or b"").decode() if isinstance(x.stdout, bytes) else (x.stdout or ""), 124
    for line in out.splitlines():
        if line.startswith("ok - "):
            checks.check(line[5:], True)
        elif line.startswith("not ok - "):
            name, _, detail = line[9:].partition(": ")
            checks.check(name, False, detail)
        elif line.strip():
            harness.log(line)  # screenshots, measurements, page text after a failure
    return rc, out


def root_key(fl):
    """The organisation root key file the Flow's setup() will use (`org init` keeps a file that is there):
    made now, before setup, so that the web root can be signed before varskod first starts."""
    path = fl.path("root.key")
    if not os.path.exists(path):
        der = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-outform", "der"],
                             capture_output=True, check=True).stdout
        pub = subprocess.run(["openssl", "pkey", "-inform", "der", "-pubout", "-outform", "der"], input=der,
                             capture_output=True, check=True).stdout
        sk = der[-32:] + pub[-32:]  # libsodium's secret key: seed, then public key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(sk).decode() + "\n")
    fl.root_key = path
    return path


def sign_release(fl, root):
    """`varskoctl release sign --root-key fl.root_key ROOT`; returns its output (raises on failure)."""
    ctl = os.path.join(harness.BUILD_ROOT, "gateway", "varskoctl")
    r = subprocess.run([ctl, "release", "sign", "--root-key", fl.root_key, root], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"varskoctl release sign {root}: {r.stdout} {r.stderr}")
    return r.stdout


def signed_web_root(fl, dist=None, name="web"):
    """A copy of the built web client (build/clients/web/dist) in the test's temp dir, signed with the
    organisation root key (fl.root_key, made here before setup() when it is not there yet): the web
    root varskod serves (PROTOCOL.md 18). Call it before fl.setup() and put the result in
    fl.extra_config["web_root"]."""
    dist = dist or require_web()
    if getattr(fl, "root_key", None) is None or not os.path.exists(fl.root_key):
        root_key(fl)
    root = fl.path(name)
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(dist, root)
    sign_release(fl, root)
    return root


def run_steps(env, script, extra, checks, steps, timeout=600):
    """As run_scenario, for a scenario that asks the test to act between its steps: a line "step: NAME"
    runs steps[NAME]() here (e.g. change the served release and restart varskod), then "done" (or
    "failed: ...") goes to the scenario's stdin."""
    import threading
    e = dict(os.environ)
    e.update({"VARSKO_URL": f"https://127.0.0.1:{env.port}/",
              "VARSKO_SPKI": spki_hash(os.path.join(env.certs, "server.crt"))})
    e.update(extra)
    p = subprocess.Popen(["node", os.path.join(HERE, script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=e, cwd=HERE, bufsize=1)
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    out = []
    for line in p.stdout:
        out.append(line)
        line = line.rstrip("\n")
        if line.startswith("ok - "):
            checks.check(line[5:], True)
        elif line.startswith("not ok - "):
            name, _, detail = line[9:].partition(": ")
            checks.check(name, False, detail)
        elif line.startswith("step: "):
            try:
                steps[line[6:]]()
                answer = "done"
            except Exception as x:  # noqa: BLE001 - reported to the scenario and the log
                answer = f"failed: {x}"
                harness.log(f"step {line[6:]}: {x}")
            p.stdin.write(answer + "\n")
            p.stdin.flush()
        elif line.strip():
            harness.log(line)
    rc = p.wait()
    timer.cancel()
    return rc, "".join(out)
