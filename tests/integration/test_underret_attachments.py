#!/usr/bin/python3
"""An underretning's attachments (issue 10, item 5; PROTOCOL.md 17.9, 11.3): real varskod, Mosquitto, agent, CLI.

Anna (fagperson at Nordskovskolen) sends an underretning with two files
(`varsko underret send FIL --bilag elevplan.pdf --bilag noter.txt`, one of
5 MiB). They are encrypted on her device, uploaded bound to the
submission, and named with their keys inside the underretning's own
envelope.

  - team-slagelse's agent files the underretning and both files beside it
    (<REF>.bilag/1-elevplan.pdf, 2-noter.txt), byte for byte, before the
    record;
  - myndighed-lene fetches attachment 1 with `varsko myndighed bilag`: the
    same SHA-256;
  - Jonas (a fagperson at another school) is refused by varskod (raw
    blob_get: not_found), while Lene (the team's caseworker) gets the bytes;
  - sent again: the same receipt (duplicate), still two blobs;
  - a document that lists attachments itself, with --bilag, is refused
    before anything is sent;
  - the files' bytes are nowhere in varskod's database, WAL, log, or on
    the MQTT bus.
"""

import base64
import hashlib
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

TEAM = "team-slagelse"
ANNA, LENE, JONAS = "laerer-anna", "myndighed-lene", "laerer-jonas"


def main():
    checks = harness.Checks()
    c = checks.check
    tag = uuid.uuid4().hex[:16]
    marker = f"BILAG-UNDERRETNING-{tag}".encode()
    big = bytearray(os.urandom(5 * 1024 * 1024))
    for at in range(0, len(big) - len(marker), len(big) // 32):
        big[at:at + len(marker)] = marker
    big = bytes(big)
    small = ("Noter fra samtalen " + tag + "\n").encode() * 40
    with flowlib.Flow(agents=[TEAM], users=[ANNA, LENE, JONAS]) as fl:
        fl.setup()
        spy = flowlib.MqttSpy(fl, f"agent-{TEAM}", [f"varsko/{flowlib.TENANT}/team/{TEAM}/#"])
        try:
            pa, pb = fl.path("elevplan.pdf"), fl.path("noter.txt")
            with open(pa, "wb") as f:
                f.write(big)
            with open(pb, "wb") as f:
                f.write(small)
            doc = fl.doc(age=9, extra_text=f"({tag})", mutate=lambda d: d.pop("attachments", None))

            # -- a document that lists attachments itself is refused with --bilag --
            z32 = base64.b64encode(b"\0" * 32).decode()

            def with_list(d):
                d["attachments"] = [{"id": "att-1", "name": "x.pdf", "media_type": "application/pdf", "size": 10,
                                     "key": z32, "sha256": z32}]
            listed = fl.doc(age=9, extra_text="(listed)", mutate=with_list)
            rc, out, err = fl.cli_as(ANNA, "underret", "send", listed, "--bilag", pb)
            c("a document that lists attachments itself, with --bilag: refused, nothing sent",
              rc == 1 and "(kode: bad_input)" in err and fl.q("SELECT count(*) FROM underretninger") == [(0,)],
              out_of(rc, out, err))

            rc, rec, out, err = fl.send(ANNA, doc, "--bilag", pa, "--bilag", pb, timeout=120)
            ref = (rec or {}).get("reference")
            c("sent with two attachments: receipted", rc == 0 and ref, out_of(rc, out, err))
            blobs = fl.q("SELECT id, submission, complete, size FROM blobs ORDER BY size DESC")
            c("two blobs, complete, bound to the submission (not a thread)",
              len(blobs) == 2 and all(b[1] == rec.get("submission") and b[2] == 1 for b in blobs), str(blobs))

            # -- the agent files both beside the record --
            got = fl.wait_filed(TEAM, [ref], timeout=60)
            c("the agent files the underretning", got == {ref}, str(got))
            bdir = os.path.join(fl.case_dir(TEAM), f"{ref}.bilag")
            names = sorted(os.listdir(bdir)) if os.path.isdir(bdir) else []
            c("... and both attachments beside it", names == ["1-elevplan.pdf", "2-noter.txt"], str(names))
            if names == ["1-elevplan.pdf", "2-noter.txt"]:
                c("... byte for byte", open(os.path.join(bdir, names[0]), "rb").read() == big and
                  open(os.path.join(bdir, names[1]), "rb").read() == small)
                c("... private files", all((os.stat(os.path.join(bdir, n)).st_mode & 0o777) == 0o600 for n in names))

            # -- the caseworker fetches one --
            out_path = fl.path("hentet.pdf")
            rc, out, err = fl.cli_as(LENE, "myndighed", "bilag", ref, "1", "--out", out_path, timeout=120)
            same = os.path.exists(out_path) and hashlib.sha256(open(out_path, "rb").read()).digest() == \
                hashlib.sha256(big).digest()
            c("myndighed-lene fetches attachment 1 with the same SHA-256", rc == 0 and same, out_of(rc, out, err))
            rc, out, err = fl.cli_as(LENE, "myndighed", "bilag", ref, "3", "--out", fl.path("x"))
            c("attachment 3 does not exist: not_found", rc == 1 and "(kode: not_found)" in err, out_of(rc, out, err))

            # -- the outsider --
            big_blob = blobs[0][0] if blobs else "B-" + "A" * 26

            async def get(cl, dev):
                return await flowlib.request(cl, {"type": "blob_get", "id": "g", "blob": big_blob, "offset": 0})
            a = fl.raw_session(JONAS, get)
            c("varskod refuses jonas the blob (not_found)", a.get("code") == "not_found", str(a)[:200])
            a = fl.raw_session(LENE, get)
            c("... while the team's caseworker gets its bytes", a.get("type") == "blob_data" and
              len(base64.b64decode(a.get("data", ""))) > 0, str(a)[:200])

            # -- sent again: the same underretning --
            rc, rec2, out, err = fl.send(ANNA, doc, "--bilag", pa, "--bilag", pb, timeout=120)
            c("sent again: the same receipt, a duplicate", rc == 0 and (rec2 or {}).get("duplicate") is True and
              rec2.get("reference") == ref, out_of(rc, out, err))
            c("... and still two blobs", fl.q("SELECT count(*) FROM blobs") == [(2,)])

            # -- never in clear on the server --
            time.sleep(1)
            wire = b"".join(p for _t, p in spy.messages())
            c("the files' bytes are not on the MQTT bus", wire and marker not in wire and small[:40] not in wire)
        finally:
            spy.close()
        fl.stop_varskod()
        stored = flowlib.stored_bytes(fl)
        c("the files' bytes are not in varskod's database or WAL", stored and marker not in stored and
          small[:40] not in stored)
        c("... nor in its log", tag not in fl.read_log("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
