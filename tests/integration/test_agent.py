#!/usr/bin/python3
"""varsko-agent on its own, against a real Mosquitto, with a fake organisation in Python.

Mosquitto with the dev certs and ACL; the "gateway" side is a paho client with
the varskod certificate. Homes, certificates and receipts are made here.
"""
import calendar
import json
import os
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa
import flowlib as F  # noqa
from harness import field
from nacl.exceptions import BadSignatureError
from nacl import bindings as nb

TEAM = "team-slagelse"
ORG_PK, ORG_SK = nb.crypto_sign_keypair()
GW_PK, GW_SK = nb.crypto_sign_keypair()
serial = [0]


def make_cert(user, role, team, insts, sign_pk, box_pk, nb_=None, na=None, org_sk=ORG_SK):
    serial[0] += 1
    dev = harness.device_id(sign_pk)
    nb_ = nb_ if nb_ is not None else int(time.time()) - 3600
    na = na if na is not None else int(time.time()) + 86400 * 365
    si = (field(b"varsko-cert-v1") + F.u64(1) + F.u64(serial[0]) + field(user) + field(user.title()) + field(role) +
          field(team) + F.u64(len(insts)) + b"".join(field(i) for i in insts) + field(dev) + field(sign_pk) +
          field(box_pk) + F.i64(nb_) + F.i64(na))
    return {"box_pk": F.b64(box_pk), "device": dev, "institutions": insts, "name": user.title(),
            "not_after": F.tm(na), "not_before": F.tm(nb_), "role": role, "serial": serial[0],
            "sig": F.b64(nb.crypto_sign(si, org_sk)[:64]), "sign_pk": F.b64(sign_pk), "team": team,
            "user": user, "version": 1}


def new_device(user, role, team, insts):
    spk, ssk = nb.crypto_sign_keypair()
    bsk = os.urandom(32)
    bpk = nb.crypto_scalarmult_base(bsk)
    return {"sign_pk": spk, "sign_sk": ssk, "box_pk": bpk, "box_sk": bsk,
            "cert": make_cert(user, role, team, insts, spk, bpk)}


GW = {"sign_pk": GW_PK, "sign_sk": GW_SK}
GW["cert"] = make_cert("gateway", "gateway", "", [], GW_PK, os.urandom(32))


def write_home(path, d):
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)

    def w(n, s):
        p = os.path.join(path, n)
        with open(p, "w") as f:
            f.write(s)
        os.chmod(p, 0o600)
    w("device.key", json.dumps({"sign_sk": F.b64(d["sign_sk"]), "box_sk": F.b64(d["box_sk"])}) + "\n")
    w("device.cert", F.compact(d["cert"]) + "\n")
    w("org.pub", F.b64(ORG_PK) + "\n")
    w("gateway.cert", F.compact(GW["cert"]) + "\n")


def receipt(ref, sub, env, sender, inst, team=TEAM, gw=GW):
    t = int(time.time())
    r = {"envelope_hash": F.b64(F.envelope_hash(env)), "gateway": gw["cert"]["device"], "institution": inst,
         "kvittering_due": F.tm(t + 86400), "received": F.tm(t), "reference": ref, "sender": sender["cert"]["device"],
         "sender_user": sender["cert"]["user"], "submission": sub, "team": team,
         "tilbagemelding_due": F.tm(t + 86400 * 7), "version": 1, "vurdering_due": F.tm(t + 86400)}
    si = (field(b"varsko-receipt-v1") + F.u64(1) + field(ref) + field(sub) + field(F.envelope_hash(env)) +
          field(r["sender"]) + field(r["sender_user"]) + field(inst) + field(team) + F.i64(t) + F.i64(t + 86400) +
          F.i64(t + 86400) + F.i64(t + 86400 * 7) + field(r["gateway"]))
    r["sig"] = F.b64(nb.crypto_sign(si, gw["sign_sk"])[:64])
    return r


def payload(ref, sender, recipients, docbytes, sub=None, inst="inst-nordskovskolen", mutate=None):
    sub = sub or ("s-" + ref.lower())
    routing, _ = F.routing_header(inst, "6-13", False, False, sub, int(time.time()))
    env = F.seal("underretning", sub, sender["cert"]["device"], sender["sign_sk"],
                 [(r["cert"]["device"], r["box_pk"]) for r in recipients], routing, docbytes)
    rc = receipt(ref, sub, env, sender, inst)
    import copy
    p = copy.deepcopy({"type": "underretning", "reference": ref, "envelope": env, "receipt": rc,
                       "sender_cert": sender["cert"], "gateway_cert": GW["cert"]})
    if mutate:
        mutate(p)
    return F.compact(p).encode()


def main():
    checks = harness.Checks()
    c = checks.check
    agent_bin = harness.binary("clients/agent/varsko-agent")
    with harness.Env(gateway=False) as env:
        env.make_certs()
        env.start_mosquitto()
        agent = new_device(f"agent-{TEAM}", "agent", TEAM, [])
        other_agent = new_device("agent-team-ung", "agent", "team-ung", [])
        anna = new_device("laerer-anna", "fagperson", "", ["inst-nordskovskolen"])
        lene = new_device("myndighed-lene", "myndighed", TEAM, [])
        home = env.path("home-agent")
        write_home(home, agent)
        ung_home = env.path("home-ung")
        write_home(ung_home, other_agent)
        cases = env.path("cases")

        def argv(h=home, team=TEAM, command=None, cases_=cases):
            a = [agent_bin, "--home", h, "--mqtt-host", "127.0.0.1", "--mqtt-port", str(env.mqtt_port),
                 "--ca", env.ca, "--cert", os.path.join(env.certs, f"agent-{team}.crt"),
                 "--key", os.path.join(env.certs, f"agent-{team}.key"), "--team", team, "--case-dir", cases_]
            if command:
                a += ["--command", command]
            if os.environ.get("AGENT_VALGRIND"):
                a = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                     "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99", "--quiet",
                     f"--log-file={env.path('vg-' + team + '-%p.log')}"] + a
            return a

        # wrong team refused at start
        rc, out, err = env.run(argv(h=ung_home, team=TEAM), timeout=20)
        c("agent refuses a home of another team", rc == 1 and "forbidden" in err, err)
        rc, out, err = env.run(argv(h=env.path("nohome")), timeout=20)
        c("agent refuses a missing home", rc == 1, err)

        gwspy = F.MqttSpy(env, "varskod", ["varsko/slagelse/ack"], own=True)  # stands in for varskod
        env.start("agent", argv())
        deadline = time.time() + 15
        while time.time() < deadline and "subscribed" not in env.read_log("agent"):
            time.sleep(0.1)
        c("agent logs subscribed", "subscribed" in env.read_log("agent"), env.read_log("agent"))
        with open(F.EXAMPLE, "rb") as f:
            doc = f.read()
        topic = f"varsko/slagelse/team/{TEAM}/underretning"
        gwspy.publish(topic, payload("U-2026-000001", anna, [agent, lene], doc))

        def wait(pred, t=15):
            d = time.time() + t
            while time.time() < d:
                if pred():
                    return True
                time.sleep(0.1)
            return False
        f1 = os.path.join(cases, "U-2026-000001.json")
        c("filed", wait(lambda: os.path.exists(f1)), env.read_log("agent"))
        if os.path.exists(f1):
            st = os.stat(f1)
            c("mode 0600", stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode))
            rec = json.load(open(f1))
            c("record keys", sorted(rec) == ["document", "filed_at", "receipt", "reference", "sender"], sorted(rec))
            c("document is the sent one", rec["document"] == json.loads(doc))
            c("sender", rec["sender"] == {"user": "laerer-anna", "role": "fagperson",
                                          "institutions": ["inst-nordskovskolen"],
                                          "device": anna["cert"]["device"]}, rec["sender"])
        c("two acks", wait(lambda: len(gwspy.messages()) >= 2), gwspy.messages())
        evs = [json.loads(p) for _t, p in gwspy.messages()]
        kinds = [e["event"]["kind"] for e in evs]
        c("modtaget then journaliseret", kinds[:2] == ["modtaget", "journaliseret"], kinds)
        for e in evs:
            ev = e["event"]
            si = (field(b"varsko-event-v1") + F.u64(1) + field(ev["reference"]) + field(ev["kind"]) +
                  field(ev["device"]) + F.i64(calendar.timegm(time.strptime(ev["time"], "%Y-%m-%dT%H:%M:%SZ"))) +
                  F.i64(-1) + F.i64(-1) + field("") + F.u64(0) + field(bytes(32)))
            try:
                import nacl.signing; nacl.signing.VerifyKey(agent["sign_pk"]).verify(si, F.ub64(ev["sig"]))
                ok = True
            except Exception:
                ok = False
            c(f"{ev['kind']} signature verifies; cert is the agent's", ok and e["cert"] == agent["cert"] and
              e["type"] == "event" and ev["device"] == agent["cert"]["device"])
        acks = sorted(os.listdir(os.path.join(cases, ".acks")))
        c("acks stored and marked sent", wait(lambda: len(os.listdir(os.path.join(cases, ".acks"))) == 4),
          sorted(os.listdir(os.path.join(cases, ".acks"))))
        # duplicate
        n0 = len(gwspy.messages())
        ino = os.stat(f1).st_ino
        gwspy.publish(topic, payload("U-2026-000001", anna, [agent, lene], doc))
        c("duplicate re-sends 2 stored acks", wait(lambda: len(gwspy.messages()) >= n0 + 2))
        time.sleep(0.5)
        again = [json.loads(p)["event"] for _t, p in gwspy.messages()[n0:]]
        c("same signed events", again == [e["event"] for e in evs[:2]], again)
        c("not re-filed", os.stat(f1).st_ino == ino)
        c("log says duplicate", "U-2026-000001: duplicate" in env.read_log("agent"))

        # refusals
        def on_ack_topic(ref, type_):
            """The messages of type_ on the ack topic that name ref (others, e.g. a previous case's, may still come)."""
            out = []
            for _t, p in gwspy.messages():
                if ref.encode() in p:
                    m = json.loads(p)
                    if m.get("type") == type_:
                        out.append(m)
            return out

        def bad(ref, reason, mut=None, sender=anna, recips=None, docb=doc, sub=None):
            """Refused: nothing filed, no event, and one signed refusal with `reason` (PROTOCOL.md 12.9)."""
            gwspy.publish(topic, payload(ref, sender, recips or [agent], docb, mutate=mut, sub=sub))
            ok = wait(lambda: ref in env.read_log("agent"), 10)
            wait(lambda: on_ack_topic(ref, "refusal"), 5)
            time.sleep(0.3)
            refusals = on_ack_topic(ref, "refusal")
            return (ok and not os.path.exists(os.path.join(cases, ref + ".json")) and not on_ack_topic(ref, "event")
                    and len(refusals) == 1 and refusals[0]["refusal"]["reason"] == reason
                    and refusals[0]["refusal"]["device"] == agent["cert"]["device"]
                    and refusals[0]["cert"] == agent["cert"] and refusal_verifies(refusals[0]["refusal"]))

        def refusal_verifies(r):
            si = (field(b"varsko-refusal-v1") + F.u64(1) + field(r["reference"]) + field(r["device"]) +
                  F.i64(calendar.timegm(time.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ"))) + field(r["reason"]))
            try:
                return nb.crypto_sign_open(harness.unb64(r["sig"]) + si, agent["sign_pk"]) == si
            except BadSignatureError:
                return False

        def hashmismatch(p):
            p["receipt"]["envelope_hash"] = F.b64(os.urandom(32))
        c("hash mismatch refused (receipt sig breaks first)", bad("U-2026-000002", "failed_check", hashmismatch))

        def other_env(p):
            # a valid receipt for another envelope
            routing, _ = F.routing_header("inst-nordskovskolen", "6-13", False, False, "s-x", int(time.time()))
            e2 = F.seal("underretning", p["receipt"]["submission"], anna["cert"]["device"], anna["sign_sk"],
                        [(agent["cert"]["device"], agent["box_pk"])], routing, doc)
            p["envelope"] = e2
        c("envelope mismatch refused", bad("U-2026-000003", "failed_check", other_env))
        c("log envelope_mismatch", "U-2026-000003: refused:envelope_mismatch" in env.read_log("agent"))
        c("myndighed sender refused", bad("U-2026-000004", "failed_check", sender=lene))
        c("not a recipient refused", bad("U-2026-000005", "cannot_open", recips=[lene]))
        c("bad document refused", bad("U-2026-000006", "bad_document",
                                               docb=b'{"institution":"inst-nordskovskolen"}'))

        def forged_cert(p):
            p["sender_cert"]["name"] = "Someone Else"
        c("forged sender cert refused", bad("U-2026-000007", "failed_check", forged_cert))

        def other_ref(p):
            p["reference"] = "U-2026-000099"
        n = len(gwspy.messages())
        gwspy.publish(topic, payload("U-2026-000008", anna, [agent], doc, mutate=other_ref))
        wait(lambda: "U-2026-000099" in env.read_log("agent"), 10)
        c("reference differs from receipt refused", not os.path.exists(os.path.join(cases, "U-2026-000099.json")))
        # re-routed: envelope re-sealed by a myndighed worker, object id = reference
        def rerouted(sealer):
            def m(p):
                ref = p["reference"]
                routing, _ = F.routing_header("inst-nordskovskolen", "6-13", False, False, p["receipt"]["submission"],
                                              int(time.time()))
                p["envelope"] = F.seal("underretning", ref, sealer["cert"]["device"], sealer["sign_sk"],
                                       [(agent["cert"]["device"], agent["box_pk"])], routing, doc)
                p["sender_cert"] = sealer["cert"]
            return m
        gwspy.publish(topic, payload("U-2026-000030", anna, [agent], doc, mutate=rerouted(lene)))
        f30 = os.path.join(cases, "U-2026-000030.json")
        c("re-routed filed", wait(lambda: os.path.exists(f30)), env.read_log("agent")[-500:])
        if os.path.exists(f30):
            rec = json.load(open(f30))
            c("re-routed record: sender from receipt, rerouted_by the worker",
              rec["sender"]["user"] == "laerer-anna" and rec["rerouted_by"]["user"] == "myndighed-lene"
              and rec["document"] == json.loads(doc), str({k: rec[k] for k in rec if k != "document"}))
        c("re-sealed by a fagperson refused", bad("U-2026-000031", "failed_check", rerouted(anna)))
        gwspy.publish(topic, b"not json")
        time.sleep(0.5)
        c("agent still alive", env.alive("agent"))
        log = env.read_log("agent")
        c("no names in log", all(x not in log for x in (F.CHILD_NAME, *F.PARENT_NAMES, "Anna Mikkelsen")))
        print(log)
        rc = env.stop("agent")
        c("SIGTERM stops it with 0", rc == 0, str(rc))

        # restart: queued message while down is delivered (persistent session)
        gwspy.publish(topic, payload("U-2026-000010", anna, [agent], doc))
        env.start("agent", argv())
        c("queued while down gets filed", wait(lambda: os.path.exists(os.path.join(cases, "U-2026-000010.json"))),
          env.read_log("agent")[-800:])
        env.stop("agent")

        # --command
        cmd_cases = env.path("cmd-cases")
        script = env.path("import.sh")
        out_dir = env.path("imported")
        os.mkdir(out_dir)
        flag = env.path("fail-flag")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\nif [ -e {flag} ]; then exit 3; fi\ncp \"$1\" {out_dir}/\n")
        os.chmod(script, 0o755)
        open(flag, "w").close()
        env.start("agent-cmd", argv(command=script, cases_=cmd_cases))
        wait(lambda: "subscribed" in env.read_log("agent-cmd"))
        n = len(gwspy.messages())
        gwspy.publish(topic, payload("U-2026-000020", anna, [agent], doc))
        c("failing command: spooled, modtaget only",
          wait(lambda: os.path.exists(os.path.join(cmd_cases, ".spool", "U-2026-000020.json")) and
               len(gwspy.messages()) >= n + 1), env.read_log("agent-cmd"))
        time.sleep(0.5)
        c("no journaliseret yet", [json.loads(p)["event"]["kind"] for _t, p in gwspy.messages()[n:]] == ["modtaget"])
        os.unlink(flag)
        c("retry files it", wait(lambda: os.path.exists(os.path.join(out_dir, "U-2026-000020.json")), 20),
          env.read_log("agent-cmd"))
        c("spool removed, journaliseret sent",
          wait(lambda: not os.path.exists(os.path.join(cmd_cases, ".spool", "U-2026-000020.json")) and
               len(gwspy.messages()) >= n + 2))
        c("no visible entries in cmd case dir", [x for x in os.listdir(cmd_cases) if not x.startswith(".")] == [])
        print(env.read_log("agent-cmd"))
        gwspy.close()
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
