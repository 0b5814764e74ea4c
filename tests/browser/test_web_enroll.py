#!/usr/bin/python3
"""The web client: enrollment, unlock, who am I, lock (issue 14; browser suite).

Real varskod serving build/clients/web/dist (web_root) with Mosquitto and the
key model (flowlib.Flow), and Debian's headless Chromium driven by
playwright-core (web_enroll.mjs). laerer-anna gets a code from `varskoctl
invite`; the browser refuses a wrong fingerprint and an unknown code, enrolls with the right ones,
logs in, shows who she is, locks after a reload and opens with the right
passphrase only. Revoked by the operator, the open page says so in Danish
and stops trying; varskod lists the device as confirmed, then revoked. Every
page is checked with axe-core and saved as screenshots at 360 and 1280 px
(listed in the output); no request goes to any host but varskod.
"""

import json
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
    # recheck_interval 2: a revoked device's open session is closed within seconds.
    with flowlib.Flow(agents=[], users=[], config={"recheck_interval": 2}) as fl:
        fl.extra_config["web_root"] = weblib.signed_web_root(fl, dist)
        fl.setup()
        inv = fl.invite("laerer-anna")
        shots = weblib.shot_dir("web_enroll")
        rc, out = weblib.run_scenario(fl, "web_enroll.mjs", {
            "VARSKO_CODE": inv["code"],
            "VARSKO_FPR": inv["org_fingerprint"],
            "VARSKO_NAME": weblib.demo_name("laerer-anna"),
            "VARSKO_SHOTS": shots,
            "VARSKO_CTL": fl.varskoctl, "VARSKO_CONF": fl.conf,
        }, checks)
        c("the browser scenario exits 0", rc == 0, out[-2000:])
        rc, out, err = fl.ctl("devices", "--json")
        devs = [d for d in (json.loads(out) if rc == 0 else []) if d.get("user") == "laerer-anna"]
        c("varskod lists one device of laerer-anna: the browser, confirmed, and revoked at the scenario's end",
          len(devs) == 1 and devs[0].get("label") == "Browser" and devs[0].get("pending") is False and
          devs[0].get("revoked") is not None, json.dumps(devs) + err)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
