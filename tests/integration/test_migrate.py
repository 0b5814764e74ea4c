#!/usr/bin/python3
"""Migration (issue 9, item 6): an existing database is upgraded and keeps working.

tests/integration/fixtures/schema2/ holds a database made by the code of
schema version 2 (before pending enrollments and the key model), its keys,
and a device of laerer-anna enrolled against it. A copy is upgraded with
`varskoctl migrate` (and a second run says it is already current); the
audit chain still verifies and the old device is still listed. The current
varskod serves it: the old device logs in with its old certificate, and its
first `varsko whoami` after the upgrade makes Anna's user key (and shows her
recovery code once), so from then on her kvitteringer go to her user key. A
new enrollment on the upgraded database works too.
"""

import calendar
import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "schema2")
CODE_RE = re.compile(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b")


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:300]!r}"


def main():
    checks = harness.Checks()
    c = checks.check
    with harness.Env() as env:
        env.make_certs()
        env.write_config()
        os.makedirs(env.state, exist_ok=True)
        for name in ("varsko.db", "org.key", "gateway.key", "gateway.cert"):
            dst = os.path.join(env.state, name) if name != "varsko.db" else env.database
            shutil.copyfile(os.path.join(FIXTURE, name), dst)
            os.chmod(dst, 0o600)

        rc, out, err = env.ctl("migrate")
        c("varskoctl migrate upgrades the schema 2 database", rc == 0 and "from schema 2 to" in out,
          out_of(rc, out, err))
        rc, out, err = env.ctl("migrate")
        c("a second varskoctl migrate: already current", rc == 0 and "already at schema" in out, out_of(rc, out, err))
        rc, out, err = env.ctl("audit", "verify")
        c("the audit chain still verifies after the upgrade", rc == 0 and "intact" in out, out_of(rc, out, err))
        rc, out, err = env.ctl("devices", "--json")
        try:
            rows = json.loads(out)
        except ValueError:
            rows = []
        old = [d for d in rows if d.get("user") == "laerer-anna"]
        c("the old device of laerer-anna is listed, active", len(old) == 1 and old[0].get("revoked") is None
          and old[0].get("pending") is False, out_of(rc, out, err))

        env.start_varskod()
        home = env.path("home-anna-old")
        shutil.copytree(os.path.join(FIXTURE, "home"), home)
        os.chmod(home, 0o700)
        for name in os.listdir(home):
            os.chmod(os.path.join(home, name), 0o600)
        with open(os.path.join(home, "server"), "w", encoding="ascii") as f:
            f.write(env.ws_url + "\n")
        shutil.copyfile(env.ca, os.path.join(home, "ca.pem"))
        with open(os.path.join(home, "device.cert"), encoding="ascii") as f:
            not_after = calendar.timegm(time.strptime(json.load(f)["not_after"], "%Y-%m-%dT%H:%M:%SZ"))
        if not_after > time.time():
            rc, out, err = env.cli(home, "whoami")
            c("the old device logs in to the upgraded gateway with its old certificate",
              rc == 0 and "laerer-anna" in out, out_of(rc, out, err))
            c("its first whoami after the upgrade makes the user key and shows the recovery code once",
              CODE_RE.search(out + err) is not None, out_of(rc, out, err))
            db = env.db()
            try:
                n = db.execute("SELECT count(*) FROM chain_links WHERE chain = 'laerer-anna'").fetchone()[0]
                boxes = db.execute("SELECT count(*) FROM recovery_boxes WHERE user = 'laerer-anna'").fetchone()[0]
            finally:
                db.close()
            c("... stored as a user chain and a recovery box", n == 1 and boxes == 1, f"links {n}, boxes {boxes}")
            rc, out, err = env.cli(home, "whoami")
            c("the next whoami shows no recovery code again", rc == 0 and CODE_RE.search(out + err) is None,
              out_of(rc, out, err))
        else:
            harness.log("     the fixture's device certificate has expired: its login is left out")

        inv = env.invite("laerer-jonas")
        rc, out, err = env.cli(env.path("home-jonas"), "enroll", "--server", env.ws_url, "--code", inv["code"],
                               "--fingerprint", inv["org_fingerprint"], ca=env.ca)
        c("a new enrollment on the upgraded database works", rc == 0, out_of(rc, out, err))
        c("varskod is still running", env.alive("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
