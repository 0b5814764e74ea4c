#!/usr/bin/python3
"""From consultation to underretning (issue 10, item 6; PROTOCOL.md 17.10): real varskod and the C CLI.

Anna (fagperson at Nordskovskolen) asks Sofie (the rådgiver assigned there)
in an anonymous thread; they write three messages. Anna then makes an
underretning from the thread:

  - `varsko underret skabelon --traad T --medtag 3` prints a template with the
    thread's institution and Anna's name, and in "observations" the text of
    message 3 only (what she chose; nothing else is carried over), and says
    that the child's identity goes only into the underretning;
  - filled in and sent with `varsko underret send FIL --traad T`, it is
    receipted as any underretning, and the thread gets one message of kind
    underretning_ref with the reference, signed by Anna's device;
  - Sofie reads the reference in the thread, verified like every message,
    and cannot open the underretning (she is not its team);
  - sent again, the underretning is a duplicate (the same receipt) and the
    thread still has one reference message (the same seq);
  - the thread's stored envelopes carry neither the child's name nor the
    underretning's concern.
"""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

INST = "inst-nordskovskolen"
ANNA, SOFIE = "laerer-anna", "raadgiver-sofie"


def main():
    checks = harness.Checks()
    c = checks.check
    tag = uuid.uuid4().hex[:12]
    with flowlib.Flow(agents=["team-slagelse"], users=[ANNA, SOFIE, "myndighed-lene"]) as fl:
        fl.setup()
        rc, j, out, err = fl.cli_json(ANNA, "thread", "new", "--institution", INST, "--title", "Sparring",
                                      "--anonym", "--besked", f"En elev i 3.b virker trist ({tag}-1)")
        thread = (j or {}).get("thread", "")
        if not c("anna opens an anonymous thread", rc == 0 and thread.startswith("T-"), out_of(rc, out, err)):
            return checks.done()
        m3 = f"Eleven sagde i dag: de voksne råber hele natten ({tag}-3)"
        for who, text in ((SOFIE, f"Skriv ned, hvad du har set ({tag}-2)"), (ANNA, m3)):
            rc, out, err = fl.cli_as(who, "thread", "send", thread, text)
            c(f"{who} writes in the thread", rc == 0, out_of(rc, out, err))

        # -- the template from the thread --
        rc, out, err = fl.cli_as(ANNA, "underret", "skabelon", "--traad", thread, "--medtag", "3")
        try:
            tpl = json.loads(out)
        except ValueError:
            tpl = {}
        c("the template is JSON with the thread's institution and anna's name",
          rc == 0 and tpl.get("institution") == INST and tpl.get("notifier", {}).get("name") == "Anna Mikkelsen",
          out_of(rc, out, err))
        obs = tpl.get("observations", "")
        c("... and only the chosen message in observations", m3 in obs and f"{tag}-1" not in out and
          f"{tag}-2" not in out, obs[:300])
        c("... and says that the child's identity goes only into the underretning",
          "anonym sparring" in err and "aldrig i tråden" in err and f"--traad {thread}" in err, err)
        rc, out, err = fl.cli_as(ANNA, "underret", "skabelon", "--traad", thread, "--medtag", "9")
        c("a message the thread does not have: usage (exit 2)", rc == 2, out_of(rc, out, err))

        # -- filled in and sent from the thread --
        child = f"Barn Fiktivsen {tag}"
        concern = f"Bekymring om trivsel ({tag}-concern)"
        with open(fl.doc(age=9), encoding="utf-8") as f:
            doc = json.load(f)
        doc.update({k: v for k, v in tpl.items() if k in ("institution", "notifier", "observations")})
        doc["child"]["name"] = child
        doc["concern"] = concern
        path = fl.path("fra-traad.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        rc, rec, out, err = fl.send(ANNA, path, "--traad", thread)
        ref = (rec or {}).get("reference")
        c("sent with --traad: receipted, and the thread got the reference as message 4",
          rc == 0 and ref and rec.get("thread") == thread and rec.get("thread_seq") == 4, out_of(rc, out, err))
        rc, j, out, err = fl.cli_json(SOFIE, "thread", "read", thread)
        last = ((j or {}).get("messages") or [{}])[-1]
        c("sofie sees a verified reference message from anna, and nothing of the underretning",
          rc == 0 and last.get("seq") == 4 and last.get("kind") == "underretning_ref" and
          last.get("reference") == ref and last.get("user") == ANNA and "text" not in last and
          child not in out and concern not in out, out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "thread", "read", thread)
        c("... and her terminal says it in Danish", rc == 0 and f"Underretning {ref} er sendt fra denne tråd" in out,
          out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "underret", "show", ref)
        c("sofie cannot open the underretning", rc == 1 and child not in out, out_of(rc, out, err))
        rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "show", ref)
        c("the team's caseworker can, with the child's name", rc == 0 and child in out, out_of(rc, out, err))

        # -- sent again: one underretning, one reference --
        rc, rec, out, err = fl.send(ANNA, path, "--traad", thread)
        c("sent again: the same receipt (duplicate) and the same reference message",
          rc == 0 and (rec or {}).get("duplicate") is True and rec.get("reference") == ref and
          rec.get("thread_seq") == 4, out_of(rc, out, err))
        c("the thread holds four messages", fl.q("SELECT count(*) FROM thread_messages WHERE thread = ?", thread) ==
          [(4,)])
        stored = "".join(r[0] for r in fl.q("SELECT envelope FROM thread_messages WHERE thread = ?", thread))
        c("no thread envelope holds the child's name or the concern in clear",
          child not in stored and concern not in stored and tag not in stored)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
