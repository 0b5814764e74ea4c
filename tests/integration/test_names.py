#!/usr/bin/python3
"""Names, not ids (issue 11, "Names, not ids"), with real varskod and the `varsko` CLI.

- `directory_get` (PROTOCOL.md 12.7) answers every logged-in device with
  the institutions and teams of the imported municipality document by name,
  each team's phone number and the akut team (Døgnvagt), and no person.
- The CLI keeps the answer in the home at every login and shows names:
  `underret send` ("sendt til Team Slagelse"), `underret list`, `underret
  status`, `myndighed inbox`; `--json` keeps the ids.
- Tables are as wide as their content: after a re-import gives
  Nordskovskolen a long name, the next login shows it whole and the column
  after it still starts two spaces after the longest cell.
- Without names in the home, an id is shown as it is.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

LONG = "Nordskovskolen – afdeling for specialundervisning og fritidsordning"


def width(s):
    return len(s)  # Python counts characters, as the CLI does (å is one)


def columns_line_up(out, head_cells, row_marker):
    """The header's cells start where the row's cells start: each column's start in the header line equals
    the start of the same cell in the row that contains row_marker (found by the header's offsets)."""
    lines = out.splitlines()
    head = next((ln for ln in lines if all(h in ln for h in head_cells)), None)
    row = next((ln for ln in lines if row_marker in ln), None)
    if head is None or row is None:
        return False, f"header or row missing in {out!r}"
    starts = [head.index(h) for h in head_cells]
    for a, b in zip(starts[1:], starts):
        # every cell of the row before the next column's start ends at least two spaces before it
        if row[a - 2:a] != "  " or row[a] == " ":
            return False, f"column at {a} does not start a cell in {row!r} (header {head!r})"
    return True, ""


def main():
    checks = harness.Checks()
    c = checks.check
    demo = harness.load_demo()
    with flowlib.Flow(agents=[], users=["laerer-anna", "myndighed-lene"]) as fl:
        fl.setup(org=False)

        # -- the frame --
        async def ask(cl, dev):
            return await cl.request({"type": "directory_get", "id": "d1"})
        ans = fl.raw_session("laerer-anna", ask)
        teams = {t["id"]: t for t in ans.get("teams", [])}
        insts = {i["id"]: i for i in ans.get("institutions", [])}
        c("directory_get is answered with directory (id echoed)", ans.get("type") == "directory" and
          ans.get("id") == "d1", str(ans)[:300])
        c("... every team of the document by name, with its phone number",
          {t["id"]: (t["name"], t.get("phone")) for t in demo["teams"]} ==
          {k: (v.get("name"), v.get("phone")) for k, v in teams.items()}, str(teams)[:400])
        c("... every institution by name and kind",
          {i["id"]: (i["name"], i["kind"]) for i in demo["institutions"]} ==
          {k: (v.get("name"), v.get("kind")) for k, v in insts.items()}, str(insts)[:400])
        c("... the akut team (the first rule that requires akut) is doegnvagt, and no person is named",
          ans.get("akut_team") == "doegnvagt" and "users" not in ans and
          not any(u["name"] in json.dumps(ans, ensure_ascii=False) for u in demo["users"]), str(ans)[:300])
        ans = fl.raw_session("myndighed-lene", ask)
        c("a myndighed's device gets it too", ans.get("type") == "directory" and len(ans.get("teams", [])) == 5,
          str(ans)[:200])

        # -- the CLI: names where people read, ids with --json --
        path = fl.doc(age=9, institution="inst-nordskovskolen")
        rc, out, err = fl.cli_as("laerer-anna", "underret", "send", path)
        c("underret send says 'sendt til Team Slagelse', not the id",
          rc == 0 and "sendt til Team Slagelse." in out and "team-slagelse" not in out, out_of(rc, out, err))
        ref = next((w for w in out.replace(".", " ").split() if w.startswith("U-")), None)

        rc, out, err = fl.cli_as("laerer-anna", "underret", "list")
        c("underret list shows the team by name", rc == 0 and "Team Slagelse" in out and "team-slagelse" not in out,
          out_of(rc, out, err))
        ok, why = columns_line_up(out, ["Reference", "Modtaget", "Team", "Status"], ref or "U-")
        c("... its columns line up with the header", ok, why)
        rc, j, out, err = fl.cli_json("laerer-anna", "underret", "list")
        c("underret list --json keeps the ids", rc == 0 and j and j["items"][0].get("team") == "team-slagelse" and
          j["items"][0].get("institution") == "inst-nordskovskolen", out_of(rc, out, err))

        rc, out, err = fl.cli_as("laerer-anna", "underret", "status", ref or "U-2026-000001")
        c("underret status names the institution", rc == 0 and "institution Nordskovskolen" in out and
          "inst-nordskovskolen" not in out, out_of(rc, out, err))

        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "inbox")
        c("myndighed inbox shows the institution by name", rc == 0 and "Nordskovskolen" in out and
          "inst-nordskovskolen" not in out, out_of(rc, out, err))
        ok, why = columns_line_up(out, ["Vurderes senest", "Reference", "Akut", "Alder", "Institution", "Status"],
                                  ref or "U-")
        c("... its columns line up with the header", ok, why)

        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "show", ref or "U-2026-000001")
        c("myndighed show names the institution with its id",
          rc == 0 and "Institution:       Nordskovskolen (inst-nordskovskolen)" in out, out_of(rc, out, err)[:300])

        rc, out, err = fl.cli_as("myndighed-lene", "whoami")
        c("whoami shows the team's name with its id", rc == 0 and "Team Slagelse (team-slagelse)" in out,
          out_of(rc, out, err))

        # -- a longer name after a re-import: the next login has it, and the table widens --
        sup = fl.path("rename.json")
        inst = dict(next(i for i in demo["institutions"] if i["id"] == "inst-nordskovskolen"), name=LONG)
        with open(sup, "w", encoding="utf-8") as f:
            json.dump({"tenant": flowlib.TENANT, "institutions": [inst]}, f, ensure_ascii=False)
        fl.ctl_ok("import", sup)
        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "inbox")
        row = next((ln for ln in out.splitlines() if ref and ref in ln), "")
        c("after a re-import the next login shows the new, long name whole", rc == 0 and LONG in row,
          out_of(rc, out, err))
        ok, why = columns_line_up(out, ["Vurderes senest", "Reference", "Akut", "Alder", "Institution", "Status"],
                                  ref or "U-")
        head = next((ln for ln in out.splitlines() if "Institution" in ln), "")
        c("... the Status column starts two spaces after the long name (nothing runs into it)",
          ok and head.index("Status") == head.index("Institution") + width(LONG) + 2, why or head)
        with open(os.path.join(fl.homes["myndighed-lene"], "directory.json"), encoding="utf-8") as f:
            kept = f.read()
        c("the home keeps the refreshed directory", LONG in kept, kept[:200])

        # -- a home that cannot keep the names (directory.json is in the way): the ids, and the command works --
        home = fl.homes["laerer-anna"]
        os.unlink(os.path.join(home, "directory.json"))
        os.mkdir(os.path.join(home, "directory.json"), 0o700)
        rc, out, err = fl.cli_as("laerer-anna", "underret", "list")
        c("without names an id is shown as it is, and the list still works",
          rc == 0 and "team-slagelse" in out and "Team Slagelse" not in out, out_of(rc, out, err))
        os.rmdir(os.path.join(home, "directory.json"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
