#!/usr/bin/python3
"""Document errors a writer can act on (issue 11, "Documents"), through the real `varsko` CLI.

`varsko underret send` checks the document before anything else (a bad one
never leaves the computer, so no server is needed here). For each kind of
mistake the test checks the Danish line that names the exact field and
what to write, the stable problem name for support, exit status 1, and
that no value of the document is echoed:

  - malformed JSON: the line and the column;
  - no birth date: child.birth_date or child.cpr, with both forms;
  - an unknown field: the field itself;
  - a date in the wrong form: the right form with an example;
  - several mistakes at once: all of them, in the document's order;
  - `varsko underret skabelon`: valid JSON with every field, which cannot be
    sent before it is filled in.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EXAMPLE = os.path.join(harness.SOURCE_ROOT, "deploy", "demo", "underretning-example.json")


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:200]!r} stderr={err.strip()[:700]!r}"


def main():
    checks = harness.Checks()
    c = checks.check
    with harness.Env(gateway=False) as env:
        home = env.path("home")  # never used: the document is refused before the home is opened
        example = json.load(open(EXAMPLE, encoding="utf-8"))

        def send_text(name, text):
            path = env.path(name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return env.cli(home, "underret", "send", path)

        def send_doc(name, mutate):
            doc = json.loads(json.dumps(example))
            mutate(doc)
            return send_text(name, json.dumps(doc, ensure_ascii=False, indent=2))

        def refused(rc, err):
            return rc == 1 and "Underretningen er ikke sendt" in err and "(kode: " in err

        # Malformed JSON: where it stopped.
        text = json.dumps(example, ensure_ascii=False, indent=2).replace('"akut": false', '"akut": fals', 1)
        line = next(i for i, ln in enumerate(text.splitlines(), 1) if '"akut": fals' in ln)
        rc, out, err = send_text("broken.json", text)
        c(f"malformed JSON: exit 1 and the line ({line}) and column of the mistake",
          refused(rc, err) and f"linje {line}, kolonne" in err and "(bad_json)" in err, out_of(rc, out, err))

        # No birth date and no CPR number: both fields named, with their forms.
        rc, out, err = send_doc("nobirth.json", lambda d: d["child"].pop("birth_date"))
        c("no birth date: names child.birth_date and child.cpr with both forms",
          refused(rc, err) and "child.cpr mangler" in err and "child.birth_date" in err and "ÅÅÅÅ-MM-DD" in err
          and "DDMMÅÅ-XXXX" in err and "(missing)" in err, out_of(rc, out, err))

        # An unknown field: itself.
        rc, out, err = send_doc("unknown.json", lambda d: d["child"].__setitem__("foedselsdato", "2017-03-14"))
        c("an unknown field names itself (child.foedselsdato)",
          refused(rc, err) and "child.foedselsdato er ikke et felt" in err and "(unknown_field)" in err
          and "2017-03-14" not in err, out_of(rc, out, err))

        # A date in the wrong form: the right form with an example, never the value.
        rc, out, err = send_doc("date.json", lambda d: d["child"].__setitem__("birth_date", "14.03.2017"))
        c("a date in the wrong form: the right form with an example, and not the value written",
          refused(rc, err) and "child.birth_date" in err and "ÅÅÅÅ-MM-DD, fx" in err and "14.03.2017" not in err
          and "(bad_value)" in err, out_of(rc, out, err))

        # Several at once, in the document's order.
        def many(d):
            d["child"].pop("birth_date")
            d["notifier"]["name"] = 7
            d.pop("concern")
            d["akut"] = "ja"
            d["parents"][1]["phone"] = "x"
        rc, out, err = send_doc("many.json", many)
        order = ["child.cpr", "parents[1].phone", "notifier.name", "concern", "akut"]
        pos = [err.find(f"  - {p} ") for p in order]
        c("five mistakes: all five listed, in the document's order, with the count",
          refused(rc, err) and "(5 fejl)" in err and all(p >= 0 for p in pos) and pos == sorted(pos),
          f"{dict(zip(order, pos))} {out_of(rc, out, err)}")
        c("... a boolean written as text is told to be true or false",
          "akut har forkert type. Skriv det som true eller false" in err, out_of(rc, out, err))

        # The template.
        rc, out, err = env.cli(home, "underret", "skabelon")
        try:
            tmpl = json.loads(out)
        except ValueError:
            tmpl = None
        c("underret skabelon prints valid JSON with every field of the example (but attachments)",
          rc == 0 and isinstance(tmpl, dict) and set(tmpl) == set(example) - {"attachments"}, out_of(rc, out, err))
        rc, out, err = send_text("template.json", json.dumps(tmpl or {}, ensure_ascii=False))
        c("an unfilled template is not sendable (the institution and the date are placeholders)",
          refused(rc, err) and "institution" in err and "child.birth_date" in err, out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
