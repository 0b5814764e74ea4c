#!/usr/bin/python3
"""`varskoctl deadline` from the outside (issue 4, Must 2 and Bad input).

The issue's example (received Monday 23 November 2026 10:00 +01:00:
vurdering 2026-11-24T09:00:00Z, kvittering 2026-12-01T22:59:59Z), the same
instant written with other offsets, --investigation-started (4 months,
clamped to the month's end), and receipts around the clock changes, Easter
and Christmas compared with an independent computation here (Python's
zoneinfo for Europe/Copenhagen and the DOMAIN.md holidays from
flowlib.is_hverdag). Bad input: a time without an offset, unparseable or
impossible times, a year outside the calendar: exit 1 with a clear message
naming the option and the error; a missing --received or an unknown option:
exit 2. Nothing goes to stdout on an error. Needs no configuration.
"""

import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402


def expected(received_text, days=30):
    """The deadlines of DOMAIN.md computed independently of calendar.c."""
    tz = flowlib.copenhagen()
    r = datetime.datetime.fromisoformat(received_text.replace("Z", "+00:00"))
    t = r.timestamp()
    local = datetime.datetime.fromtimestamp(t, tz).date()

    def end_of(d):
        return datetime.datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=tz).timestamp()

    d, n = local, 0
    while n < 6:
        d += datetime.timedelta(days=1)
        if flowlib.is_hverdag(d):
            n += 1
    return {
        "received": flowlib.tm(int(t)),
        "vurdering_due": flowlib.tm(int(t) + 86400),
        "kvittering_due": flowlib.tm(int(end_of(d))),
        "tilbagemelding_due": flowlib.tm(int(end_of(local + datetime.timedelta(days=days)))),
    }


def main():
    checks = harness.Checks()
    c = checks.check
    ctl = harness.binary("gateway/varskoctl")
    env = harness.Env(gateway=False)
    with env:
        def run(*args):
            return env.run([ctl, "deadline", *args])

        rc, out, err = run("--received", "2026-11-23T10:00:00+01:00")
        try:
            j = json.loads(out)
        except ValueError:
            j = None
        c("the issue's example exits 0 with one JSON object", rc == 0 and isinstance(j, dict), out_of(rc, out, err))
        if isinstance(j, dict):
            c("vurdering_due is 2026-11-24T09:00:00Z", j.get("vurdering_due") == "2026-11-24T09:00:00Z", str(j))
            c("kvittering_due is 2026-12-01T22:59:59Z", j.get("kvittering_due") == "2026-12-01T22:59:59Z", str(j))
            c("received is given back in UTC", j.get("received") == "2026-11-23T09:00:00Z", str(j))
            c("no undersoegelse_due without --investigation-started", "undersoegelse_due" not in j, str(j))
            c("every time ends in Z", all(isinstance(v, str) and v.endswith("Z") for v in j.values()), str(j))
            c("one line, compact, sorted keys", out == json.dumps(j, sort_keys=True, separators=(",", ":")) + "\n",
              repr(out))

        # The same instant with other offsets, and with a fraction and lowercase t/z.
        for same in ("2026-11-23T09:00:00Z", "2026-11-23T04:00:00-05:00", "2026-11-23t09:00:00.999z"):
            rc2, out2, err2 = run("--received", same)
            c(f"{same} gives the same deadlines", rc2 == 0 and out2 == out, out_of(rc2, out2, err2))

        # --investigation-started: 4 calendar months, clamped (31 October -> 28 February), end of day.
        rc, out, err = run("--received", "2026-11-23T10:00:00+01:00", "--investigation-started",
                           "2026-10-31T09:00:00+01:00")
        try:
            j = json.loads(out)
        except ValueError:
            j = {}
        c("--investigation-started 31 October 2026: undersoegelse_due 2027-02-28T22:59:59Z",
          rc == 0 and j.get("undersoegelse_due") == "2027-02-28T22:59:59Z", out_of(rc, out, err))
        c("the other deadlines are unchanged", j.get("kvittering_due") == "2026-12-01T22:59:59Z")
        rc, out, err = run("--investigation-started=2027-06-15T12:00:00+02:00", "--received=2027-06-14T08:00:00Z")
        try:
            j = json.loads(out)
        except ValueError:
            j = {}
        c("--opt=VALUE form, summer: undersoegelse_due 2027-10-15T21:59:59Z (CEST)",
          rc == 0 and j.get("undersoegelse_due") == "2027-10-15T21:59:59Z", out_of(rc, out, err))

        # Independent comparison: clock changes, Easter, Christmas, midnight, Friday night, store bededag.
        cases = ["2026-03-28T10:00:00+01:00", "2026-03-29T01:59:59Z", "2026-10-24T23:30:00+02:00",
                 "2026-10-25T00:59:59Z", "2026-10-25T01:00:00Z", "2027-03-24T16:00:00+01:00",
                 "2026-12-23T23:59:59+01:00", "2026-12-24T00:00:00+01:00", "2026-11-27T23:59:00+01:00",
                 "2026-11-22T23:00:00Z", "2023-05-04T12:00:00+02:00", "2024-04-25T12:00:00+02:00",
                 "2025-12-31T15:00:00+01:00", "2028-06-01T10:00:00+02:00"]
        for t in cases:
            rc, out, err = run("--received", t)
            try:
                j = json.loads(out)
            except ValueError:
                j = None
            want = expected(t)
            c(f"received {t}: as computed independently", rc == 0 and j == want,
              f"got {j}, want {want}; {err.strip()[:200]}")
        rc, out, err = run("--received", "2026-11-23T10:00:00+01:00", "--tilbagemelding-days", "10")
        c("--tilbagemelding-days 10", rc == 0 and json.loads(out or "{}") == expected("2026-11-23T10:00:00+01:00", 10),
          out_of(rc, out, err))

        # Bad input: exit 1, the option and the error name on stderr, nothing on stdout.
        bad = [
            (["--received", "2026-11-23T10:00:00"], "no offset", "--received", "bad_time"),
            (["--received", "2026-11-23 10:00:00+01:00"], "a space for T", "--received", "bad_time"),
            (["--received", "yesterday"], "unparseable", "--received", "bad_time"),
            (["--received", ""], "empty", "--received", "bad_time"),
            (["--received", "2026-02-30T10:00:00Z"], "an impossible date", "--received", "bad_time"),
            (["--received", "2026-11-23T10:00:60Z"], "a leap second", "--received", "bad_time"),
            (["--received", "2026-11-23T10:00:00+01:00x"], "trailing text", "--received", "bad_time"),
            (["--received", "2100-01-05T10:00:00Z"], "a year outside the calendar", "--received", "bad_input"),
            (["--received", "2026-11-23T10:00:00Z", "--investigation-started", "2026-11-01"],
             "an investigation start without a time", "--investigation-started", "bad_time"),
            (["--received", "2026-11-23T10:00:00Z", "--tilbagemelding-days", "-1"], "negative days",
             "--tilbagemelding-days", "bad_input"),
        ]
        for args, what, opt, name in bad:
            rc, out, err = run(*args)
            c(f"{what}: exit 1 with a clear message naming {opt}", rc == 1 and out == ""
              and err.startswith("varskoctl: ") and f"({name})" in err and opt in err and err.count("\n") == 1,
              out_of(rc, out, err))
        rc, out, err = run("--received", "2026-11-23T10:00:00")
        c("no offset: the message says an offset is needed", "offset" in err, err)

        usage = [
            ([], "no --received"),
            (["--received"], "--received without a value"),
            (["--received", "2026-11-23T10:00:00Z", "--bogus"], "an unknown option"),
            (["--received", "2026-11-23T10:00:00Z", "--received", "2026-11-23T10:00:00Z"], "--received twice"),
            (["2026-11-23T10:00:00Z"], "a bare argument"),
        ]
        for args, what in usage:
            rc, out, err = run(*args)
            c(f"{what}: exit 2 (usage)", rc == 2 and out == "" and "(usage)" in err, out_of(rc, out, err))
        rc, out, err = run("--help")
        c("--help: exit 0, usage on stdout", rc == 0 and out.startswith("usage: varskoctl deadline"), out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
