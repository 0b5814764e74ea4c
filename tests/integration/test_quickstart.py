#!/usr/bin/python3
"""The README's first command: deploy/quickstart.sh, in a temporary state directory.

Runs `deploy/quickstart.sh --json` (no install, no build: the test's build is
used) on free ports, checks the JSON it prints, enrolls a device with one of
its codes and asks who it is, checks that one varsko-agent per team runs, and
sends deploy/demo/underretning-example.json as that user (a fagperson): the
receiving team's agent must file it in its case directory and varskod must
show the agent's modtaget and journaliseret. It then runs the quickstart a
second time (new codes, the enrolled device still works, the agents are
restarted with the same homes, the same file sent again is a duplicate and
is not filed twice), and checks that `deploy/quickstart.sh stop` stops every
daemon. The demo is stopped in cleanup whatever happens.
"""

import json
import re
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def web_page(url, ca):
    """GET url over HTTPS trusting ca: (body text, lower-cased headers); ("", {}) when it fails."""
    import ssl
    import urllib.request
    try:
        ctx = ssl.create_default_context(cafile=ca)
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            return r.read().decode("utf-8", "replace"), {k.lower(): v for k, v in r.headers.items()}
    except (OSError, ValueError) as e:
        return f"GET {url}: {e}", {}


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, PermissionError, TypeError):
        return False


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return pred()


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

        def quickstart(*args, ports=True):
            e = dict(qenv)
            if not ports:  # a rerun without VARSKO_PORT / VARSKO_MQTT_PORT keeps the last run's ports
                e.pop("VARSKO_PORT")
                e.pop("VARSKO_MQTT_PORT")
            return env.run([script, "--no-install", "--no-build", *args], env=e, timeout=180)

        qa, qa2 = {}, {}  # team -> the agent rows of the first and second run
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
            page, headers = web_page(q.get("web_url", ""), q.get("ca_file", ""))
            c("the web address serves the web client (built by the quickstart) with its Content-Security-Policy",
              "<html lang=\"da\">" in page and "/assets/app-" in page and
              "require-trusted-types-for" in headers.get("content-security-policy", ""), page[:300] + str(headers))
            sig, _ = web_page(q.get("web_url", "") + "release.sig", q.get("ca_file", ""))
            c("the web client is served signed with the demo's root key (release.sig, PROTOCOL.md 18)",
              sig.startswith('{"manifest":"') and '"sig":"' in sig and sig.endswith('"version":1}'), sig[:200])
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
            demo_ids = [u for (u, _n, r) in harness.demo_users(doc) if r != "agent"]
            c("one user row per demo user (agents excluded): a code, or for the admin and the leders the home "
              "the quickstart enrolled",
              [u.get("user") for u in users] == demo_ids and
              all(bool(u.get("code")) != bool(u.get("home")) and (u.get("home") is None) ==
                  (u.get("role") not in ("admin", "leder")) for u in users),
              f"{len(users)} rows for {len(demo_ids)} users")
            staff = [u for u in users if u.get("home")]
            c("each enrolled admin or leder has a private file with the recovery code",
              staff and all(os.path.exists(u.get("recovery_file", "")) and
                            os.stat(u["recovery_file"]).st_mode & 0o077 == 0 and
                            re.search(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b", open(u["recovery_file"]).read())
                            for u in staff), str(staff)[:300])
            c("... and its row carries that recovery code (printed next to the enrollment codes)",
              staff and all(u.get("recovery_code") and u["recovery_code"] in open(u["recovery_file"]).read()
                            for u in staff), str([(u.get("user"), bool(u.get("recovery_code"))) for u in staff]))
            for t in [t.get("id") if isinstance(t, dict) else t for t in doc.get("teams", [])]:
                lead = next((u for u in staff if u.get("role") == "leder" and u.get("team") == t), None)
                if lead is None:
                    c(f"team {t} has a leder enrolled by the quickstart", False)
                    continue
                rc, out, err = env.cli(lead["home"], "team", "show", t, "--json")
                tj = {}
                try:
                    tj = json.loads(out)
                except ValueError:
                    pass
                roles = {m.get("user"): m.get("role") for m in tj.get("members", [])}
                c(f"team {t}: a verified chain with its leder and its agent, and a team key",
                  rc == 0 and roles.get(lead["user"]) == "leder" and "agent" in roles.values() and
                  tj.get("key_generation", 0) >= 1, f"rc={rc} {out.strip()[:300]} {err.strip()[:200]}")
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

            # -- the agents --
            agent_users = {u.get("team"): (u.get("id") or u.get("user")) for u in doc.get("users", [])
                           if u.get("role") == "agent"}
            qa = {a.get("team"): a for a in q.get("agents", []) if isinstance(a, dict)}
            c("an agent per team with a demo agent user", agent_users and set(qa) == set(agent_users),
              f"demo agent users {sorted(agent_users)}, quickstart agents {sorted(qa)}")
            for t, a in sorted(qa.items()):
                pid = a.get("pid")
                cd = a.get("case_dir", "")
                c(f"agent {t}: runs varsko-agent --team {t} (pid {pid})",
                  isinstance(pid, int) and alive(pid) and "varsko-agent" in cmdline(pid)
                  and f"--team {t} " in cmdline(pid) + " ", cmdline(pid)[:300])
                c(f"agent {t}: user {agent_users.get(t)}, case dir exists with mode 0700",
                  a.get("user") == agent_users.get(t) and os.path.isdir(cd)
                  and os.stat(cd).st_mode & 0o777 == 0o700, str(a))
                try:
                    with open(a.get("log", ""), encoding="utf-8", errors="replace") as f:
                        alog = f.read()
                except OSError:
                    alog = ""
                c(f"agent {t}: subscribed to its team's topic",
                  f"subscribed to varsko/slagelse/team/{t}/underretning" in alog, alog[-300:])
            homes1 = {t: read_json(os.path.join(a.get("home", ""), "device.cert")) for t, a in qa.items()}

            # -- an underretning, end to end --
            example = os.path.join(harness.SOURCE_ROOT, "deploy", "demo", "underretning-example.json")
            ref = team = None
            sender = users[0] if users else {}
            if sender.get("role") != "fagperson":
                c("the first demo user is a fagperson (sends the example)", False, str(sender))
            else:
                rc, out, err = env.cli(env.path("home"), "underret", "send", example, "--json", timeout=120)
                rec = None
                try:
                    rec = json.loads(out)
                except ValueError:
                    pass
                c(f"{sender['user']}: varsko underret send {os.path.basename(example)} gives a receipt",
                  rc == 0 and isinstance(rec, dict) and rec.get("reference") and rec.get("team") in qa,
                  f"rc={rc} {out.strip()[:300]} {err.strip()[:300]}")
                if rc == 0 and isinstance(rec, dict):
                    ref, team = rec.get("reference"), rec.get("team")
                    import sqlite3
                    db = sqlite3.connect(os.path.join(q["state_dir"], "varsko.db"))
                    try:
                        row = db.execute("SELECT envelope FROM underretninger WHERE reference = ?", (ref,)).fetchone()
                    finally:
                        db.close()
                    wraps = sorted(w.get("device", "") for w in json.loads(row[0]).get("wraps", [])) if row else []
                    c("the underretning is sealed to the team's key and the sender's own user key, no device",
                      len(wraps) == 2 and wraps[0].startswith(f"team:{team}:") and
                      wraps[1].startswith(f"user:{sender['user']}:"), str(wraps))
            if ref and team in qa:
                path = os.path.join(qa[team]["case_dir"], f"{ref}.json")
                filed = wait_for(lambda: read_json(path), 60)
                with open(example, encoding="utf-8") as f:
                    sent = json.load(f)
                c(f"the {team} agent files {ref} in its case directory",
                  isinstance(filed, dict) and filed.get("reference") == ref and filed.get("document") == sent,
                  f"{path}: {'exists' if os.path.exists(path) else 'missing'}; log: "
                  f"{open(qa[team]['log'], encoding='utf-8', errors='replace').read()[-400:]}")
                c("the filed file has mode 0600",
                  os.path.exists(path) and os.stat(path).st_mode & 0o777 == 0o600)
                c("the filed record names the sender and carries the receipt",
                  isinstance(filed, dict) and filed.get("sender", {}).get("user") == sender["user"]
                  and filed.get("receipt", {}).get("reference") == ref)
                others = [t for t, a in qa.items() if t != team and os.path.exists(os.path.join(a["case_dir"],
                                                                                               f"{ref}.json"))]
                c("no other team's agent filed it", not others, str(others))

                def steps():
                    rc, out, _err = env.cli(env.path("home"), "underret", "status", ref, "--json")
                    try:
                        st = json.loads(out) if rc == 0 else {}
                    except ValueError:
                        st = {}
                    got = {x.get("step") for x in st.get("steps", []) if x.get("verified") is True}
                    return got if {"modtaget", "journaliseret"} <= got else None
                got = wait_for(steps, 30)
                c("varskod has the agent's modtaget and journaliseret (verified in the status)", got,
                  str(steps()))

            # Right after use (connections on the port may be in TIME-WAIT), without naming the ports.
            rc, out, err = quickstart("--json", ports=False)
            c("second quickstart run exits 0", rc == 0, f"rc={rc} stderr tail: {err[-1500:]}")
            try:
                q2 = json.loads(out)
            except ValueError:
                q2 = {}
            codes1 = {u["user"]: u["code"] for u in users if u.get("code")}
            codes2 = {u["user"]: u["code"] for u in q2.get("users", []) if u.get("code")}
            c("second run gives new codes",
              codes2 and all(codes2.get(k) and codes2[k] != v for k, v in codes1.items()))
            c("second run keeps the organisation key", q2.get("org_fingerprint") == q["org_fingerprint"])
            c("second run (ports not given) keeps the WebSocket and MQTT ports of the first",
              q2.get("ws_url") == q["ws_url"] and q2.get("mqtt", {}).get("port") == mqtt_port,
              f"{q2.get('ws_url')} vs {q['ws_url']}; mqtt {q2.get('mqtt', {}).get('port')} vs {mqtt_port}")
            if users:
                rc, out, err = env.cli(env.path("home"), "whoami")
                c("the device enrolled before the restart still works", rc == 0 and users[0]["user"] in out,
                  f"rc={rc} {err.strip()[:300]}")
            qa2 = {a.get("team"): a for a in q2.get("agents", []) if isinstance(a, dict)}
            c("second run: the agents run again (new processes)",
              set(qa2) == set(qa) and all(alive(a.get("pid")) and a.get("pid") != qa[t].get("pid")
                                          for t, a in qa2.items()), str({t: a.get("pid") for t, a in qa2.items()}))
            c("second run: no old agent process left", not any(alive(a.get("pid")) for a in qa.values()))
            homes2 = {t: read_json(os.path.join(a.get("home", ""), "device.cert")) for t, a in qa2.items()}
            c("second run: the agents keep their enrolled homes", homes1 and homes2 == homes1)
            if ref and team in qa2:
                path = os.path.join(qa2[team]["case_dir"], f"{ref}.json")
                st1 = os.stat(path) if os.path.exists(path) else None
                rc, out, err = env.cli(env.path("home"), "underret", "send", example, "--json", timeout=120)
                try:
                    rec2 = json.loads(out)
                except ValueError:
                    rec2 = {}
                c("the same file sent again is a duplicate with the same reference",
                  rc == 0 and rec2.get("duplicate") is True and rec2.get("reference") == ref,
                  f"rc={rc} {out.strip()[:200]} {err.strip()[:200]}")
                time.sleep(2)
                st2 = os.stat(path) if os.path.exists(path) else None
                entries = sorted(n for n in os.listdir(qa2[team]["case_dir"]) if not n.startswith("."))
                c("still filed once, not rewritten",
                  st1 is not None and st2 is not None and (st1.st_ino, st1.st_mtime_ns) == (st2.st_ino, st2.st_mtime_ns)
                  and entries == [f"{ref}.json"], str(entries))

            rc, out, err = env.run([script, "--no-install", "--no-build", "--json", "--help"], env=qenv)
            c("--help exits 0 and prints usage", rc == 0 and "Usage" in out)
        finally:
            rc, out, err = quickstart("stop")
        c("quickstart stop exits 0", rc == 0, err[-500:])
        c("varskod and mosquitto no longer listen", not accepts(ws_port) and not accepts(mqtt_port))
        running = [a.get("pid") for a in list(qa.values()) + list(qa2.values())
                   if alive(a.get("pid")) and "varsko-agent" in cmdline(a.get("pid"))]
        c("no agent runs after stop", not running, str(running))
        pids = [n for n in os.listdir(state) if n.endswith(".pid")] if os.path.isdir(state) else []
        c("pid files removed", not pids, str(pids))
        logtext = ""
        for name in sorted(os.listdir(state)) if os.path.isdir(state) else []:
            if name.endswith(".log"):
                with open(os.path.join(state, name), encoding="utf-8", errors="replace") as f:
                    logtext += f.read()
        leaked = [n for (_u, n, _r) in harness.demo_users(doc) if n and n in logtext]
        c("no demo user's name in the demo's logs", not leaked, f"{len(leaked)} names")
        try:
            with open(os.path.join(harness.SOURCE_ROOT, "deploy", "demo", "underretning-example.json"),
                      encoding="utf-8") as f:
                ex = json.load(f)
            names = [ex["child"]["name"], ex["notifier"]["name"]] + [p["name"] for p in ex.get("parents", [])]
        except (OSError, ValueError, KeyError):
            names = []
        leaked = [n for n in names if n in logtext]
        c("no name from the example underretning in the demo's logs", names and not leaked, f"{len(leaked)} names")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
