#!/usr/bin/python3
"""Approving a new device from another of the user's devices in the web
client (PROTOCOL.md 15.7; browser suite).

Real varskod serving the built web client (flowlib.Flow, no agents),
laerer-anna in two Chromium profiles and one C CLI home (web_approve.mjs):

- browser A enrolls first (it makes her user key; the recovery code is kept);
- browser B enrolls with a second code and shows "Godkend denne browser"; she
  chooses "Godkend fra en anden enhed" and B shows a six-digit code ("123 456");
  A's Mine enheder lists the request; a wrong code typed on A is refused in
  Danish and approves nothing (A still lists one device, B still waits); B
  asks again, A types the right code, B continues to the pages and her list
  of underretninger loads;
- a CLI device (`varsko enroll` with a third code, `varsko device request
  --json` in the background, its code read from the "code" line) is approved
  from A's Mine enheder; `varsko whoami --json` then says it holds the user key.

axe-core on every new page and state, screenshots at 360 and 1280 px, no
request to any host but varskod, no script error.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import flowlib  # noqa: E402
import harness  # noqa: E402
import weblib  # noqa: E402


def main():
    checks = harness.Checks()
    c = checks.check
    dist = weblib.require_web()
    with flowlib.Flow(agents=[], users=[]) as fl:
        fl.extra_config["web_root"] = weblib.signed_web_root(fl, dist)
        fl.setup()
        first = fl.invite("laerer-anna")
        second = fl.invite("laerer-anna")
        third = fl.invite("laerer-anna")
        rc, out = weblib.run_scenario(fl, "web_approve.mjs", {
            "VARSKO_FPR": first["org_fingerprint"], "VARSKO_ANNA_CODE": first["code"],
            "VARSKO_ANNA_CODE2": second["code"], "VARSKO_ANNA_CODE3": third["code"],
            "VARSKO_CLI": fl.cli_bin, "VARSKO_TMP": fl.tmp, "VARSKO_HOME_CLI": fl.path("home-anna-cli"),
            "VARSKO_WS": fl.ws_url, "VARSKO_CAFILE": fl.ca,
            "VARSKO_SHOTS": weblib.shot_dir("web_approve"),
        }, checks, timeout=800)
        c("the browser scenario exits 0", rc == 0, out[-3000:])
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
