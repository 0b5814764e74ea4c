#!/usr/bin/python3
"""The admin listener: GET /healthz and GET /metrics (docs/OPERATIONS.md "Health and metrics").

The real stack (Mosquitto, varskod with its admin listener on a free loopback
port and health_mqtt_grace_seconds = 2, team-slagelse's agent with
--metrics-file) comes up; /healthz is 200 with every check ok. Then the test
does what it can count itself: N underretninger by laerer-anna, frames that
varskod must refuse (bad JSON, an unknown type, a server-only type, an
unknown reference, a request before login) and one login with the wrong key.
/metrics, parsed with prometheus_client's parser, has moved by exactly those
counts (submissions accepted, logins ok and failed, refused frames by error
name, the group commits' jobs), has HELP and TYPE for every family, counters
named *_total, histograms whose buckets add up, the open vurdering deadlines
of team-slagelse as the database has them, and no label value (nor any text)
that is a reference, a user id or a device id of the test. Any other path is
404 and any other method 405.

Mosquitto is stopped: /healthz turns 503 once the link has been down for the
grace period (not before: its down_seconds says so), naming mqtt as the
failed check while store and outbox stay ok; Mosquitto is started again and
/healthz is 200 again within seconds. The agent's metrics file exists, is
mode 0644, parses, counts the N filed underretninger and their 2N events,
and names no reference or device. Everything runs on loopback, on free
ports, in a temporary directory, and every process is stopped.
"""

import asyncio
import http.client
import json
import os
import re
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

N = 4
TEAM = "team-slagelse"
GRACE = 2


def http_get(port, path, method="GET", timeout=5.0):
    """(status, content-type, body text) of one request to the admin listener."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=b"" if method in ("POST", "PUT") else None)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read().decode("utf-8", "replace")
    finally:
        c.close()


def health(port):
    status, _ct, body = http_get(port, "/healthz")
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {"unparsable": body[:200]}


def wait_health(port, want, timeout):
    """Poll /healthz until its status is `want`; (seconds waited, status, json) of the last answer."""
    t0 = time.monotonic()
    while True:
        status, j = health(port)
        if status == want or time.monotonic() - t0 > timeout:
            return time.monotonic() - t0, status, j
        time.sleep(0.2)


def parse_metrics(text):
    """{family name: family} and {(sample name, sorted labels): value} from the exposition text."""
    from prometheus_client.parser import text_string_to_metric_families
    fams, samples = {}, {}
    for f in text_string_to_metric_families(text):
        fams[f.name] = f
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return fams, samples


def scrape(port):
    status, ctype, body = http_get(port, "/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}: {body[:200]}")
    fams, samples = parse_metrics(body)
    return ctype, body, fams, samples


def val(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def admin_port_of(conf):
    with open(conf, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == "admin_port":
                return int(v.strip())
    raise RuntimeError("the fixture's varskod.conf has no admin_port")


async def refused_frames(fl):
    """Frames varskod must refuse; returns ({error code: count} of the error frames received, logins ok made)."""
    import nacl.signing
    codes, logins = {}, 0

    def note(ans, what):
        if ans.get("type") != "error" or not ans.get("code"):
            raise RuntimeError(f"{what}: not an error frame: {json.dumps(ans)[:200]}")
        codes[ans["code"]] = codes.get(ans["code"], 0) + 1

    dev = fl.device("laerer-anna")
    async with harness.RawClient(fl.ws_url, fl.ca) as cl:
        ans = await cl.login(dev.id, dev.signing_key)
        if ans.get("type") != "session":
            raise RuntimeError(f"login as laerer-anna refused: {ans}")
        logins += 1
        note(await flowlib.request(cl, "{not json"), "bad JSON")
        note(await flowlib.request(cl, {"type": "frobnicate", "id": "r2"}), "unknown type")
        note(await flowlib.request(cl, {"type": "hello", "id": "r3"}), "a server-only type")
        note(await flowlib.request(cl, {"type": "status", "id": "r4", "reference": "U-2099-999999"}),
             "an unknown reference")
    async with harness.RawClient(fl.ws_url, fl.ca) as cl:
        note(await flowlib.request(cl, {"type": "whoami", "id": "w1"}), "a request before login")
    # One login with the wrong key for laerer-anna's device: refused (and counted as a failed login).
    async with harness.RawClient(fl.ws_url, fl.ca) as cl:
        note(await cl.login(dev.id, nacl.signing.SigningKey.generate()), "a login with the wrong key")
    return codes, logins


def main():
    import importlib.util
    if importlib.util.find_spec("prometheus_client") is None:
        harness.skip("python3-prometheus-client is not installed (deploy/install-deps.sh)")
    checks = harness.Checks()
    c = checks.check
    t_start = time.monotonic()
    with flowlib.Flow(agents=[], users=["laerer-anna"], config={"health_mqtt_grace_seconds": GRACE}) as fl:
        fl.setup()
        port = admin_port_of(fl.conf)
        c("varskod logs the admin listener's port", f"/healthz and /metrics on port {port}" in fl.read_log("varskod"))

        # The agent with its textfile-collector file.
        mfile = fl.path("textfile", "varsko-agent.prom")
        os.makedirs(os.path.dirname(mfile), mode=0o700)
        os.makedirs(fl.case_dir(TEAM), mode=0o700, exist_ok=True)
        agent_started = time.time()
        fl.start(f"agent-{TEAM}", fl.agent_argv(TEAM) + ["--metrics-file", mfile])
        fl.wait_agent_subscribed(TEAM)

        # -- healthy --
        waited, status, j = wait_health(port, 200, 20)
        c("/healthz is 200 once the stack is up", status == 200, f"{status} after {waited:.1f} s: {j}")
        checks_ = j.get("checks", {})
        c("/healthz: status ok and every check ok",
          j.get("status") == "ok" and all(checks_.get(k, {}).get("ok") is True for k in ("store", "mqtt", "outbox")),
          json.dumps(j))
        c("/healthz names the MQTT link connected, down 0 s",
          checks_.get("mqtt", {}).get("connected") is True and checks_.get("mqtt", {}).get("down_seconds") == 0,
          json.dumps(checks_.get("mqtt")))
        c("/healthz gives the outbox depth and the oldest row's age",
          isinstance(checks_.get("outbox", {}).get("depth"), int) and
          isinstance(checks_.get("outbox", {}).get("oldest_age_seconds"), int), json.dumps(checks_.get("outbox")))
        _s, ctype, _b = http_get(port, "/healthz")
        c("/healthz is application/json", ctype.startswith("application/json"), ctype)

        # -- anything else --
        for path in ("/", "/metricsx", "/healthz/", "/favicon.ico"):
            st, _ct, _b = http_get(port, path)
            c(f"GET {path} is 404", st == 404, str(st))
        for method, path in (("POST", "/healthz"), ("PUT", "/metrics"), ("DELETE", "/metrics"), ("HEAD", "/healthz")):
            st, _ct, _b = http_get(port, path, method=method)
            c(f"{method} {path} is 405", st == 405, str(st))

        # -- the baseline --
        ctype, body0, fams0, m0 = scrape(port)
        c("/metrics is the text exposition format 0.0.4", ctype.startswith("text/plain") and "version=0.0.4" in ctype,
          ctype)

        # -- what the test counts itself --
        paths = [fl.doc(age=7 + i, extra_text=f"(sundhedstest {i + 1} af {N})") for i in range(N)]
        refs = []
        for p in paths:
            rc, rec, out, err = fl.send("laerer-anna", p)
            if rc == 0 and isinstance(rec, dict) and rec.get("reference"):
                refs.append(rec["reference"])
            else:
                c(f"underretning {os.path.basename(p)} gets a receipt", False, out_of(rc, out, err))
        c(f"{N} underretninger accepted with distinct references", len(set(refs)) == N, str(refs))
        codes, raw_logins = harness.run(refused_frames(fl))
        harness.log(f"     error frames received: {codes}")

        # The probe runs every 2 s: wait until it has seen the N underretninger's deadlines.
        db_due = fl.q("SELECT count(*) FROM deadlines WHERE met_at IS NULL AND team = ? AND kind = 'vurdering'",
                      TEAM)[0][0]
        deadline = time.monotonic() + 15
        while True:
            _ct, body1, fams1, m1 = scrape(port)
            due = val(m1, "varsko_deadlines_due", team=TEAM, deadline="vurdering")
            if due == db_due or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        c(f"varsko_deadlines_due of {TEAM}'s vurdering is the database's count ({db_due})", due == db_due == N,
          f"metrics {due}, database {db_due}")

        def delta(name, **labels):
            return val(m1, name, **labels) - val(m0, name, **labels)

        c(f"varsko_submissions_accepted_total grew by exactly {N}",
          delta("varsko_submissions_accepted_total") == N, str(delta("varsko_submissions_accepted_total")))
        want_ok = N + raw_logins  # one login per `varsko underret send`, and the raw session's
        c(f"varsko_logins_total{{result=\"ok\"}} grew by exactly {want_ok}",
          delta("varsko_logins_total", result="ok") == want_ok, str(delta("varsko_logins_total", result="ok")))
        c("varsko_logins_total{result=\"failed\"} grew by exactly 1",
          delta("varsko_logins_total", result="failed") == 1, str(delta("varsko_logins_total", result="failed")))
        moved = {dict(lb)["code"]: v - m0.get((n, lb), 0.0) for (n, lb), v in m1.items()
                 if n == "varsko_frames_refused_total" and v != m0.get((n, lb), 0.0)}
        c("varsko_frames_refused_total moved by exactly the error frames received, by code",
          moved == {k: float(v) for k, v in codes.items()}, f"metrics {moved}, received {codes}")
        c("the test's refusals cover six frames", sum(codes.values()) == 6, str(codes))
        c("every error name is a series of varsko_frames_refused_total (zeros included)",
          all(("varsko_frames_refused_total", (("code", k),)) in m1
              for k in ("bad_json", "not_found", "bad_signature", "unavailable", "too_large")))
        # Group jobs are the submissions and the broker's PUBACK marks of their publications.
        jobs = delta("varsko_store_commit_batch_size_sum")
        c(f"the group commits held the {N} submissions (and the PUBACK marks)", jobs >= N, str(jobs))
        ncommits = delta("varsko_store_commit_batch_size_count")
        c("one group commit or more, never more than their jobs, each timed", 1 <= ncommits <= jobs and
          delta("varsko_store_commit_seconds_count") == ncommits, f"{ncommits} batches")
        c("no group commit failed", delta("varsko_store_commit_failures_total") == 0)
        c("varsko_mqtt_connected is 1", val(m1, "varsko_mqtt_connected") == 1)
        c("varsko_store_up is 1", val(m1, "varsko_store_up") == 1)
        c("varsko_sessions counts the agent's open session",
          val(m1, "varsko_sessions") >= 1 and val(m1, "varsko_sessions_logged_in") >= 1,
          f"{val(m1, 'varsko_sessions')} / {val(m1, 'varsko_sessions_logged_in')}")
        audit_db = fl.q("SELECT max(seq) FROM audit")[0][0]
        c("varsko_audit_rows is the audit log's length (at most the database's now)",
          0 < val(m1, "varsko_audit_rows") <= audit_db, f"{val(m1, 'varsko_audit_rows')} vs {audit_db}")
        c("varsko_outbox_depth and varsko_outbox_oldest_age_seconds are there",
          ("varsko_outbox_depth", ()) in m1 and ("varsko_outbox_oldest_age_seconds", ()) in m1)
        teams = {dict(lb).get("team") for (n, lb) in m1 if n.startswith("varsko_deadlines_")}
        c("the deadline gauges list every team, zeros included", teams == set(flowlib.TEAMS), str(sorted(teams)))

        # -- the format --
        want_types = {"varsko_sessions": "gauge", "varsko_logins": "counter", "varsko_frames_refused": "counter",
                      "varsko_submissions_accepted": "counter", "varsko_store_commit_batch_size": "histogram",
                      "varsko_store_commit_seconds": "histogram", "varsko_outbox_depth": "gauge",
                      "varsko_outbox_oldest_age_seconds": "gauge", "varsko_mqtt_connected": "gauge",
                      "varsko_deadlines_due": "gauge", "varsko_deadlines_warned": "gauge",
                      "varsko_deadlines_escalated": "gauge", "varsko_deadlines_overdue": "gauge",
                      "varsko_audit_rows": "gauge"}
        wrong = {k: fams1[k].type if k in fams1 else None for k, t in want_types.items()
                 if k not in fams1 or fams1[k].type != t}
        c("every metric of the brief is there with its type", not wrong, str(wrong))
        helps = set(re.findall(r"^# HELP (\S+) \S", body1, re.M))
        types = set(re.findall(r"^# TYPE (\S+) (?:counter|gauge|histogram)$", body1, re.M))
        names = set(re.findall(r"^([a-z_]+)[{ ]", body1, re.M))
        bare = {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}
        c("every sample's family has a HELP and a TYPE line", bare <= helps and helps == types,
          f"without: {sorted(bare - helps)}")
        bad_counters = [s.name for f in fams1.values() if f.type == "counter" for s in f.samples
                        if not s.name.endswith("_total")]
        c("every counter sample ends in _total", not bad_counters, str(bad_counters))
        hist_bad = []
        for f in fams1.values():
            if f.type != "histogram":
                continue
            buckets = [(float(s.labels["le"]), s.value) for s in f.samples if s.name.endswith("_bucket")]
            count = [s.value for s in f.samples if s.name.endswith("_count")]
            vals = [v for _le, v in sorted(buckets)]
            if vals != sorted(vals) or not count or buckets[-1][0] != float("inf") or vals[-1] != count[0]:
                hist_bad.append(f.name)
        c("histogram buckets are cumulative and +Inf equals _count", not hist_bad, str(hist_bad))

        # -- no personal data --
        devices = {fl.device(u).id for u in fl.homes}
        users = set(fl.homes)
        labels = {v for (_n, lb) in m1 for _k, v in lb}
        looks = [v for v in labels if re.match(r"^U-\d{4}-", v) or v in users or v in devices]
        c("no label value is a reference, a user id or a device id", not looks, str(looks))
        leaks = [x for x in list(refs) + sorted(devices) + sorted(users) if x in body1]
        c("the /metrics text names no reference, user id or device id at all", not leaks, str(leaks[:5]))
        _s, _ct, hbody = http_get(port, "/healthz")
        c("the /healthz text names none either", not [x for x in refs + sorted(devices) + sorted(users) if x in hbody])

        # -- the broker goes away --
        got = fl.wait_filed(TEAM, refs, timeout=30)
        c(f"the agent filed the {N} underretninger", got == set(refs), f"missing {sorted(set(refs) - got)}")
        rc = fl.stop_mosquitto()
        c("mosquitto stopped", rc == 0, f"exit {rc}")
        t_down = time.monotonic()
        waited, status, j = wait_health(port, 503, GRACE + 15)
        harness.log(f"     /healthz {status} {waited:.1f} s after mosquitto stopped: {json.dumps(j)}")
        c("/healthz turns 503 after the grace period", status == 503, f"{status} after {waited:.1f} s")
        ck = j.get("checks", {})
        c("/healthz says fail and names mqtt as the failed check",
          j.get("status") == "fail" and ck.get("mqtt", {}).get("ok") is False and
          ck.get("store", {}).get("ok") is True and ck.get("outbox", {}).get("ok") is True, json.dumps(j))
        c(f"not before the grace period: down_seconds >= {GRACE}, not connected",
          ck.get("mqtt", {}).get("down_seconds", -1) >= GRACE and ck.get("mqtt", {}).get("connected") is False,
          json.dumps(ck.get("mqtt")))
        _ct, _b, _f, m2 = scrape(port)
        c("varsko_mqtt_connected is 0 while the broker is down", val(m2, "varsko_mqtt_connected") == 0)
        harness.log(f"     broker down for {time.monotonic() - t_down:.1f} s")
        fl.restart_mosquitto()
        waited, status, j = wait_health(port, 200, 40)
        harness.log(f"     /healthz {status} {waited:.1f} s after mosquitto started again")
        c("/healthz is 200 again once the broker is back", status == 200 and j.get("status") == "ok",
          f"{status} after {waited:.1f} s: {json.dumps(j)}")

        # -- the agent's textfile-collector file --
        deadline = time.monotonic() + 15
        am, text = {}, ""
        while time.monotonic() < deadline:
            try:
                with open(mfile, encoding="utf-8") as f:
                    text = f.read()
                _fa, am = parse_metrics(text)
            except (OSError, ValueError):
                am = {}
            if val(am, "varsko_agent_filed_total", team=TEAM) == N and \
                    val(am, "varsko_agent_events_sent_total", team=TEAM) >= 2 * N:
                break
            time.sleep(0.5)
        c("the agent's metrics file exists and parses", bool(am), text[:200])
        try:
            mode = stat.S_IMODE(os.stat(mfile).st_mode)
        except OSError:
            mode = None
        c("the metrics file is mode 0644 (readable by the collector)", mode == 0o644, oct(mode or 0))
        c(f"varsko_agent_filed_total is {N}", val(am, "varsko_agent_filed_total", team=TEAM) == N,
          str(val(am, "varsko_agent_filed_total", team=TEAM)))
        c(f"varsko_agent_events_sent_total counts the {2 * N} events (modtaget, journaliseret)",
          val(am, "varsko_agent_events_sent_total", team=TEAM) >= 2 * N,
          str(val(am, "varsko_agent_events_sent_total", team=TEAM)))
        c("varsko_agent_errors_total is 0", ("varsko_agent_errors_total", (("team", TEAM),)) in am and
          val(am, "varsko_agent_errors_total", team=TEAM) == 0)
        last = val(am, "varsko_agent_last_success_timestamp_seconds", team=TEAM)
        c("varsko_agent_last_success_timestamp_seconds is a time since the agent started",
          agent_started - 1 <= last <= time.time() + 1, str(last))
        c("the metrics file names no reference or device",
          not [x for x in refs + sorted(devices) + sorted(users) if x in text])
        leftovers = [n for n in os.listdir(os.path.dirname(mfile)) if n != os.path.basename(mfile)]
        c("no temporary file left next to it", not leftovers, str(leftovers))

        rc = fl.stop_agent(TEAM)
        c("agent exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rc = fl.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
    harness.log(f"     {time.monotonic() - t_start:.1f} s in all")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
