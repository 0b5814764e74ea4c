#!/usr/bin/python3
"""`varskoctl report` against a real database (issue 4, Must 4).

The database is made by `varskoctl init` and `varskoctl import` (the demo
municipality plus one extra team whose name needs escaping everywhere). The
underretninger, events and deadlines of the fixture are then INSERTed with
sqlite3 (not sent through the flow): the report only reads the database, and
only inserted rows can spread receipts over six weeks and give every
assessment its own delay. The fixture is pseudo-random with a fixed seed:
about 90 underretninger from 28 September to 8 November 2026 (across the
autumn clock change) plus some just outside the period, first and repeated
vurderet/kvitteret events, late and missing ones.

The expected figures are computed here, independently of report.c, from
the same rows (deadlines from DOMAIN.md with zoneinfo and
flowlib.is_hverdag, nearest rank, the report.h definitions), and compared
with the JSON output (every figure of every team, the total, the weeks and
the overdue list), the CSV output (parsed with the csv module) and the HTML
output. The HTML page is rendered in Debian's headless Chromium with
playwright-core (tests/browser/screenshot.js): both SVG charts must be
visible with non-zero boxes, every bar that should show does, no request
leaves the page, and the screenshot (kept in the test's temp dir) is a PNG
of a sane size. Also --team, and the bad inputs: an unparseable date, --from
after --to, an unknown team, a bad --now, and usage errors.

Then a leder's own figures over the WebSocket (PROTOCOL.md 12.7,
`report_get` -> `report`), with a real varskod and the same fixture: a
leder gets exactly the team entry `varskoctl report --format json` gives
for its team and the same period (the default period too: the 30 days that
end today), another team's leder only its own team's, a frame cannot name a
team, a fagperson and a myndighed are `forbidden`, and a bad period is
`bad_input` (a date of the wrong shape `bad_frame`). `varsko leder rapport`
prints the figures in Danish (and `--json` the same object), refuses a
fagperson and checks its dates as usage errors.
"""

import csv
import datetime
import io
import json
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of, tm  # noqa: E402

FROM, TO = datetime.date(2026, 9, 28), datetime.date(2026, 11, 8)
NOW = "2026-11-12T12:00:00Z"
ODD_NAME = 'Team <b>Test</b> & "Co", æøå'
FORMULA_NAME = "=HYPERLINK(\"x\");1+1"
BROWSER_DIR = os.path.join(harness.SOURCE_ROOT, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"


def ts(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def end_of(d):
    return int(datetime.datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=flowlib.copenhagen()).timestamp())


def local_date(t):
    return datetime.datetime.fromtimestamp(t, flowlib.copenhagen()).date()


def kvittering_due(received):
    d, n = local_date(received), 0
    while n < 6:
        d += datetime.timedelta(days=1)
        if flowlib.is_hverdag(d):
            n += 1
    return end_of(d)


def rank(values, p):
    """Nearest rank: the value at 1-based rank ceil(p * n / 100) of the sorted values."""
    v = sorted(values)
    return v[(p * len(v) + 99) // 100 - 1] if v else None


# ---- the fixture --------------------------------------------------------------------

def make_fixture(teams):
    """[(item dict)]: reference, team, received, outside, events [(kind, time)], deadlines {kind: (due, met)}."""
    rnd = random.Random(20261112)
    tz = flowlib.copenhagen()
    start = int(datetime.datetime(FROM.year, FROM.month, FROM.day, tzinfo=tz).timestamp())
    stop = end_of(TO)
    items = []
    receipts = [start, stop, start - 1, stop + 1]  # the edges: in, in, out, out
    receipts += [rnd.randint(start, stop) for _ in range(88)]
    for i, rec in enumerate(receipts):
        ref = f"U-2026-{i + 1:06d}"
        team = teams[i % len(teams)] if i >= 4 else teams[0]
        events = []
        # vurderet: none (15 %), in time, or late; sometimes assessed twice (the first counts).
        u = rnd.random()
        if u > 0.15:
            delay = rnd.randint(600, 20 * 3600) if u < 0.8 else rnd.randint(25 * 3600, 60 * 3600)
            events.append(("vurderet", rec + delay))
            if rnd.random() < 0.2:
                events.append(("vurderet", rec + delay + rnd.randint(60, 7200)))
        if i == 7:
            events.append(("vurderet", rec - 30))  # an assessor's clock behind the gateway's: counts as 0
            events = [e for e in events if e == ("vurderet", rec - 30)]
        k = rnd.random()
        kdue = kvittering_due(rec)
        if k > 0.25:
            kt = rec + rnd.randint(3600, 5 * 86400) if k < 0.85 else kdue + rnd.randint(1, 3 * 86400)
            events.append(("kvitteret", kt))
            if rnd.random() < 0.2:
                events.append(("kvitteret", kt + 3600))
        # Nothing happens after NOW (events in the future would be nonsense).
        events = [(kd, t) for kd, t in events if t < ts(NOW)]
        first = {}
        for kind, t in events:
            first.setdefault(kind, t)
        deadlines = {
            "vurdering": (rec + 86400, first.get("vurderet")),
            "kvittering": (kdue, first.get("kvitteret")),
            "tilbagemelding": (end_of(local_date(rec) + datetime.timedelta(days=30)), None),
        }
        if i % 9 == 0:
            deadlines["tilbagemelding"] = (end_of(local_date(rec) + datetime.timedelta(days=30)), rec + 5 * 86400)
        items.append({"reference": ref, "team": team, "received": rec, "outside": int(rnd.random() < 0.3),
                      "events": events, "deadlines": deadlines})
    # Two with a short tilbagemelding target that passed (overdue, listed).
    for it in items[10:12]:
        it["deadlines"]["tilbagemelding"] = (end_of(local_date(it["received"]) + datetime.timedelta(days=3)), None)
    return items


def insert(db_path, items):
    c = sqlite3.connect(db_path, timeout=10)
    c.execute("PRAGMA foreign_keys = OFF")  # no devices exist: the report never looks at them
    with c:
        for it in items:
            c.execute("INSERT INTO underretninger (reference, submission, sender_user, sender_device, institution,"
                      " team, first_team, age_group, akut, handicap, outside_office, created_at, received_at,"
                      " envelope, envelope_hash, receipt) VALUES (?, ?, 'laerer-anna', 'd-0000000000000000',"
                      " 'inst-nordskovskolen', ?, ?, '6-13', 0, 0, ?, ?, ?, '{}', x'00', '{}')",
                      (it["reference"], "s-" + it["reference"], it["team"], it["team"], it["outside"],
                       it["received"] - 60, it["received"]))
            for n, (kind, t) in enumerate(it["events"]):
                c.execute("INSERT INTO events (reference, kind, device, role, team, time, received_at, event)"
                          " VALUES (?, ?, ?, 'myndighed', ?, ?, ?, '{}')",
                          (it["reference"], kind, f"d-{n:016x}", it["team"], t, t))
            for kind, (due, met) in it["deadlines"].items():
                c.execute("INSERT INTO deadlines (reference, kind, team, due_at, warn_at, met_at) VALUES"
                          " (?, ?, ?, ?, NULL, ?)", (it["reference"], kind, it["team"], due, met))
    c.close()


# ---- the expected figures, independently --------------------------------------------

def figures(items, now):
    f = {"received": len(items), "outside": sum(it["outside"] for it in items), "overdue": 0}
    for dkind, ekind in (("vurdering", "vurderet"), ("kvittering", "kvitteret")):
        durations, within, decided = [], 0, 0
        for it in items:
            first = next((t for k, t in it["events"] if k == ekind), None)
            if first is not None:
                durations.append(max(0, first - it["received"]))
            due, met = it["deadlines"][dkind]
            if met is not None:
                decided += 1
                within += met <= due
            elif due < now:
                decided += 1
        f[dkind] = {"count": len(durations), "median_seconds": rank(durations, 50),
                    "p90_seconds": rank(durations, 90), "within": within, "decided": decided,
                    "share": within / decided if decided else None}
    for it in items:
        f["overdue"] += sum(1 for due, met in it["deadlines"].values() if met is None and due < now)
    return f


def expected_report(items, teams, now):
    start = int(datetime.datetime(FROM.year, FROM.month, FROM.day, tzinfo=flowlib.copenhagen()).timestamp())
    inp = [it for it in items if start <= it["received"] <= end_of(TO)]
    per = {t: figures([it for it in inp if it["team"] == t], now) for t in teams}
    total = figures(inp, now)
    weeks = {}
    d = FROM - datetime.timedelta(days=FROM.weekday())
    while d <= TO:
        y, w, _ = d.isocalendar()
        weeks[f"{y:04d}-W{w:02d}"] = 0
        d += datetime.timedelta(days=7)
    for it in inp:
        y, w, _ = local_date(it["received"]).isocalendar()
        weeks[f"{y:04d}-W{w:02d}"] += 1
    overdue = sorted(((due, it["reference"], kind, it["team"]) for it in inp
                      for kind, (due, met) in it["deadlines"].items() if met is None and due < now),
                     key=lambda o: (o[0], o[1], ["vurdering", "kvittering", "tilbagemelding"].index(o[2])))
    return inp, per, total, weeks, overdue


def json_figures(o):
    """The figures of one JSON team/total object in the shape figures() gives."""
    f = {"received": o["received"], "outside": o["outside_office"]["count"], "overdue": o["overdue"]}
    for k in ("vurdering", "kvittering"):
        f[k] = dict(o[k])
    return f


def same_figures(got, want):
    if {k: v for k, v in got.items() if k not in ("vurdering", "kvittering")} != \
            {k: v for k, v in want.items() if k not in ("vurdering", "kvittering")}:
        return False
    for k in ("vurdering", "kvittering"):
        g, w = got[k], want[k]
        for key in ("count", "median_seconds", "p90_seconds", "within", "decided"):
            if g.get(key) != w[key]:
                return False
        if (g.get("share") is None) != (w["share"] is None):
            return False
        if w["share"] is not None and abs(g["share"] - w["share"]) > 1e-9:
            return False
    return True


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


# ---- a leder's own figures over the WebSocket (report_get) ---------------------------------

def team_entry(fl, team, *period):
    """The entry of `team` in `varskoctl report --format json` for the period, at the current time."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rc, out, err = fl.ctl("report", *period, "--format", "json", "--now", now)
    try:
        return next(t for t in json.loads(out)["teams"] if t["team"] == team)
    except (ValueError, KeyError, StopIteration):
        harness.log(f"     varskoctl report: {out_of(rc, out, err)}")
        return None


def leder_checks(checks):
    c = checks.check
    users = ["leder-thomas", "leder-sara", "laerer-anna", "myndighed-lene"]
    with flowlib.Flow(agents=[], users=users) as fl:
        fl.setup(org=False)
        teams = flowlib.TEAMS
        insert(fl.database, make_fixture(teams))
        period = ["--from", FROM.isoformat(), "--to", TO.isoformat()]

        def ask(user, frame):
            async def go(cl, dev):
                return await flowlib.request(cl, frame)
            return fl.raw_session(user, go)

        frame = {"type": "report_get", "id": "p1", "from": FROM.isoformat(), "to": TO.isoformat()}
        ans = ask("leder-thomas", frame)
        want = team_entry(fl, "team-slagelse", *period)
        c("leder: report_get is answered with report (id echoed) and only figures",
          ans.get("type") == "report" and ans.get("id") == "p1" and set(ans) == {"type", "id", "figures"},
          json.dumps(ans)[:300])
        c("leder: the figures are exactly varskoctl report's entry for the leder's team and the period",
          want is not None and ans.get("figures") == want and want["received"] > 0,
          f"got {json.dumps(ans.get('figures'))[:300]}, want {json.dumps(want)[:300]}")

        today = flowlib.cph_today()
        default = ["--from", (today - datetime.timedelta(days=29)).isoformat(), "--to", today.isoformat()]
        ans = ask("leder-thomas", {"type": "report_get", "id": "p2"})
        want = team_entry(fl, "team-slagelse", *default)
        harness.log(f"     the default period {default[1]}..{default[3]}: "
                    f"{want['received'] if want else '?'} received by team-slagelse")
        c("leder: without from and to, the 30 days that end today (Copenhagen)",
          ans.get("type") == "report" and want is not None and ans.get("figures") == want,
          f"got {json.dumps(ans)[:300]}, want {json.dumps(want)[:300]}")
        ans = ask("leder-thomas", {"type": "report_get", "id": "p3", "to": TO.isoformat()})
        want = team_entry(fl, "team-slagelse", "--from", (TO - datetime.timedelta(days=29)).isoformat(),
                          "--to", TO.isoformat())
        c("leder: with to only, the 30 days that end on it", want is not None and ans.get("figures") == want,
          f"got {json.dumps(ans)[:300]}, want {json.dumps(want)[:300]}")

        ans = ask("leder-sara", frame)
        want = team_entry(fl, "team-ung", *period)
        c("another team's leder gets its own team's figures only",
          ans.get("type") == "report" and want is not None and ans.get("figures") == want
          and ans["figures"]["team"] == "team-ung", json.dumps(ans)[:300])
        ans = ask("leder-sara", dict(frame, team="team-slagelse"))
        c("a report_get cannot name another team (bad_frame)", ans.get("type") == "error"
          and ans.get("code") == "bad_frame", json.dumps(ans)[:300])

        for user in ("laerer-anna", "myndighed-lene"):
            ans = ask(user, frame)
            c(f"{user}: forbidden", ans.get("type") == "error" and ans.get("code") == "forbidden"
              and ans.get("id") == "p1" and "figures" not in ans, json.dumps(ans)[:300])

        bad = [
            ({"from": "2026-11-09", "to": "2026-11-08"}, "to before from", "bad_input"),
            ({"from": "2025-11-07", "to": "2026-11-08"}, "367 days", "bad_input"),
            ({"from": "2026-02-30"}, "a date that is none", "bad_input"),
            ({"to": "2100-01-01"}, "a year outside the calendar", "bad_input"),
            ({"from": "2026-9-28"}, "a date of the wrong shape", "bad_frame"),
        ]
        for members, what, code in bad:
            ans = ask("leder-thomas", dict({"type": "report_get", "id": "b"}, **members))
            c(f"leder: {what}: {code}", ans.get("type") == "error" and ans.get("code") == code
              and ans.get("id") == "b", json.dumps(ans)[:300])
        ans = ask("leder-thomas", {"type": "report_get", "id": "p4", "from": "2025-11-08", "to": "2026-11-08"})
        c("leder: 366 days is allowed", ans.get("type") == "report", json.dumps(ans)[:300])

        # -- the CLI --
        cli_period = ["--fra", FROM.isoformat(), "--til", TO.isoformat()]
        want = team_entry(fl, "team-slagelse", *period)
        rc, j, out, err = fl.cli_json("leder-thomas", "leder", "rapport", *cli_period)
        c("varsko leder rapport --json: the figures as varskod sent them", rc == 0 and j == want,
          out_of(rc, out, err))
        rc, out, err = fl.cli_as("leder-thomas", "leder", "rapport", *cli_period)
        v = want["vurdering"] if want else {}
        share = f"{(v.get('within', 0) * 200 // v['decided'] + 1) // 2} % ({v.get('within')} af {v['decided']})" \
            if v.get("decided") else "–"
        lines = out.splitlines()
        harness.log("     varsko leder rapport:\n" + "\n".join("       " + ln for ln in lines))
        c("varsko leder rapport: the team, the period and every figure in Danish",
          rc == 0 and want is not None and "Ledelsestilsyn for Team Slagelse (team-slagelse)" in out
          and "Modtaget fra 28.09.2026 til og med 08.11.2026" in out
          and any(ln.startswith("Modtaget ") and ln.split()[-1] == str(want["received"]) for ln in lines)
          and any(ln.startswith("Vurderet inden for 24 timer") and ln.endswith(share) for ln in lines)
          and all(s in out for s in ("Uden for åbningstid", "Tid til vurdering", "median", "90. percentil",
                                     "Kvitteret inden for 6 hverdage", "Åbne, overskredne frister")),
          out_of(rc, out, err) + f" (want {share})")
        rc, out, err = fl.cli_as("laerer-anna", "leder", "rapport")
        c("varsko leder rapport as a fagperson: exit 1, forbidden in Danish", rc == 1 and out == ""
          and "(kode: forbidden)" in err, out_of(rc, out, err))
        rc, out, err = fl.cli_as("leder-thomas", "leder", "rapport", "--fra", "2026-11-09", "--til", "2026-11-08")
        c("varsko leder rapport --fra after --til: exit 1, bad_input", rc == 1 and "(kode: bad_input)" in err,
          out_of(rc, out, err))
        rc, out, err = fl.cli_as("leder-thomas", "leder", "rapport", "--fra", "28-09-2026")
        c("varsko leder rapport --fra that is no date: exit 2 (usage), in Danish", rc == 2 and "--fra" in err
          and "(kode: usage)" in err, out_of(rc, out, err))
        rc, out, err = fl.cli_as("leder-thomas", "leder", "rapport", "--help")
        c("varsko leder rapport --help", rc == 0 and out.startswith("usage: varsko leder rapport"),
          out_of(rc, out, err))


def main():
    checks = harness.Checks()
    c = checks.check
    node = shutil.which("node")
    if not os.access(CHROMIUM, os.X_OK) or node is None:
        harness.skip("chromium or node is missing (deploy/install-deps.sh installs them)")
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        harness.skip("playwright-core is not installed in tests/browser (tests/run.sh runs npm ci there)")
    with harness.Env() as env:
        env.write_config()
        env.ctl_ok("init")
        env.ctl_ok("import", harness.demo_file())
        extra = env.path("extra-teams.json")
        with open(extra, "w", encoding="utf-8") as f:
            json.dump({"tenant": "slagelse", "teams": [{"id": "team-test", "name": ODD_NAME},
                                                       {"id": "team-formula", "name": FORMULA_NAME}]}, f)
        env.ctl_ok("import", extra)
        teams = [t for (t,) in sqlite3.connect(env.database).execute("SELECT id FROM teams ORDER BY id")]
        c("the teams are the demo's five and the two extra", len(teams) == 7 and "team-test" in teams, str(teams))
        names = dict(sqlite3.connect(env.database).execute("SELECT id, name FROM teams"))
        # team-formula gets no underretninger: an empty row.
        items = make_fixture([t for t in teams if t != "team-formula"])
        insert(env.database, items)
        now = ts(NOW)
        inp, per, total, weeks, overdue = expected_report(items, teams, now)
        harness.log(f"     fixture: {len(items)} underretninger, {len(inp)} in the period, "
                    f"{sum(len(i['events']) for i in items)} events, {len(overdue)} overdue deadlines")
        c("the fixture has odd and even counts, overdue and undecided deadlines",
          len({per[t]["vurdering"]["count"] % 2 for t in teams if per[t]["received"]}) == 2 and overdue
          and total["kvittering"]["decided"] < total["received"])

        args = ["report", "--from", FROM.isoformat(), "--to", TO.isoformat(), "--now", NOW]
        # -- JSON --
        rc, out, err = env.ctl(*args, "--format", "json")
        try:
            j = json.loads(out)
        except ValueError:
            j = None
        if not c("json: exit 0, one object", rc == 0 and isinstance(j, dict), out_of(rc, out, err)):
            return checks.done()
        c("json: the period and now", j["period"] == {"from": "2026-09-28", "to": "2026-11-08",
                                                     "from_at": "2026-09-27T22:00:00Z", "to_at": "2026-11-08T22:59:59Z"}
          and j["now"] == NOW and j["team"] is None and j["method"] == "nearest-rank", json.dumps(j["period"]))
        c("json: one entry per team, in id order, with the names exactly",
          [t["team"] for t in j["teams"]] == teams and all(t["name"] == names[t["team"]] for t in j["teams"]))
        for t in j["teams"]:
            c(f"json: {t['team']}: every figure as computed independently",
              same_figures(json_figures(t), per[t["team"]]), f"got {json_figures(t)}, want {per[t['team']]}")
        c("json: total as computed independently", same_figures(json_figures(j["total"]), total),
          f"got {json_figures(j['total'])}, want {total}")
        c("json: outside-office shares", all(abs(t["outside_office"]["share"] - per[t["team"]]["outside"] /
                                                 per[t["team"]]["received"]) < 1e-9
                                             for t in j["teams"] if per[t["team"]]["received"])
          and j["teams"][teams.index("team-formula")]["outside_office"]["share"] is None)
        c("json: received per ISO week", {w["week"]: w["received"] for w in j["weeks"]} == weeks
          and [w["week"] for w in j["weeks"]] == list(weeks), f"got {j['weeks']}, want {weeks}")
        c("json: the open overdue deadlines, soonest first",
          [(o["reference"], o["deadline"], o["team"], o["due"]) for o in j["overdue"]] ==
          [(r, k, t, tm(d)) for d, r, k, t in overdue], f"got {j['overdue'][:3]}, want {overdue[:3]}")
        c("json: the edges: 00:00:00 of the first day and 23:59:59 of the last day in, a second outside out",
          total["received"] == len(items) - 2)

        # -- CSV --
        # Bytes, not text mode: universal newlines would hide CR LF inside and at the end of rows.
        r = subprocess.run([env.varskoctl, "-c", env.conf, *args, "--format", "csv"], capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        rc, out, err = r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8", "replace")
        c("csv: exit 0", rc == 0, out_of(rc, out, err))
        rows = list(csv.reader(io.StringIO(out, newline="")))
        c("csv: one header row, one row per team, one total row", len(rows) == 1 + len(teams) + 1
          and rows[0][:4] == ["row", "team", "name", "received"] and rows[-1][:3] == ["total", "", "I alt"],
          str(rows[:1]))
        hdr = rows[0]

        def csv_fig(r):
            d = dict(zip(hdr, r))

            def opt(k):
                return int(d[k]) if d[k] != "" else None

            f = {"received": int(d["received"]), "outside": int(d["outside_office"]), "overdue": int(d["overdue"])}
            for k, w in (("vurdering", "within_24h"), ("kvittering", "within_6_hverdage")):
                f[k] = {"count": int(d[f"{k}_count"]), "median_seconds": opt(f"{k}_median_seconds"),
                        "p90_seconds": opt(f"{k}_p90_seconds"), "within": int(d[f"{k}_{w}"]),
                        "decided": int(d[f"{k}_decided"]), "share": float(d[f"{k}_share"]) if d[f"{k}_share"] else None}
            return f, d

        ok = True
        for r in rows[1:-1]:
            f, d = csv_fig(r)
            w = per.get(d["team"])
            if w is None or not all([f[k] == w[k] for k in ("received", "outside", "overdue")]) or any(
                    f[k][x] != w[k][x] for k in ("vurdering", "kvittering")
                    for x in ("count", "median_seconds", "p90_seconds", "within", "decided")) or any(
                    (f[k]["share"] is None) != (w[k]["share"] is None) or
                    (w[k]["share"] is not None and abs(f[k]["share"] - w[k]["share"]) > 5e-5)
                    for k in ("vurdering", "kvittering")):
                ok = False
                harness.log(f"     csv row {d['team']}: got {f}, want {w}")
        c("csv: every team row as computed independently", ok)
        f, _ = csv_fig(rows[-1])
        c("csv: the total row", f["received"] == total["received"] and f["overdue"] == total["overdue"]
          and f["vurdering"]["median_seconds"] == total["vurdering"]["median_seconds"]
          and f["kvittering"]["p90_seconds"] == total["kvittering"]["p90_seconds"], str(f))
        byteam = {r[1]: r for r in rows[1:-1]}
        c("csv: a name with comma, quotes and markup comes back exactly", byteam["team-test"][2] == ODD_NAME,
          byteam["team-test"][2])
        c("csv: a name that looks like a formula is defused with a leading apostrophe",
          byteam["team-formula"][2] == "'" + FORMULA_NAME, byteam["team-formula"][2])
        c("csv: CRLF line ends (RFC 4180)", out.endswith("\r\n") and out.count("\r\n") == len(rows))

        # -- HTML --
        rc, out, err = env.ctl(*args, "--format", "html")
        c("html: exit 0", rc == 0, out_of(rc, out, err))
        html_path = env.path("report.html")
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(out)
        c("html: names escaped, never raw", "Team &lt;b&gt;Test&lt;/b&gt; &amp; &quot;Co&quot;, æøå" in out
          and "<b>Test</b>" not in out)
        c("html: every overdue reference is listed", all(r in out for _d, r, _k, _t in overdue))
        c("html: Danish labels", all(s in out for s in ("Modtaget pr. uge", "Overholdelse af frister pr. team",
                                                         "Vurderet inden for 24 timer", "Åbne, overskredne frister",
                                                         "Uden for åbningstid", "I alt")))
        c("html: self-contained (no script, link, src, href, url() or @import)",
          not any(s in out for s in ("<script", "<link", "src=", "href=", "url(", "@import")))
        profile = env.path("chromium-profile")
        os.mkdir(profile, 0o700)
        shot = env.path("report.png")
        renv = {"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "HOME": env.tmp}
        rc, sout, serr = env.run([node, os.path.join(BROWSER_DIR, "screenshot.js"), "--html", html_path, "--out",
                                  shot, "--profile", profile, "--chromium", CHROMIUM], env=renv, timeout=120)
        try:
            info = json.loads(sout)
        except ValueError:
            info = None
        if c("chromium renders the page and takes a screenshot", rc == 0 and isinstance(info, dict),
             out_of(rc, sout, serr)):
            svgs = {s["id"]: s for s in info["svgs"]}
            for sid in ("chart-weeks", "chart-compliance"):
                s = svgs.get(sid, {})
                c(f"chromium: the {sid} chart is visible with a non-zero box",
                  s.get("visible") is True and s.get("width", 0) > 100 and s.get("height", 0) > 100, str(s))
            rows_shown = list(per.values()) + [total]
            want_bars = sum(1 for n in weeks.values() if n > 0) + sum(
                1 for f in rows_shown for k in ("vurdering", "kvittering") if f[k]["within"] > 0)
            c("chromium: every bar that should show is drawn (weeks with receipts, shares above 0)",
              info["bars"] == want_bars, f"{info['bars']} bars, want {want_bars}")
            c("chromium: the page asked for nothing outside itself", info["external_requests"] == [],
              str(info["external_requests"]))
            c("chromium: the title is the report's", info["title"].startswith("Ledelsestilsyn"), info["title"])
            size = png_size(shot)
            nbytes = os.path.getsize(shot) if os.path.exists(shot) else 0
            c("the screenshot is a PNG of a sane size", size is not None and size[0] >= 1000 and
              1000 <= size[1] <= 20000 and 20000 <= nbytes <= 20 * 1024 * 1024, f"{size}, {nbytes} bytes")
            harness.log(f"     screenshot {shot}: {size}, {nbytes} bytes")

        # -- one team --
        rc, out, err = env.ctl(*args, "--team", "team-ung", "--format", "json")
        try:
            jt = json.loads(out)
        except ValueError:
            jt = None
        c("--team team-ung: exit 0, only that team, and the total is that team's",
          rc == 0 and isinstance(jt, dict) and [t["team"] for t in jt["teams"]] == ["team-ung"]
          and jt["team"] == "team-ung" and same_figures(json_figures(jt["total"]), per["team-ung"])
          and all(o["team"] == "team-ung" for o in jt["overdue"]), out_of(rc, out, err))

        # -- bad input --
        base = ["report", "--format", "json"]
        bad = [
            (["--from", "2026-13-01", "--to", "2026-11-08"], "an unparseable --from", "bad_time", "--from"),
            (["--from", "2026-09-28", "--to", "8/11/2026"], "an unparseable --to", "bad_time", "--to"),
            (["--from", "2026-11-09", "--to", "2026-11-08"], "--from after --to", "bad_input", "after"),
            (["--from", "2026-09-28", "--to", "2026-11-08", "--team", "team-nowhere"], "an unknown team",
             "not_found", "team-nowhere"),
            (["--from", "2026-09-28", "--to", "2026-11-08", "--now", "2026-11-12T12:00:00"], "--now without offset",
             "bad_time", "--now"),
        ]
        for extra_args, what, name, word in bad:
            rc, out, err = env.ctl(*base, *extra_args)
            c(f"{what}: exit 1, a clear message", rc == 1 and out == "" and f"({name})" in err and word in err
              and err.startswith("varskoctl: report: "), out_of(rc, out, err))
        for extra_args, what in ((["--from", "2026-09-28", "--to", "2026-11-08", "--format", "xml"], "--format xml"),
                                 (["--to", "2026-11-08", "--format", "csv"], "no --from"),
                                 (["--from", "2026-09-28", "--to", "2026-11-08"], "no --format")):
            rc, out, err = env.ctl("report", *extra_args)
            c(f"{what}: exit 2 (usage)", rc == 2 and out == "" and "(usage)" in err, out_of(rc, out, err))
        rc, out, err = env.ctl("report", "--help")
        c("report --help: exit 0", rc == 0 and out.startswith("usage: varskoctl"), out_of(rc, out, err))
        rc, out, err = env.ctl("--help")
        c("varskoctl --help lists report", rc == 0 and "report --from" in out, out_of(rc, out, err))
    leder_checks(checks)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
