#!/usr/bin/python3
"""The web client's consultation threads (PROTOCOL.md 17; browser suite).

Real varskod with the key model (flowlib.Flow), serving a copy of
build/clients/web/dist with one more page (test.html) and the thread
modules bundled by esbuild from tests/browser/clientthread-entry.js; Debian's
headless Chromium driven by playwright-core (web_threads.mjs). laerer-anna
enrolls the browser and makes her user key there; raadgiver-sofie and
laerer-jonas (another school) are enrolled with the C CLI. The browser
refuses Jonas as a member, opens a thread (varskod names Sofie, whom the
browser checks and adds), and the browser and Sofie's CLI exchange messages,
leveret/læst marks, a 1 MiB file from the browser and one from Sofie, each
fetched by the other with the same SHA-256; a 17.10 reference told twice is
one message; Sofie leaves and the browser seals to the new membership. A
link deleted from varskod's database is refused by the browser that saw it;
varskod-ghost (a test-only build that adds a member of its own to every
chain it hands out) is refused by the same browser profile opened again,
and nothing is stored; the real varskod's chain is accepted again.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import flowlib  # noqa: E402
import harness  # noqa: E402
import weblib  # noqa: E402

SOFIE, JONAS, THOMAS, ANNA = "raadgiver-sofie", "laerer-jonas", "leder-thomas", "laerer-anna"

TEST_HTML = """<!doctype html>
<html lang="da">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Varsko: trådmodulerne under test</title>
<script type="module" src="/assets/threadtest.js"></script>
</head>
<body><p>Trådmodulerne under test.</p></body>
</html>
"""


def build_root(dist, out):
    """A copy of dist with assets/threadtest.js (the entry bundled) and test.html; an error text or None."""
    shutil.copytree(dist, out)
    esbuild = os.path.join(harness.SOURCE_ROOT, "clients", "web", "node_modules", ".bin", "esbuild")
    if not os.access(esbuild, os.X_OK):
        harness.skip("clients/web/node_modules is missing (deploy/npm-deps.sh)")
    r = subprocess.run([esbuild, "--bundle", "--format=esm", "--log-level=warning",
                        os.path.join(HERE, "clientthread-entry.js"),
                        "--outfile=" + os.path.join(out, "assets", "threadtest.js")],
                       capture_output=True, text=True, cwd=os.path.join(harness.SOURCE_ROOT, "clients", "web"))
    if r.returncode != 0:
        return r.stdout + r.stderr
    with open(os.path.join(out, "test.html"), "w", encoding="utf-8") as f:
        f.write(TEST_HTML)
    return None


def ref_id_ok(path):
    """The message id of 17.10: M- and the base32 of BLAKE2b-128 over the tag, thread, reference, user."""
    try:
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
    except (OSError, ValueError):
        return False
    h = hashlib.blake2b(b"varsko-threadref-v1" + b"".join(r[k].encode() + b"\0" for k in ("thread", "reference", "user")),
                        digest_size=16).digest()
    return r["id"] == "M-" + base64.b32encode(h).decode().rstrip("=")


def main():
    checks = harness.Checks()
    c = checks.check
    dist = weblib.require_web()
    tmp = tempfile.mkdtemp(prefix="varsko-webthreads-")
    try:
        root = os.path.join(tmp, "web")
        err = build_root(dist, root)
        if not c("the thread modules bundle with esbuild", err is None, err or ""):
            return checks.done()
        with flowlib.Flow(agents=[], users=[], config={"web_root": root}) as fl:
            weblib.root_key(fl)
            weblib.sign_release(fl, root)  # the release signed, the test's files beside it
            fl.setup()
            for u in (SOFIE, JONAS, THOMAS):
                if u not in fl.homes:  # setup() enrolls each team's leder for its chain
                    fl.enroll(u)
            inv = fl.invite(ANNA)
            env = {
                "VARSKO_URL": f"https://127.0.0.1:{fl.port}/test.html",
                "VARSKO_CODE": inv["code"],
                "VARSKO_FPR": inv["org_fingerprint"],
                "VARSKO_CLI": fl.cli_bin,
                "VARSKO_SOFIE_HOME": fl.homes[SOFIE],
                "VARSKO_CLI_HOME": fl.tmp,
                "VARSKO_TMP": tmp,
                "VARSKO_DB": fl.database,
                "VARSKO_PROFILE": os.path.join(tmp, "profile"),
            }
            os.makedirs(env["VARSKO_PROFILE"])
            rc, out = weblib.run_scenario(fl, "web_threads.mjs", dict(env, VARSKO_PHASE="main"), checks)
            c("the browser scenario exits 0", rc == 0, out[-3000:])
            c("the browser's 17.10 message id is the one PROTOCOL.md 17.10 derives (computed here with hashlib)",
              ref_id_ok(os.path.join(tmp, "ref.json")))

            ghost_bin = harness.binary("gateway/varskod-ghost")
            if not c("gateway/varskod-ghost is built (the modified-server case)", os.access(ghost_bin, os.X_OK),
                     ghost_bin):
                return checks.done()
            plain_bin = fl.varskod
            fl.stop_varskod()
            fl.varskod = ghost_bin
            fl.start_varskod()
            before = fl.count("thread_messages")
            rc, out = weblib.run_scenario(fl, "web_threads.mjs", dict(env, VARSKO_PHASE="ghost"), checks)
            c("the browser scenario against varskod-ghost exits 0", rc == 0, out[-3000:])
            c("nothing was stored while varskod-ghost answered, and nothing anywhere is for the ghost",
              fl.count("thread_messages") == before and fl.count("thread_recipients", "user = 'ghost'") == 0 and
              fl.count("thread_members", "user = 'ghost'") == 0)
            fl.stop_varskod()
            fl.varskod = plain_bin
            fl.start_varskod()
            rc, out = weblib.run_scenario(fl, "web_threads.mjs", dict(env, VARSKO_PHASE="again"), checks)
            c("the browser scenario against the real varskod again exits 0", rc == 0, out[-3000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
