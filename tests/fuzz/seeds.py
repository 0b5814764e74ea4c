#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets route, import, msg, blob,
manifest and answer (tests/fuzz/corpus/NAME/seed-*) from
deploy/demo/slagelse.json and proto/vectors/ (blob.json, flow.json,
chain.json), plus hand-made edge cases. Deterministic; run with
Debian's /usr/bin/python3 after changing either file. Other files in the
corpus directories (crashes kept as regression inputs, "crash-*") stay.
The older targets' seeds come from proto/vectors/gen_corpus.py.
"""

import base64
import copy
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "proto", "vectors"))
import gen_corpus  # noqa: E402  (write_all: seed-<sha256> files, old seeds replaced)


def write_all(sub, items):
    """gen_corpus.py's, which takes bytes; texts here are UTF-8."""
    return gen_corpus.write_all(sub, [i.encode("utf-8") if isinstance(i, str) else i for i in items])


def dumps(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


with open(os.path.join(ROOT, "deploy", "demo", "slagelse.json"), "rb") as f:
    DEMO_TEXT = f.read()
DEMO = json.loads(DEMO_TEXT)

# ---- route: the routing part of the municipality document ----
route = [DEMO_TEXT, dumps({"routing": DEMO["routing"], "office_hours": DEMO["office_hours"]})]
route += [dumps({"routing": DEMO["routing"][i:]}) for i in range(len(DEMO["routing"]))]
route.append(dumps({"routing": [{"if": {}, "team": "t%d" % i} for i in range(64)]}))
route.append(dumps({"routing": [{"if": {}, "team": "t%d" % i} for i in range(65)]}))
route.append(dumps({"routing": [{"if": {"age_group": ["0-5", "6-13", "14-17", "18-22"],
                                        "district": ["Korsør", "Slagelse"], "institution": ["inst-a", "inst-b"],
                                        "akut": False, "handicap": True, "outside_office_hours": False},
                                 "team": "t"}],
                    "office_hours": {"time_zone": "Europe/Copenhagen", "mon": "00:00-24:00", "sat": "10:00-14:00"}}))
route += ['{"routing":[{"if":{"age_group":["6-13","6-13"]},"team":"t"}]}',
          '{"routing":[{"if":{"outside_office_hours":true},"team":"t"}]}',
          '{"routing":[],"routing":[]}', '[]', '{', '',
          '{"office_hours":{"time_zone":"Europe/Copenhagen","mon":"15:30-08:00"},"routing":[{"if":{},"team":"t"}]}']

# ---- import: whole municipality documents ----
imp = [DEMO_TEXT]
d = copy.deepcopy(DEMO)
d["routing"] = d["routing"][-1:]
imp.append(dumps(d))
d = copy.deepcopy(DEMO)
del d["office_hours"]
d["routing"] = [r for r in d["routing"] if "outside_office_hours" not in r["if"]]
imp.append(dumps(d))
d = copy.deepcopy(DEMO)
d["users"] = d["users"][:2]
d["raadgivere"] = []
imp.append(dumps(d))
for key in ("institutions", "teams", "users", "raadgivere", "routing", "office_hours"):
    d = copy.deepcopy(DEMO)
    del d[key]
    imp.append(dumps(d))
imp.append(dumps({"tenant": DEMO["tenant"], "routing": [{"if": {"age_group": ["0-5", "0-5"]},
                                                         "team": "team-ung"}, {"if": {}, "team": "team-slagelse"}]}))
imp.append(dumps({"tenant": DEMO["tenant"], "routing": [{"if": {}, "team": "team-slagelse"}] * 65}))
imp.append(dumps({"tenant": DEMO["tenant"], "office_hours": {"time_zone": "Europe/Copenhagen"}}))
imp += ['{"tenant":"slagelse"}', '{"tenant":"slagelse","tenant":"x"}', '[]', '', '{"tenant":"slagelse","x":1}']

# ---- msg: decrypted message plaintexts ----
key = base64.b64encode(bytes(range(32))).decode()
sha = base64.b64encode(hashlib.sha256(b"").digest()).decode()
fobj = {"blob": "B-AAAAAAAAAAAAAAAAAAAAAAAAAA", "key": key, "media_type": "application/pdf",
        "name": "notat.pdf", "sha256": sha, "size": 0}
msg = [dumps({"text": "Tak, vi har modtaget underretningen."}), dumps({"text": ""}),
       dumps({"text": "Linje 1\nLinje 2\tfane"}), '{"text":"\\u0001"}', '{"text":"a","text":"b"}',
       dumps({"text": "Hej", "title": "Om Anna"}), dumps({"text": "Hej", "title": ""}),
       dumps({"text": "Hej", "title": "Om\nAnna"}), dumps({"text": "Hej", "x": 1}),
       dumps({"file": fobj}), dumps({"file": fobj, "text": "Se vedhæftet"}),
       dumps({"file": dict(fobj, name="..")}), dumps({"file": dict(fobj, size=1073741825)}),
       dumps({"file": dict(fobj, media_type="text/plain/x")}),
       dumps({"reference": "U-2026-000001"}), dumps({"reference": "U-26-1"}),
       '{"text":"' + "x" * 65537 + '"}', '{"text":"\xc3\x28"}'.encode("latin-1"), '', '[]', '{']

# ---- blob: attachment ciphertexts under the key of blob.json ----
with open(os.path.join(ROOT, "proto", "vectors", "blob.json"), encoding="utf-8") as f:
    BLOB = json.load(f)
assert base64.b64decode(BLOB["key"]) == bytes(range(32)), "fuzz-blob.c's key is blob.json's"
blob = [base64.b64decode(g["ciphertext"]) for g in BLOB["good"] if g["n"] <= 5]
for ct in list(blob):
    blob += [ct[:-1], ct[:24], ct + b"\0", ct[:30] + bytes([ct[30] ^ 1]) + ct[31:]]
blob.append(b"")

# ---- manifest: manifest.json of a backup ----
man = {"format": "varsko-backup", "format_version": 1, "created": "2026-11-23T09:00:00Z",
       "made_by": "varskoctl 0.1.0", "source": "/var/lib/varsko/varsko.db", "schema_version": 10,
       "database": {"file": "varsko.db", "bytes": 4096, "sha256": "ab" * 32},
       "audit": {"entries": 3, "head_hash": "cd" * 32}, "underretninger": 2, "events": 5}
manifest = [json.dumps(man, indent=2, sort_keys=True) + "\n",
            dumps(dict(man, underretninger=None, events=None, schema_version=1))]
for k in man:
    m = dict(man)
    del m[k]
    manifest.append(dumps(m))
manifest += [dumps(dict(man, format_version=2)), dumps(dict(man, created="2026-11-23 09:00")),
             dumps(dict(man, made_by="x" * 64)), dumps(dict(man, source="y" * 5000)),
             dumps(dict(man, database=dict(man["database"], sha256="AB" * 32))),
             dumps(dict(man, database=dict(man["database"], bytes=-1))), "{", "", "[]"]

# ---- answer: a receipt, a roster, a user chain as varskod answers them ----
with open(os.path.join(ROOT, "proto", "vectors", "flow.json"), encoding="utf-8") as f:
    FLOW = json.load(f)
with open(os.path.join(ROOT, "proto", "vectors", "chain.json"), encoding="utf-8") as f:
    CHAIN = json.load(f)
receipt = FLOW["receipt"]["json"]
roster = json.loads(FLOW["roster"]["json"])
links = [json.loads(x["json"]) for x in CHAIN["user"]["links"]]
answer = [receipt, receipt.replace('"U-2026-000001"', '"U-2026-000002"'), receipt[:-1], receipt + receipt,
          FLOW["roster"]["json"], dumps({"roster": roster}), dumps(dict(roster, team="team-other")),
          dumps(dict(roster, devices=roster["devices"][:1])),
          dumps({"links": links, "certs": [], "user": CHAIN["user"]["user"]}),
          dumps({"links": links[:1], "certs": [json.loads(FLOW["sender_cert"])], "user": CHAIN["user"]["user"]}),
          dumps({"links": [], "certs": []}), dumps({"links": {}, "certs": []}), "{}", "[]", ""]

for name, items in (("route", route), ("import", imp), ("msg", msg), ("blob", blob), ("manifest", manifest),
                    ("answer", answer)):
    print(name, write_all(name, items))
