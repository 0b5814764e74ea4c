#!/usr/bin/python3
"""The README's first command: deploy/quickstart.sh, in a temporary state directory.

Runs `deploy/quickstart.sh --json` (no install, no build: the test's build is
used) on free ports, checks the JSON it prints, enrolls a device with one of
its codes and asks who it is, runs it a second time (new codes, the enrolled
device still works), and checks that `deploy/quickstart.sh stop` stops both
daemons. The demo is stopped in cleanup whatever happens.
"""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def main():
    checks = harness.Checks()
    c = checks.check
    doc = harness.load_demo()
    script = os.path.join(harness.SOURCE_ROOT, "deploy", "quickstart.sh")
    with harness.Env() as env:
        state = env.path("demo")
        ws_port, mqtt_port = harness.free_port(), harness.free_port()
        qenv = {"VARSKO_DEMO_DIR": state, "VARSKO_PORT": str(ws_port), "VARSKO_MQTT_PORT": str(mqtt_port),
                "VARSKO_BUILD_ROOT": harness.BUILD_ROOT}

        def quickstart(*args):
            return env.run([script, "--no-install", "--no-build", *args], env=qenv, timeout=180)

        try:
            rc, out, err = quickstart("--json")
            c("quickstart --json exits 0", rc == 0, f"rc={rc} stderr tail: {err[-1500:]}")
            try:
                q = json.loads(out)
            except ValueError:
                q = None
            c("stdout is exactly one JSON object", isinstance(q, dict), repr(out[:200]))
            if not isinstance(q, dict):
                return checks.done()
            for k in ("ws_url", "web_url", "ca_file", "org_fingerprint", "mqtt", "institutions", "users"):
                c(f"JSON has {k}", k in q)
            c("ws_url is wss://127.0.0.1:PORT on the requested port",
              q.get("ws_url") == f"wss://127.0.0.1:{ws_port}", q.get("ws_url"))
            c("web_url", q.get("web_url") == f"https://127.0.0.1:{ws_port}/", q.get("web_url"))
            c("CA file exists", os.path.isfile(q.get("ca_file", "")))
            mq = q.get("mqtt", {})
            c("mqtt port as requested and listening", mq.get("port") == mqtt_port and accepts(mqtt_port), str(mq))
            agents = mq.get("agents", {})
            teams = [t.get("id") if isinstance(t, dict) else t for t in doc.get("teams", [])]
            c("an agent certificate and key per demo team",
              teams and all(t in agents and os.path.isfile(agents[t]["cert"]) and os.path.isfile(agents[t]["key"])
                            for t in teams), f"teams {teams}, agents {sorted(agents)}")
            key = agents[teams[0]]["key"] if teams and teams[0] in agents else None
            mode = os.stat(key).st_mode & 0o777 if key and os.path.exists(key) else None
            c("agent key is mode 0600", mode == 0o600, f"mode {mode and oct(mode)}")
            c("institutions listed", len(q.get("institutions", [])) == len(doc.get("institutions", [])))
            users = q.get("users", [])
            demo_ids = [u for (u, _n, _r) in harness.demo_users(doc)]
            c("one user row with a code per demo user",
              [u.get("user") for u in users] == demo_ids and all(u.get("code") for u in users),
              f"{len(users)} rows for {len(demo_ids)} users")
            byid = {(u.get("id") or u.get("user")): u for u in doc.get("users", [])}

            def placed(row):
                d = byid.get(row.get("user"), {})
                want_team = d.get("team") or None
                want_inst = d.get("institutions") or ([d["institution"]] if d.get("institution") else [])
                got_inst = row.get("institution") or []
                got_inst = got_inst if isinstance(got_inst, list) else [got_inst]
                return (row.get("role") == d.get("role") and row.get("team") == want_team
                        and got_inst == list(want_inst))
            bad = [u.get("user") for u in users if not placed(u)]
            c("rows have the demo's role and institution or team", not bad, f"rows differ: {bad}")

            if users:
                u = users[0]
                home = env.path("home")
                rc, out, err = env.cli(home, "enroll", "--server", q["ws_url"], "--code", u["code"],
                                       "--ca", q["ca_file"], "--fingerprint", q["org_fingerprint"])
                c(f"enroll {u['user']} with a quickstart code", rc == 0, f"rc={rc} {err.strip()[:300]}")
                rc, out, err = env.cli(home, "whoami")
                c("whoami shows the user and role", rc == 0 and u["user"] in out and u["role"] in out,
                  f"rc={rc} {out.strip()[:200]} {err.strip()[:200]}")

            rc, out, err = quickstart("--json")
            c("second quickstart run exits 0", rc == 0, f"rc={rc} stderr tail: {err[-1500:]}")
            try:
                q2 = json.loads(out)
            except ValueError:
                q2 = {}
            codes1 = {u["user"]: u["code"] for u in users}
            codes2 = {u["user"]: u["code"] for u in q2.get("users", [])}
            c("second run gives new codes",
              codes2 and all(codes2.get(k) and codes2[k] != v for k, v in codes1.items()))
            c("second run keeps the organisation key", q2.get("org_fingerprint") == q["org_fingerprint"])
            if users:
                rc, out, err = env.cli(env.path("home"), "whoami")
                c("the device enrolled before the restart still works", rc == 0 and users[0]["user"] in out,
                  f"rc={rc} {err.strip()[:300]}")

            rc, out, err = env.run([script, "--no-install", "--no-build", "--json", "--help"], env=qenv)
            c("--help exits 0 and prints usage", rc == 0 and "Usage" in out)
        finally:
            rc, out, err = quickstart("stop")
        c("quickstart stop exits 0", rc == 0, err[-500:])
        c("varskod and mosquitto no longer listen", not accepts(ws_port) and not accepts(mqtt_port))
        c("pid files removed",
          not os.path.exists(os.path.join(state, "varskod.pid"))
          and not os.path.exists(os.path.join(state, "mosquitto.pid")))
        logtext = ""
        for name in ("varskod.log", "mosquitto.log"):
            try:
                with open(os.path.join(state, name), encoding="utf-8", errors="replace") as f:
                    logtext += f.read()
            except FileNotFoundError:
                pass
        leaked = [n for (_u, n, _r) in harness.demo_users(doc) if n and n in logtext]
        c("no demo user's name in the demo's logs", not leaked, f"{len(leaked)} names")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
