#!/usr/bin/python3
"""Approving a new device from an existing one (PROTOCOL.md 15.7) end to end (issue 9).

Real varskod, Mosquitto, agent and the `varsko` CLI. Anna enrolls her first
device (it makes her user key) and sends an underretning; Lene sends the
kvittering, sealed to Anna's user key. Anna then enrolls a second device,
which cannot read it. She runs `varsko device request` on the new device and
`varsko device approve` on the old one, both at once:

- the first time she types a wrong code: the old device says in Danish that
  the codes differ (approval_failed, exit != 0) and nothing is appended to
  her user chain; a new request of the new device replaces the old one,
  whose `device request` then ends with not_found;
- the second time she types the code the new device shows (as "123 456"):
  both commands end with exit 0, the chain names both devices, and the new
  device reads the kvittering exactly as sent.

Raw frames then check varskod's refusals of 15.7's table: a request from a
device already in the chain (exists), an offer by the new device itself
(forbidden) or by a device the chain does not name (not_cross_signed), a
reveal before any offer (protocol), by another device (forbidden), with a
nonce that does not open the commitment (approval_failed) and twice
(exists), a second offer (exists), another user's view (not_found), and
that none of it changes the chain.
"""

import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from harness import b64, field, unb64  # noqa: E402

KVITTERING = "Tak for underretningen – vi vurderer sagen nu. Team Slagelse (æøå)."
CODE_LINE = re.compile(r"^Godkendelseskode: (\d{3}) (\d{3})$")
WAIT = 60  # seconds any one step may take


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:400]!r} stderr={err.strip()[:400]!r}"


def parse(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


def commit_of(n_new, sign_pk, box_pk):
    """15.7 step 1, written from the text."""
    return hashlib.sha256(field(b"varsko-approve-commit-v1") + field(n_new) + field(sign_pk) +
                          field(box_pk)).digest()


class Proc:
    """A `varsko` command in the background: its stdout read line by line (a thread), stdin a pipe."""

    def __init__(self, fl, home, *args):
        env = dict(os.environ)
        env.pop("VARSKO_CA", None)
        env.update({"VARSKO_HOME": home, "HOME": fl.tmp})
        self.p = subprocess.Popen([fl.cli_bin, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.lines = queue.Queue()
        self.out = []
        self.err = ""
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.te = threading.Thread(target=self._read_err, daemon=True)
        self.te.start()

    def _read(self):
        for line in self.p.stdout:
            self.out.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_err(self):
        self.err = self.p.stderr.read()

    def line(self, pred, timeout=WAIT):
        """The first line (from now on) for which pred is true, or None at the end of output or the timeout."""
        end = time.monotonic() + timeout
        while True:
            try:
                ln = self.lines.get(timeout=max(0.05, end - time.monotonic()))
            except queue.Empty:
                return None
            if ln is None:
                self.lines.put(None)
                return None
            if pred(ln):
                return ln

    def event(self, name, timeout=WAIT):
        """The next --json line with "event" == name (or "failed"), parsed; None when none came."""
        ln = self.line(lambda s: (parse(s) or {}).get("event") in (name, "failed"), timeout)
        return parse(ln) if ln is not None else None

    def type(self, text):
        try:
            self.p.stdin.write(text)
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def wait(self, timeout=WAIT):
        """(rc, stdout, stderr); the process is killed when it does not end in time (rc 124)."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            rc = 124
        self.t.join(5)
        self.te.join(5)
        return rc, "".join(self.out), self.err

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        for f in (self.p.stdin,):
            try:
                f.close()
            except (BrokenPipeError, OSError):
                pass


def enroll_json(fl, user, home):
    inv = fl.invite(user)
    rc, out, err = fl.cli(home, "enroll", "--server", fl.ws_url, "--code", inv["code"], "--ca", fl.ca,
                          "--fingerprint", inv["org_fingerprint"], "--json")
    return rc, parse(out), out, err


def chain_links(fl, user):
    return [json.loads(t) for (t,) in fl.q("SELECT link_json FROM chain_links WHERE kind = 'user' AND chain = ? "
                                             "ORDER BY seq", user)]


def main():
    checks = harness.Checks()
    c = checks.check
    procs = []

    def start(home, *args):
        p = Proc(fl, home, *args)
        procs.append(p)
        return p

    with flowlib.Flow(agents=["team-slagelse"], users=["myndighed-lene"]) as fl:
        try:
            return run(fl, checks, c, start)
        finally:
            for p in procs:
                p.stop()


def run(fl, checks, c, start):
    fl.setup()

    # -- Anna's first device, an underretning, and the kvittering sealed to her user key --
    home_1 = fl.path("home-anna-1")
    rc, j, out, err = enroll_json(fl, "laerer-anna", home_1)
    if not c("anna's first device enrolls and makes her user key", rc == 0 and (j or {}).get("recovery_code"),
             out_of(rc, out, err)):
        return checks.done()
    fl.homes["laerer-anna"] = home_1
    dev_1 = flowlib.Device(home_1)
    rc, rec, out, err = fl.send("laerer-anna", fl.doc(age=9))
    if not c("anna sends an underretning", rc == 0 and isinstance(rec, dict), out_of(rc, out, err)):
        return checks.done()
    ref = rec["reference"]
    c("team-slagelse's agent files it", fl.wait_filed("team-slagelse", [ref], timeout=60) == {ref})
    rc, out, err = fl.cli_as("myndighed-lene", "myndighed", "kvitter", ref, "--besked", KVITTERING)
    c("lene sends the kvittering", rc == 0, out_of(rc, out, err))
    envs = fl.q("SELECT envelope FROM events WHERE reference = ? AND kind = 'kvitteret'", ref)
    wraps = [w["device"] for (e,) in envs for w in json.loads(e)["wraps"]]
    c("the kvittering is sealed to anna's user key", "user:laerer-anna:1" in wraps, str(wraps))

    # -- Anna's second device: enrolled, not yet hers, cannot read the kvittering --
    home_2 = fl.path("home-anna-2")
    rc, j, out, err = enroll_json(fl, "laerer-anna", home_2)
    c("anna's second device enrolls, not yet approved",
      rc == 0 and (j or {}).get("user_key_state") == "not_cross_signed", out_of(rc, out, err))
    dev_2 = flowlib.Device(home_2)
    rc, out, err = fl.cli(home_2, "device", "--help")
    c("varsko device --help lists recover, list, request and approve",
      rc == 0 and all(f"varsko device {s}" in out for s in ("recover", "list", "request", "approve")),
      out_of(rc, out, err))
    rc, out, err = fl.cli(home_1, "device", "approve", "--timeout", "5")
    c("device approve with no open request: not_found, in Danish",
      rc != 0 and "not_found" in err and "ingen åben anmodning" in err, out_of(rc, out, err))
    links_before = chain_links(fl, "laerer-anna")

    # -- first attempt: a wrong code --
    req_1 = start(home_2, "device", "request", "--json", "--timeout", str(3 * WAIT))
    ev = req_1.event("requested")
    c("device request --json: a 'requested' line with the approval id",
      ev is not None and ev.get("event") == "requested" and re.fullmatch(r"a-[0-9a-f]{16}", ev.get("approval", "")),
      str(ev))
    appr_1 = (ev or {}).get("approval")
    app_1 = start(home_1, "device", "approve", "--json", "--timeout", str(WAIT))
    ev = req_1.event("code")
    code = (ev or {}).get("code", "")
    c("the new device shows a six-digit code once the old one has offered",
      re.fullmatch(r"\d{6}", code) is not None and ev.get("approval") == appr_1, str(ev))
    ev = app_1.event("revealed")
    c("the old device saw the reveal (and the commitment opened)",
      ev is not None and ev.get("event") == "revealed" and ev.get("device") == dev_2.id, str(ev))
    wrong = f"{(int(code or '0') + 1) % 1000000:06d}"
    app_1.type(wrong + "\n")
    rc, out, err = app_1.wait()
    c("a wrong code: device approve fails with approval_failed, in Danish, exit != 0",
      rc not in (0, 124) and "approval_failed" in err and "Koderne er forskellige" in err, out_of(rc, out, err))
    c("... and says so on its --json line",
      any((parse(ln) or {}).get("error") == "approval_failed" for ln in out.splitlines()), out)
    c("nothing was appended to anna's user chain", chain_links(fl, "laerer-anna") == links_before)
    rc, j, out, err = fl.cli_json("laerer-anna", "device", "list")
    c("device list --json of the old device: still only the first device",
      rc == 0 and [d.get("device") for d in (j or {}).get("devices", [])] == [dev_1.id], out_of(rc, out, err))

    # -- a new request replaces the first; the first `device request` then ends --
    req_2 = start(home_2, "device", "request", "--timeout", str(3 * WAIT))
    ln = req_2.line(lambda s: s.startswith("Anmodning om godkendelse sendt"))
    c("device request (for people) says the request was sent and what to run on the other device",
      ln is not None, "".join(req_2.out))
    rc, out, err = req_1.wait()
    c("the replaced request ends: not_found, exit != 0, in Danish",
      rc not in (0, 124) and "not_found" in err and "Intet blev godkendt" in err, out_of(rc, out, err))
    c("... with a 'failed' --json line",
      any((parse(x) or {}).get("event") == "failed" for x in out.splitlines()), out)

    # -- second attempt: the right code, typed as shown --
    app_2 = start(home_1, "device", "approve", "--timeout", str(WAIT))
    ln = req_2.line(lambda s: CODE_LINE.match(s) is not None)
    m = CODE_LINE.match(ln or "")
    c("the new device prints 'Godkendelseskode: 123 456' on its own line", m is not None, "".join(req_2.out))
    prompt = app_2.line(lambda s: "Den nye enhed" in s)
    c("the old device says the new device shows a code", prompt is not None, "".join(app_2.out))
    app_2.type((f"{m.group(1)} {m.group(2)}" if m else "000 000") + "\n")
    rc, out, err = app_2.wait()
    c("the right code: device approve succeeds (exit 0) and asked for the code in Danish",
      rc == 0 and "Indtast koden, som den nye enhed viser:" in out and "godkendt" in out, out_of(rc, out, err))
    rc, out, err = req_2.wait()
    c("device request ends with exit 0 and a Danish success line",
      rc == 0 and "Enheden er nu godkendt" in out, out_of(rc, out, err))
    links = chain_links(fl, "laerer-anna")
    c("the chain got one device_add for the new device, signed by the user key",
      len(links) == len(links_before) + 1 and links[-1].get("op") == "device_add" and
      links[-1].get("device") == dev_2.id and
      [s.get("pk") for s in links[-1].get("sigs", [])] == [links[0].get("uk_sign_pk")], str(links[-1:])[:300])
    n_open = fl.q("SELECT count(*) FROM approvals WHERE device = ?", dev_2.id)[0][0]
    c("the approval of the new device ended with its device_add (no longer open)", n_open == 0, str(n_open))
    rc, j, out, err = fl.cli_json("laerer-anna", "device", "list")
    devs = {d.get("device"): d for d in (j or {}).get("devices", [])}
    c("device list --json: both devices, the new one has its key box",
      rc == 0 and set(devs) == {dev_1.id, dev_2.id} and devs[dev_2.id].get("key_box") is True,
      out_of(rc, out, err))
    rc, out, err = fl.cli(home_2, "device", "list", "--json")
    j = parse(out) or {}
    c("on the new device: state ok, it holds the user key",
      rc == 0 and j.get("state") == "ok" and j.get("holds_user_key") is True, out_of(rc, out, err))
    fl.homes["laerer-anna"] = home_2
    rc, j, out, err = fl.cli_json("laerer-anna", "underret", "status", ref)
    steps = {s.get("step"): s for s in (j or {}).get("steps", [])}
    c("the new device reads the kvittering exactly as sent",
      steps.get("kvitteret", {}).get("message") == KVITTERING, out_of(rc, out, err))
    rc, out, err = fl.cli(home_2, "device", "request", "--timeout", "5")
    c("device request on an approved device: exists, in Danish",
      rc != 0 and "exists" in err and "allerede godkendt" in err, out_of(rc, out, err))

    # -- raw frames: varskod's refusals (15.7's table) --
    home_3, home_4 = fl.path("home-anna-3"), fl.path("home-anna-4")
    for h in (home_3, home_4):
        rc, j, out, err = enroll_json(fl, "laerer-anna", h)
        c("another device of anna enrolls (not approved)", rc == 0, out_of(rc, out, err))
    dev_3, dev_4 = flowlib.Device(home_3), flowlib.Device(home_4)
    lene = fl.device("myndighed-lene")
    n_new = os.urandom(32)
    d3_sign = unb64(dev_3.cert["sign_pk"])
    d3_box = unb64(dev_3.cert["box_pk"])
    links_before = chain_links(fl, "laerer-anna")

    async def raw():
        res = {}
        async with harness.RawClient(fl.ws_url, fl.ca) as c1, harness.RawClient(fl.ws_url, fl.ca) as c3, \
                harness.RawClient(fl.ws_url, fl.ca) as c4, harness.RawClient(fl.ws_url, fl.ca) as cl:
            for cli, d in ((c1, dev_1), (c3, dev_3), (c4, dev_4), (cl, lene)):
                a = await cli.login(d.id, d.signing_key)
                res.setdefault("logins", []).append(a.get("type"))
            rq = flowlib.request
            res["in_chain"] = await rq(c1, {"type": "approve_request", "id": "q1",
                                            "commit": b64(commit_of(n_new, d3_sign, d3_box))})
            res["request"] = await rq(c3, {"type": "approve_request", "id": "q2",
                                           "commit": b64(commit_of(n_new, d3_sign, d3_box))})
            aid = res["request"].get("approval", "a-0000000000000000")
            res["early_reveal"] = await rq(c3, {"type": "approve_reveal", "id": "q3", "approval": aid,
                                                "nonce": b64(n_new)})
            res["self_offer"] = await rq(c3, {"type": "approve_offer", "id": "q4", "approval": aid,
                                              "nonce": b64(os.urandom(32))})
            res["stranger_offer"] = await rq(c4, {"type": "approve_offer", "id": "q5", "approval": aid,
                                                  "nonce": b64(os.urandom(32))})
            res["other_user_get"] = await rq(cl, {"type": "approve_get", "id": "q6", "approval": aid})
            res["other_user_list"] = await rq(cl, {"type": "approve_list", "id": "q7"})
            res["list"] = await rq(c1, {"type": "approve_list", "id": "q8"})
            res["offer"] = await rq(c1, {"type": "approve_offer", "id": "q9", "approval": aid,
                                         "nonce": b64(os.urandom(32))})
            res["second_offer"] = await rq(c1, {"type": "approve_offer", "id": "q10", "approval": aid,
                                                "nonce": b64(os.urandom(32))})
            res["reveal_by_old"] = await rq(c1, {"type": "approve_reveal", "id": "q11", "approval": aid,
                                                 "nonce": b64(n_new)})
            res["bad_reveal"] = await rq(c3, {"type": "approve_reveal", "id": "q12", "approval": aid,
                                              "nonce": b64(os.urandom(32))})
            res["reveal"] = await rq(c3, {"type": "approve_reveal", "id": "q13", "approval": aid,
                                          "nonce": b64(n_new)})
            res["second_reveal"] = await rq(c3, {"type": "approve_reveal", "id": "q14", "approval": aid,
                                                 "nonce": b64(n_new)})
            res["get"] = await rq(c1, {"type": "approve_get", "id": "q15", "approval": aid})
        return res

    try:
        res = harness.run(raw())
    except Exception as e:  # noqa: BLE001
        res = {}
        c("raw frames ran", False, repr(e))
    c("raw clients logged in", res.get("logins") == ["session"] * 4, str(res.get("logins")))

    def code_of(k):
        return (res.get(k) or {}).get("code")
    req = res.get("request") or {}
    c("approve_request of a new device: an approval with its device, commitment and 10 minutes",
      req.get("type") == "approval" and req.get("device") == dev_3.id and
      req.get("commit") == b64(commit_of(n_new, d3_sign, d3_box)) and "nonce_old" not in req,
      json.dumps(req)[:300])
    for k, want, what in (("in_chain", "exists", "approve_request from a device already in the chain"),
                          ("early_reveal", "protocol", "approve_reveal before any offer"),
                          ("self_offer", "forbidden", "approve_offer by the new device itself"),
                          ("stranger_offer", "not_cross_signed", "approve_offer by a device the chain does not name"),
                          ("other_user_get", "not_found", "approve_get of another user's approval"),
                          ("second_offer", "exists", "a second approve_offer"),
                          ("reveal_by_old", "forbidden", "approve_reveal by another device than the new one"),
                          ("bad_reveal", "approval_failed", "approve_reveal with a nonce that does not open the commitment"),
                          ("second_reveal", "exists", "a second approve_reveal")):
        c(f"{what}: {want}", code_of(k) == want, json.dumps(res.get(k))[:300])
    c("approve_list of another user: no items", (res.get("other_user_list") or {}).get("items") == [],
      json.dumps(res.get("other_user_list"))[:300])
    items = (res.get("list") or {}).get("items", [])
    c("approve_list of anna's old device: the new request, not offered yet, oldest first",
      [i.get("approval") for i in items if i.get("device") == dev_3.id] == [req.get("approval")] and
      "nonce_old" not in items[-1] and [i.get("created") for i in items] == sorted(i.get("created") for i in items),
      json.dumps([{k: i.get(k) for k in ("approval", "device", "created", "old_device")} for i in items])[:400])
    c("approve_offer by a device of the chain: the approval with old_device and nonce_old",
      (res.get("offer") or {}).get("old_device") == dev_1.id and "nonce_old" in (res.get("offer") or {}),
      json.dumps(res.get("offer"))[:300])
    c("approve_reveal with the committed nonce: nonce_new", (res.get("reveal") or {}).get("nonce_new") == b64(n_new),
      json.dumps(res.get("reveal"))[:300])
    c("approve_get shows both nonces", "nonce_new" in (res.get("get") or {}) and "nonce_old" in (res.get("get") or {}),
      json.dumps(res.get("get"))[:300])
    c("none of it changed anna's user chain", chain_links(fl, "laerer-anna") == links_before)
    c("varskod is still running", fl.alive("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
