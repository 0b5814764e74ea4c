#!/usr/bin/python3
"""Write the fuzz seed corpus tests/fuzz/corpus/flow/ from proto/vectors/flow.json.

Valid flow frames and MQTT payloads of every type, built from the real signed
objects of the vectors (so the fuzzer starts on the success paths of the
nested parsers and verifiers), the bare objects, and invalid variants
(duplicate and unknown keys, wrong JSON types, a push with an id, an unknown
type, truncation). Deterministic; run after flow-gen.py with Debian's
/usr/bin/python3:

    /usr/bin/python3 proto/vectors/flow-corpus.py
"""

import base64
import hashlib
import json
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "flow")


def compact(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main():
    with open(os.path.join(HERE, "flow.json"), encoding="utf-8") as f:
        v = json.load(f)
    roster = json.loads(v["roster"]["json"])
    receipt = json.loads(v["receipt"]["json"])
    env = json.loads(v["receipt"]["envelope"])
    envs = [json.loads(h["envelope"]) for h in v["envelope_hashes"]]
    gw = json.loads(v["gateway_cert"])
    sender = json.loads(v["sender_cert"])
    events = {e["name"]: json.loads(e["json"]) for e in v["events"]}
    certs = {c["role"]: c for c in roster["devices"]}
    ref = receipt["reference"]
    header = {"age_group": "6-13", "akut": False, "created": "2026-11-23T08:59:00Z", "handicap": False,
              "institution": "inst-nordskovskolen", "submission": receipt["submission"]}
    item = {"age_group": "6-13", "akut": False, "handicap": False, "institution": receipt["institution"],
            "kvittering_due": receipt["kvittering_due"], "received": receipt["received"], "reference": ref,
            "state": "vurderet", "team": receipt["team"], "vurdering_due": receipt["vurdering_due"]}

    frames = [
        {"type": "route", "id": "r1", "header": header},
        {"type": "submit", "id": "s1", "envelope": env},
        {"type": "event", "id": "e1", "event": events["vurderet"]},
        {"type": "event", "id": "e2", "event": events["kvitteret"], "envelope": envs[1]},
        {"type": "event", "event": events["omdirigeret"], "envelope": envs[2]},
        {"type": "inbox", "id": "i"},
        {"type": "mine"},
        {"type": "fetch", "id": "f", "reference": ref},
        {"type": "status", "reference": ref},
        {"type": "notifier_devices", "reference": ref},
        {"type": "roster", "team": "team-oest"},
        {"type": "overview", "id": "o"},
        {"type": "routed", "id": "r1", "team": roster["team"], "roster": roster},
        {"type": "receipt", "id": "s1", "receipt": receipt, "duplicate": False},
        {"type": "event_ok", "id": "e1", "seq": 42},
        {"type": "items", "items": [item, dict(item, state="modtaget_gateway", akut=True)]},
        {"type": "underretning", "id": "f", "reference": ref, "envelope": env, "receipt": receipt,
         "sender_cert": sender, "gateway_cert": gw},
        {"type": "timeline", "receipt": receipt, "gateway_cert": gw, "sender_cert": sender, "events": [
            {"event": events["leveret"], "cert": gw},
            {"event": events["modtaget"], "cert": certs["agent"]},
            {"event": events["vurderet"], "cert": certs["myndighed"]},
            {"event": events["kvitteret"], "cert": certs["myndighed"], "envelope": envs[1]}]},
        {"type": "devices", "certs": [sender]},
        {"type": "deadlines", "items": [{"reference": ref, "kind": "kvittering", "due": receipt["kvittering_due"],
                                         "state": "open"}]},
        {"type": "pushed", "reference": ref, "event": events["tilbagemelding"], "cert": certs["myndighed"],
         "envelope": envs[1]},
        {"type": "new_underretning", "item": item},
        {"type": "frist", "reference": ref, "kind": "warning", "deadline": "vurdering",
         "due": receipt["vurdering_due"]},
    ]
    mqtt = [
        {"type": "underretning", "reference": ref, "envelope": env, "receipt": receipt, "sender_cert": sender,
         "gateway_cert": gw},
        {"type": "event", "event": events["modtaget"], "cert": certs["agent"]},
        {"type": "frist", "reference": ref, "kind": "escalation", "deadline": "kvittering",
         "due": receipt["kvittering_due"]},
    ]
    # The key model's frames (PROTOCOL.md 15), with real links, sets and boxes from chain.json and keybox.json.
    with open(os.path.join(HERE, "chain.json"), encoding="utf-8") as f:
        ch = json.load(f)
    with open(os.path.join(HERE, "keybox.json"), encoding="utf-8") as f:
        kb = json.load(f)
    links = [json.loads(l["json"]) for l in ch["user"]["links"]]
    uset = json.loads(next(x for x in kb["sets"] if x["owner"].startswith("user:"))["json"])
    rbox = json.loads(kb["recovery"]["json"])
    b32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    approval = {"approval": "a-0123456789abcdef", "device": sender["device"], "cert": sender, "commit": b32,
                "created": "2026-11-23T09:00:00Z", "expires": "2026-11-23T09:10:00Z"}
    frames += [
        {"type": "chain_get", "id": "c", "kind": "user", "chain": ch["user"]["user"]},
        {"type": "chain_append", "kind": "user", "chain": ch["user"]["user"], "link": links[-1]},
        {"type": "chain", "id": "c", "kind": "user", "chain": ch["user"]["user"], "links": links, "certs": [sender],
         "revoked": []},
        {"type": "chain_ok", "kind": "user", "chain": ch["user"]["user"], "seq": len(links)},
        {"type": "keys_get", "owner": uset["owner"]},
        {"type": "keys_put", "id": "k", "set": uset},
        {"type": "keys", "owner": uset["owner"], "sets": [uset]},
        {"type": "keys_ok", "owner": uset["owner"], "generation": uset["generation"]},
        {"type": "recovery_get", "id": "r"},
        {"type": "recovery_put", "box": rbox},
        {"type": "recovery", "box": rbox, "tries": 3},
        {"type": "recovery_ok", "id": "r"},
        {"type": "approve_request", "commit": b32},
        {"type": "approve_list"},
        {"type": "approve_offer", "approval": approval["approval"], "nonce": b32},
        {"type": "approve_reveal", "approval": approval["approval"], "nonce": b32},
        {"type": "approve_get", "approval": approval["approval"]},
        dict(approval, type="approval", old_device=sender["device"], nonce_old=b32),
        {"type": "approvals", "items": [approval]},
    ]
    # Consultation threads (PROTOCOL.md 17.3), with real thread links from chain.json and marks from thread.json.
    with open(os.path.join(HERE, "thread.json"), encoding="utf-8") as f:
        th = json.load(f)
    tlinks = [json.loads(l["json"]) for l in ch["threads"][0]["links"]]
    tid = ch["threads"][0]["thread"]
    rc = th["receipts"][0]
    mark = {"device": rc["device"], "envelope_hash": base64.b64encode(bytes.fromhex(rc["envelope_hash"])).decode(),
            "kind": rc["kind"], "message": rc["message"], "seq": rc["seq"],
            "sig": base64.b64encode(bytes.fromhex(rc["sig"])).decode(), "thread": rc["thread"],
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rc["time"])), "user": rc["user"]}
    msg = {"seq": rc["seq"], "envelope": env, "received": receipt["received"], "sender_cert": sender, "marks": [mark]}
    thread_frames = [
        {"type": "thread_create", "id": "t1", "links": tlinks[:3]},
        {"type": "thread_get", "id": "t2", "thread": tid},
        {"type": "thread_append", "thread": tid, "link": tlinks[3]},
        {"type": "thread_send", "id": "t3", "thread": rc["thread"], "envelope": env},
        {"type": "thread_list"},
        {"type": "thread_sync", "thread": tid, "after": 0},
        {"type": "thread_sync", "id": "t4", "thread": tid, "before": 9, "limit": 100},
        {"type": "thread_mark", "id": "t5", "mark": mark},
        {"type": "thread_ok", "id": "t1", "thread": tid, "version": 3},
        {"type": "thread", "id": "t2", "thread": tid, "links": tlinks},
        {"type": "thread_sent", "id": "t3", "thread": rc["thread"], "message": rc["message"], "seq": 1,
         "received": receipt["received"], "duplicate": False},
        {"type": "threads", "threads": [{"thread": tid, "institution": "inst-skole-7", "anonymous": True,
                                         "version": len(tlinks), "last_seq": 0},
                                        {"thread": rc["thread"], "institution": "inst-skole-7", "anonymous": False,
                                         "version": 2, "last_seq": 12, "last_time": receipt["received"]}]},
        {"type": "messages", "id": "t4", "thread": rc["thread"], "messages": [msg], "more": False},
        {"type": "mark_ok", "id": "t5", "thread": rc["thread"], "seq": rc["seq"]},
        {"type": "thread_message", "thread": rc["thread"], "seq": 1, "envelope": env, "received": receipt["received"],
         "sender_cert": sender},
        {"type": "thread_changed", "thread": tid, "version": 4},
        {"type": "thread_mark", "mark": mark, "cert": sender},
    ]
    frames += thread_frames
    # The municipality's names and the leder's ledelsestilsyn figures (PROTOCOL.md 12.7).
    stat = {"count": 3, "decided": 4, "median_seconds": 86400, "p90_seconds": 172800, "share": 0.75, "within": 3}
    frames += [
        {"type": "directory_get", "id": "d1"},
        {"type": "directory", "id": "d1", "akut_team": "doegnvagt",
         "institutions": [{"id": "inst-nordskovskolen", "kind": "skole", "name": "Nordskovskolen"}],
         "teams": [{"id": "doegnvagt", "name": "Døgnvagt", "phone": "+45 58 57 00 00"},
                   {"id": "team-slagelse", "name": "Team Slagelse"}]},
        {"type": "report_get", "id": "p1"},
        {"type": "report_get", "id": "p2", "from": "2026-10-01", "to": "2026-10-31"},
        {"type": "report", "id": "p2", "figures": {
            "kvittering": stat, "name": "Team Slagelse", "outside_office": {"count": 1, "share": 0.25},
            "overdue": 1, "received": 4, "team": "team-slagelse",
            "vurdering": dict(stat, count=0, median_seconds=None, p90_seconds=None, share=None)}},
    ]
    items = [compact(x).encode() for x in frames + mqtt]
    items += [compact(x).encode() for x in (roster, receipt, *events.values())]

    sub = compact(frames[1])
    rec = compact(frames[13])
    items += [
        ('{"type":"submit","type":"submit",' + sub[1:]).encode(),          # duplicate key
        ('{"x":1,' + sub[1:]).encode(),                                    # unknown key
        rec.replace('"duplicate":false', '"duplicate":0').encode(),       # wrong type
        compact({"type": "pushed", "id": "p", "reference": ref, "event": events["modtaget"],
                 "cert": certs["agent"]}).encode(),                        # a push with an id
        b'{"type":"hello","version":1,"nonce":"","time":""}',             # a proto.h frame
        b'{"type":"frobnicate"}',
        sub[: len(sub) // 2].encode(),                                     # truncated
        compact(dict(frames[2], event=dict(events["vurderet"], akut=1))).encode(),
        compact(dict(frames[2], event=dict(events["modtaget"], team="team-oest"))).encode(),
        compact(dict(frames[12], roster=dict(roster, devices=roster["devices"][::-1]))).encode(),
        compact(dict(frames[13], receipt=dict(receipt, reference="U-2026-1"))).encode(),
        b'{"type":"items","items":[' + b'{},' * 50 + b'{}]}',
        b'{"type":"event_ok","seq":-9223372036854775808}',
        b'{"type":"mine","id":"\\u0000"}',
        compact(dict(thread_frames[1], thread=tid[:-1] + "F")).encode(),     # a thread id that is not canonical
        compact({"type": "thread_sync", "thread": tid, "after": 0, "before": 3}).encode(),
        compact({"type": "thread_sync", "thread": tid, "after": 0, "limit": 101}).encode(),
        compact(dict(thread_frames[7], mark=dict(mark, kind="read"))).encode(),
        compact(dict(thread_frames[16], id="p")).encode(),                # the push thread_mark with an id
        b'{"from":"2026-1-01","type":"report_get"}',                       # a date of the wrong shape
        b'{"from":"2026-10-01","team":"team-ung","type":"report_get"}',   # another team cannot be named
    ]

    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.startswith("seed-"):
            os.remove(os.path.join(OUT, old))
    seen = set()
    for data in items:
        if data in seen:
            continue
        seen.add(data)
        with open(os.path.join(OUT, "seed-" + hashlib.sha256(data).hexdigest()[:16]), "wb") as f:
            f.write(data)
    print("%d files in %s" % (len(seen), OUT))


if __name__ == "__main__":
    main()
