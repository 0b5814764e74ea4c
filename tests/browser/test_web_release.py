#!/usr/bin/python3
"""The page cannot be swapped silently (issue 14, item 8; PROTOCOL.md 18,
docs/WEB.md "The release manifest").

Real varskod serving a copy of the built web client signed with the
organisation root key (weblib.signed_web_root), Mosquitto, and laerer-anna in
Debian's headless Chromium (web_release.mjs). After enrollment the service
worker controls the page and the footer shows the signed release's hash.
Then the test changes the served copy's app script (a line that would set a
global, under a new name as a build would give it, index.html naming it) and
rewrites release.json without signing it, restarts varskod, and
the reloaded page still runs the old code (the global is absent, the footer
hash unchanged) and says in Danish that the server offers an unsigned
release (axe-core, screenshots). Signed properly, restarted and reloaded, the
new release is taken: the footer shows its hash, the new code runs, no
warning. Finally an unsigned release served to a browser without a worker
(a first visit, before enrollment) still works.
"""

import gzip
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import flowlib  # noqa: E402
import harness  # noqa: E402
import weblib  # noqa: E402

MARK = "__varskoTampered"


def tamper(root, value):
    """A new release as an attacker (or the next build) would make it: the app script index.html names,
    with `window.MARK=value` appended, under a new name (as a build names a changed script), index.html
    pointing at it, and release.json rewritten with both hashes. release.sig is left as it is: it signs
    the old manifest."""
    def write(rel, data):
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
        with open(os.path.join(root, rel + ".gz"), "wb") as f:  # the gzip variant varskod would serve
            f.write(gzip.compress(data, 9))
        return hashlib.sha256(data).hexdigest()

    with open(os.path.join(root, "index.html"), encoding="utf-8") as f:
        index = f.read()
    app = re.search(r'src="/(assets/app-[^"]+\.js)"', index).group(1)
    with open(os.path.join(root, app), "rb") as f:
        data = f.read() + f"\n;window.{MARK}={value};\n".encode()
    new = re.sub(r"(-v\d+)?\.js$", f"-v{value}.js", app)
    with open(os.path.join(root, "release.json"), encoding="utf-8") as f:
        m = json.load(f)
    m["files"].pop(app, None)
    m["files"][new] = write(new, data)
    m["files"]["index.html"] = write("index.html", index.replace(app, new).encode())
    with open(os.path.join(root, "release.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(m, indent=1) + "\n")


def main():
    checks = harness.Checks()
    c = checks.check
    dist = weblib.require_web()
    with flowlib.Flow(agents=[], users=[]) as fl:
        root = weblib.signed_web_root(fl, dist)
        fl.extra_config["web_root"] = root
        fl.setup()
        anna = fl.invite("laerer-anna")

        def restart():
            fl.stop_varskod()
            fl.start_varskod()

        def unsigned():
            tamper(root, 1)
            restart()

        def sign():
            harness.log(weblib.sign_release(fl, root).strip())
            restart()

        def unsigned_again():
            tamper(root, 2)
            restart()

        rc, out = weblib.run_steps(fl, "web_release.mjs", {
            "VARSKO_FPR": anna["org_fingerprint"], "VARSKO_ANNA_CODE": anna["code"],
            "VARSKO_WEB_ROOT": root, "VARSKO_MARK": MARK, "VARSKO_SHOTS": weblib.shot_dir("web_release"),
        }, checks, {"unsigned": unsigned, "sign": sign, "unsigned-again": unsigned_again}, timeout=600)
        c("the browser scenario exits 0", rc == 0, out[-3000:])
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
