#!/usr/bin/python3
"""The web client with a full inbox (issue 14, Must 9; browser suite).

skoleleder-karen sends 200 underretninger with the C CLI (team-slagelse's
agent files them); myndighed-lene enrolls in Debian's headless Chromium
(web_inbox.mjs). The scenario measures and prints, never asserts, how long
unlocking and showing the inbox of 200 takes (Argon2id, login, the user
key, the list), and checks that all 200 are listed, soonest deadline first,
that axe-core finds nothing on the long table, and that it fits a phone.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import flowlib  # noqa: E402
import harness  # noqa: E402
import weblib  # noqa: E402

COUNT = 200


def main():
    checks = harness.Checks()
    c = checks.check
    dist = weblib.require_web()
    with flowlib.Flow(agents=["team-slagelse"], users=["skoleleder-karen"]) as fl:
        fl.extra_config["web_root"] = weblib.signed_web_root(fl, dist)
        fl.setup()
        docs = [fl.doc(age=7 + i % 6, extra_text=f"(nr. {i})", institution="inst-vestervangsskolen",
                       mutate=lambda d: d.pop("attachments", None)) for i in range(COUNT)]
        sent = fl.send_many("skoleleder-karen", docs, parallel=2)
        ok = [r for r in sent if r[1] == 0]
        c(f"the C CLI sends {COUNT} underretninger", len(ok) == COUNT,
          next((f"rc={r[1]}: {r[4][-300:]}" for r in sent if r[1] != 0), ""))
        lene = fl.invite("myndighed-lene")
        rc, out = weblib.run_scenario(fl, "web_inbox.mjs", {
            "VARSKO_FPR": lene["org_fingerprint"], "VARSKO_CODE": lene["code"], "VARSKO_COUNT": str(COUNT),
            "VARSKO_SHOTS": weblib.shot_dir("web_inbox"),
        }, checks, timeout=900)
        c("the browser scenario exits 0", rc == 0, out[-3000:])
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
