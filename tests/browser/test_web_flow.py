#!/usr/bin/python3
"""The web client, end to end (issue 14, "Done means", first lines; browser suite).

Real varskod serving the built web client, Mosquitto and team-slagelse's agent
(flowlib.Flow), Debian's headless Chromium (web_flow.mjs) and the C CLI:
  - laerer-anna (teacher) and myndighed-lene (intake worker) enroll in two
    browser contexts with codes from `varskoctl invite`; each is the user's
    first device and shows the recovery code; leder-thomas adds Lene to
    team-slagelse with the C CLI;
  - Anna fills in the form in the browser, attaches a file and sends it; the receipt verifies
    in the browser and, downloaded, with `varsko receipt verify`; the agent
    files it;
  - Lene opens it in the browser (the document as typed), assesses it and
    sends kvittering and tilbagemelding; Anna's timeline shows each step
    without a reload, the messages decrypted;
  - Lene's second device, the C CLI recovered with the recovery code the
    browser showed, decrypts the same document (`varsko myndighed show`);
  - skoleleder-karen sends one with the C CLI; Lene's browser opens it and
    shows her document;
  - leder-thomas, in a third context recovered with his recovery code, sees a
    deadline warning arrive live (warn_vurdering_minutes = 1440: at once).
Screenshots of every page at 360 and 1280 px; axe-core on each; no request
to any host but varskod.
"""

import json
import os
import re
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
    with flowlib.Flow(agents=["team-slagelse"], users=["skoleleder-karen"],
                      config={"warn_vurdering_minutes": 1440}) as fl:
        fl.extra_config["web_root"] = weblib.signed_web_root(fl, dist)
        fl.setup()
        thomas_code = re.search(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b", fl.enroll_out.get("leder-thomas", ""))
        c("leder-thomas's recovery code is known from his CLI enrollment", thomas_code is not None)
        anna, lene, thomas = fl.invite("laerer-anna"), fl.invite("myndighed-lene"), fl.invite("leder-thomas")
        karen_doc = fl.doc(age=10, extra_text="(fra CLI)", institution="inst-vestervangsskolen",
                           mutate=lambda d: d.pop("attachments", None))
        shots = weblib.shot_dir("web_flow")
        bilag = fl.path("fravaer.pdf")
        with open(bilag, "wb") as f:
            f.write(os.urandom(150 * 1024))
        rc, out = weblib.run_scenario(fl, "web_flow.mjs", {
            "VARSKO_FPR": anna["org_fingerprint"],
            "VARSKO_ANNA_CODE": anna["code"], "VARSKO_LENE_CODE": lene["code"], "VARSKO_THOMAS_CODE": thomas["code"],
            "VARSKO_THOMAS_RECOVERY": thomas_code.group(0) if thomas_code else "",
            "VARSKO_CLI": fl.cli_bin, "VARSKO_CTL": fl.varskoctl, "VARSKO_CONF": fl.conf, "VARSKO_CA": fl.ca,
            "VARSKO_WS": fl.ws_url, "VARSKO_TMP": fl.tmp,
            "VARSKO_THOMAS_HOME": fl.homes["leder-thomas"], "VARSKO_KAREN_HOME": fl.homes["skoleleder-karen"],
            "VARSKO_KAREN_DOC": karen_doc, "VARSKO_CASE_DIR": fl.case_dir("team-slagelse"),
            "VARSKO_SHOTS": shots, "VARSKO_BILAG": bilag,
        }, checks, timeout=900)
        c("the browser scenario exits 0", rc == 0, out[-3000:])
        # The agent filed Anna's underretning and journaliseret it (its acknowledgements reached varskod).
        refs = sorted(fl.filed("team-slagelse"))
        c("team-slagelse's agent filed both underretninger (browser and CLI)", len(refs) == 2, str(refs))
        filed_bilag = os.path.join(fl.case_dir("team-slagelse"), "U-2026-000001.bilag", "1-fravaer.pdf")
        with open(bilag, "rb") as f:
            want = f.read()
        c("the agent filed the browser's attachment beside the case, byte for byte",
          os.path.isfile(filed_bilag) and open(filed_bilag, "rb").read() == want, filed_bilag)
        rc, out2, err = fl.ctl("devices", "--json")
        devs = json.loads(out2) if rc == 0 else []
        browsers = sorted(d["user"] for d in devs if d.get("label") == "Browser" and d.get("pending") is False)
        c("varskod lists the three browsers as active devices", browsers == ["laerer-anna", "leder-thomas", "myndighed-lene"],
          str(browsers) + err)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
