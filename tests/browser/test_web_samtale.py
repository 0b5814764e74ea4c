#!/usr/bin/python3
"""Samtaler in the web client (issue 14, "Done means": a thread between the
teacher in the browser and raadgiver-sofie with the C CLI, both ways, with an
attachment; browser suite).

Real varskod serving the built web client and Mosquitto (flowlib.Flow),
raadgiver-sofie enrolled with the C CLI, laerer-anna in Debian's headless
Chromium (web_samtale.mjs): Anna starts an anonymous consultation at her
school (Sofie is added as its rådgiver), writes, and attaches a file; Sofie's
CLI reads both and fetches the file byte for byte, answers with text and a
file; Anna's page shows the answer without a reload, her messages marked
leveret and læst, and downloads Sofie's file byte for byte; Anna makes an
underretning from the thread (the chosen message under "observations"), and
the thread gets its reference, never its content. Markup in the title, the
messages and a file name executes nothing. Screenshots at 360 and 1280 px,
axe-core on each page.
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
    with flowlib.Flow(agents=["team-slagelse"], users=["raadgiver-sofie"]) as fl:
        fl.extra_config["web_root"] = weblib.signed_web_root(fl, dist)
        fl.setup()
        anna = fl.invite("laerer-anna")
        rc, out = weblib.run_scenario(fl, "web_samtale.mjs", {
            "VARSKO_FPR": anna["org_fingerprint"], "VARSKO_ANNA_CODE": anna["code"],
            "VARSKO_CLI": fl.cli_bin, "VARSKO_TMP": fl.tmp, "VARSKO_SOFIE_HOME": fl.homes["raadgiver-sofie"],
            "VARSKO_SHOTS": weblib.shot_dir("web_samtale"),
        }, checks, timeout=900)
        c("the browser scenario exits 0", rc == 0, out[-3000:])
        c("team-slagelse's agent filed the underretning made from the thread", len(fl.filed("team-slagelse")) == 1,
          str(fl.filed("team-slagelse")))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
