#!/usr/bin/python3
"""The client library in the browser against the C client (browser suite).

Real varskod, Mosquitto and the team-slagelse agent (flowlib.Flow with the key
model), users enrolled with the C CLI (skoleleder-karen, myndighed-lene and the
team's leder), and Debian's headless Chromium driving the modules of
clients/web/src/client/ through tests/browser/clientlib-entry.js, bundled by
esbuild into a copy of the built web client with a test.html (no inline
script), which varskod serves as its web_root (web_clientlib.mjs):

  - laerer-anna, enrolled in the browser only, makes her user key
    (userSetup: the recovery code in the C's format), sends the demo
    underretning (receipt verified; a resend gets the same receipt), and her
    receipt file verifies with `varsko receipt verify`;
  - the team-slagelse agent files it; myndighed-lene's CLI opens the same
    document and sends a kvittering, which the browser's status() opens;
  - a second device of laerer-anna with the CLI (`varsko device request`) is
    approved from the browser (approvalOffer, approvalConfirm) and opens her own
    copy of the browser's underretning; the browser then revokes it (the user
    key rotates) and still opens the kvittering sealed to generation 1;
  - skoleleder-karen's CLI sends an underretning; a second browser, a new device
    of myndighed-lene made hers with her recovery code (deviceRecover), opens
    the same document with the team key, marks it opened and sends a
    kvittering that karen's CLI reads;
  - that browser revokes myndighed-lene's CLI device: her user key rotates, the
    team key goes stale until the agent renews it (16.6); laerer-anna's next
    underretning is sealed to generation 2, and myndighed-lene's browser opens
    it and, walking the team key back, the earlier one;
  - the browser's other events: tilbagemelding and afslutning (read by karen's
    CLI), omdirigering to team-korsoer-skaelskoer (the document re-sealed for
    its team key; myndighed-peter's CLI opens the same document);
  - a third browser, a recovered device of the leder leder-thomas, shows the
    team, changes its chain (leder_add/remove, member_remove, member_add) and
    keeps its key fit (teamKeyMaintain: a new generation after the removal,
    boxes after the re-add); myndighed-lene's browser still opens the earlier
    underretninger by the walk back;
  - breaks: laerer-freja's setup cut off after its chain link completes from
    the pending seeds (kept sealed), and a submission whose answer was lost
    gets its receipt when sent again (duplicate);
  - a browser device of skoleleder-karen is approved by her CLI device
    (`varsko device approve`) and then opens the kvittering sealed to her
    user key.
"""

import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import flowlib  # noqa: E402
import harness  # noqa: E402
import weblib  # noqa: E402

TEAM = "team-slagelse"
CODE_RE = r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b"
TEST_HTML = """<!doctype html>
<html lang="da">
<head><meta charset="utf-8"><title>Varsko klientbibliotek (test)</title>
<link rel="icon" href="data:,">
<script type="module" src="/clientlib.js"></script></head>
<body><h1>Varsko klientbibliotek (test)</h1></body>
</html>
"""


def build_root(fl, dist):
    """A copy of the built web client with the entry bundled as /clientlib.js and /test.html."""
    root = fl.path("webroot")
    shutil.copytree(dist, root)
    esbuild = os.path.join(harness.SOURCE_ROOT, "clients", "web", "node_modules", ".bin", "esbuild")
    r = subprocess.run([esbuild, os.path.join(HERE, "clientlib-entry.js"), "--bundle", "--format=esm",
                        "--platform=browser", "--target=chrome109", "--external:fs", "--external:path",
                        "--external:crypto", "--external:url", "--log-level=warning",
                        f"--outfile={os.path.join(root, 'clientlib.js')}"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"esbuild: {r.stdout} {r.stderr}")
    with open(os.path.join(root, "test.html"), "w", encoding="utf-8") as f:
        f.write(TEST_HTML)
    return root


def main():
    checks = harness.Checks()
    c = checks.check
    dist = weblib.require_web()
    if not os.access(os.path.join(harness.SOURCE_ROOT, "clients", "web", "node_modules", ".bin", "esbuild"), os.X_OK):
        harness.skip("clients/web/node_modules is missing (deploy/npm-deps.sh)")
    with flowlib.Flow(agents=[TEAM], users=["skoleleder-karen", "myndighed-lene", "myndighed-peter"]) as fl:
        fl.extra_config["web_root"] = build_root(fl, dist)
        weblib.root_key(fl)
        weblib.sign_release(fl, fl.extra_config["web_root"])  # the release signed, test files beside it
        fl.setup()
        anna = fl.invite("laerer-anna")
        lene = fl.invite("myndighed-lene")
        anna2 = fl.invite("laerer-anna")
        m = re.search(CODE_RE, fl.enroll_out.get("myndighed-lene", ""))
        c("myndighed-lene's first (CLI) device printed her recovery code", m is not None)

        def strip(d):
            d.pop("attachments", None)
        doc1 = fl.doc("browser-doc", mutate=strip)
        doc2 = fl.doc("karen-doc", institution="inst-vestervangsskolen", child_name="Karl Eksempel Fiktivsen",
                      mutate=lambda d: (strip(d), d["notifier"].update({"name": "Karen Skoleleder"})))
        out_dir = fl.path("browser-out")
        os.mkdir(out_dir)
        thomas = fl.invite("leder-thomas")
        freja = fl.invite("laerer-freja")
        karen = fl.invite("skoleleder-karen")
        mt = re.search(CODE_RE, fl.enroll_out.get("leder-thomas", ""))
        c("leder-thomas's first (CLI) device printed his recovery code", mt is not None)
        rc, out = weblib.run_scenario(fl, "web_clientlib.mjs", {
            "VARSKO_ANNA_CODE": anna["code"],
            "VARSKO_LENE_CODE": lene["code"],
            "VARSKO_ANNA_CODE2": anna2["code"],
            "VARSKO_HOME_ANNA2": fl.path("home-anna-2"),
            "VARSKO_WS": fl.ws_url,
            "VARSKO_CAFILE": fl.ca,
            "VARSKO_FPR": anna["org_fingerprint"],
            "VARSKO_LENE_RECOVERY": m.group(0) if m else "",
            "VARSKO_DOC1": doc1,
            "VARSKO_DOC2": doc2,
            "VARSKO_OUT": out_dir,
            "VARSKO_CLI": fl.cli_bin,
            "VARSKO_CLI_HOME": fl.tmp,
            "VARSKO_HOME_KAREN": fl.homes["skoleleder-karen"],
            "VARSKO_HOME_LENE": fl.homes["myndighed-lene"],
            "VARSKO_HOME_PETER": fl.homes["myndighed-peter"],
            "VARSKO_CASES": fl.case_dir(TEAM),
            "VARSKO_TEAM": TEAM,
            "VARSKO_LEDER_CODE": thomas["code"],
            "VARSKO_FREJA_CODE": freja["code"],
            "VARSKO_KAREN_CODE": karen["code"],
            "VARSKO_LEDER_RECOVERY": mt.group(0) if mt else "",
        }, checks, timeout=800)
        c("the browser scenario exits 0", rc == 0, out[-3000:])
        rc, out, err = fl.ctl("devices", "--json")
        devs = [d for d in (json.loads(out) if rc == 0 else []) if d.get("user") in ("laerer-anna", "myndighed-lene")]
        rc2, j, out2, err2 = fl.cli_json("leder-thomas", "team", "show", TEAM)
        mem = {m.get("user"): m for m in (j or {}).get("members", [])}
        c("the C CLI verifies the team chain the browser changed: myndighed-lene a member again, key generation 3, ok",
          rc2 == 0 and "myndighed-lene" in mem and not mem["myndighed-lene"].get("leder") and
          (j or {}).get("key_generation") == 3 and (j or {}).get("key_state") == "ok", flowlib.out_of(rc2, out2, err2))
        live = [d.get("user") for d in devs if d.get("revoked") is None]
        c("varskod lists laerer-anna's and myndighed-lene's browsers (their CLI devices revoked)",
          sorted(live) == ["laerer-anna", "myndighed-lene"] and len(devs) == 4, json.dumps(devs))
        c("leder-thomas's CLI device still reads the team (`varsko team show`)",
          fl.cli_as("leder-thomas", "team", "show", TEAM)[0] == 0)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
