#!/usr/bin/python3
"""No line the staff CLI shows a person is an untranslated code alone (issue 11, "Done means").

Every integration test that runs the `varsko` CLI through harness.Env.cli
leaves what it wrote on stderr in <build>/cli-transcripts/<test>.txt. This
test, registered last, reads all of them and fails on a line that:
  - is the old "varsko: <code>: <detail>" form (an English code first);
  - is a code name alone, or "varsko: <code>" alone;
  - is an English usage message ("varsko: usage: ...").
Every error line must be Danish text; the stable code may follow it as
"(kode: <name>)". Skipped when no transcript exists (the test alone).
"""

import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CODES = set(re.findall(r'X\(\w+, -?\d+, "([a-z_]+)"',
                       open(os.path.join(harness.SOURCE_ROOT, "proto", "include", "varsko", "err.h")).read()))


def bad_line(line):
    s = line.strip()
    m = re.match(r"^varsko: ([a-z_]+): ", s)
    if m and m.group(1) in CODES:
        return "an English code first"
    if s in CODES or (s.startswith("varsko: ") and s[8:].strip() in CODES):
        return "a code alone"
    if s.startswith("varsko: usage:"):
        return "an English usage message"
    return None


def main():
    checks = harness.Checks()
    c = checks.check
    files = sorted(glob.glob(os.path.join(harness.TRANSCRIPTS, "*.txt")))
    if not files:
        harness.skip("no CLI transcripts: run the integration suite first")
    lines = bad = 0
    found = []
    for path in files:
        for ln in open(path, encoding="utf-8", errors="replace").read().splitlines():
            if ln.startswith("### "):
                continue
            lines += 1
            why = bad_line(ln)
            if why:
                bad += 1
                found.append(f"{os.path.basename(path)}: {why}: {ln[:160]}")
    harness.log(f"     {len(files)} transcripts, {lines} lines on the CLI's stderr")
    c(f"no line of the CLI's stderr in {len(files)} tests is a bare or English code", bad == 0,
      "\n".join(found[:12]))
    c("the transcripts hold the CLI's errors (the suite ran the CLI into refusals)",
      any("(kode: " in open(p, encoding="utf-8", errors="replace").read() for p in files))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
