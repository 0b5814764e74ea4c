#!/usr/bin/python3
"""Refusals a peer causes in bulk never cost an audit transaction each (issue 13).

A burst of unauthenticated connections, each sending 3 frames of junk and
then a login for a device the gateway does not know, and as many that
enroll with a code nobody was given, within about a second:

  - every refusal is still audited, but counted: the audit log gains one
    row per (event, actor, detail) and second, with "count=N" in the detail,
    and the counts add up to exactly the refusals made (N logins refused as
    unknown_device, N enrollments as code_unknown, 3N frames refused as
    bad_json);
  - so the whole burst adds only a few audit rows (each row a transaction
    of its own before), and the chain verifies (`varskoctl audit verify`);
  - refusals counted just before varskod stops are written on the way out.
"""

import asyncio
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402
from harness import RawClient  # noqa: E402

harness.require_modules()
import nacl.public  # noqa: E402
import nacl.signing  # noqa: E402

N = 60
JUNK = 3


async def one_bad_peer(env, answers):
    async with RawClient(env.ws_url, env.ca, timeout=15) as cl:
        for _ in range(JUNK):
            a = await cl.request_text("{not json")
            answers.append(a.get("code"))
        sk = nacl.signing.SigningKey.generate()
        a = await cl.login(harness.device_id(bytes(sk.verify_key)), sk)
        answers.append(a.get("code"))


async def one_bad_enroll(env, answers):
    rnd = random.SystemRandom()
    code = "-".join("".join(rnd.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(4)) for _ in range(4))
    async with RawClient(env.ws_url, env.ca, timeout=15) as cl:
        a = await cl.enroll(code, nacl.signing.SigningKey.generate(),
                            bytes(nacl.public.PrivateKey.generate().public_key))
        answers.append(a.get("code"))


async def burst(env):
    answers = []
    await asyncio.gather(*(one_bad_peer(env, answers) for _ in range(N)),
                         *(one_bad_enroll(env, answers) for _ in range(N)))
    return answers


def audit_rows(env, since):
    db = env.db()
    try:
        return db.execute("SELECT seq, at, event, actor, detail FROM audit WHERE seq > ? ORDER BY seq",
                          (since,)).fetchall()
    finally:
        db.close()


def counted(rows, event, detail):
    """(rows, sum of their counts) of the counted rows of event whose detail is `detail count=N`."""
    n, total = 0, 0
    for _, _, ev, actor, dt in rows:
        m = re.fullmatch(re.escape(detail) + r" count=(\d+)", dt)
        if ev == event and actor == "-" and m:
            n += 1
            total += int(m.group(1))
    return n, total


def main():
    checks = harness.Checks()
    c = checks.check
    with harness.Env() as env:
        env.make_certs()
        env.write_config()
        env.ctl_ok("init")
        env.ctl_ok("import", harness.demo_file())
        env.start_varskod()
        time.sleep(1.5)  # the startup's own audit entries are written
        before = audit_rows(env, 0)
        last = before[-1][0] if before else 0

        t0 = time.monotonic()
        answers = harness.run(burst(env))
        took = time.monotonic() - t0
        harness.log(f"     {N} peers x ({JUNK} junk frames + 1 unknown login) and {N} unknown codes in {took:.2f} s")
        c("every junk frame was answered bad_json, every login unknown_device and every enroll code_unknown",
          answers.count("bad_json") == N * JUNK and answers.count("unknown_device") == N
          and answers.count("code_unknown") == N,
          f"{ {a: answers.count(a) for a in set(answers)} }")

        # Counted entries are written about once a second.
        rows = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.5)
            rows = audit_rows(env, last)
            if (counted(rows, "login_refused", "reason=unknown_device")[1] >= N
                    and counted(rows, "enroll_refused", "reason=code_unknown")[1] >= N
                    and counted(rows, "frame_refused", "bad_json")[1] >= N * JUNK):
                break
        n_login, sum_login = counted(rows, "login_refused", "reason=unknown_device")
        n_junk, sum_junk = counted(rows, "frame_refused", "bad_json")
        n_enroll, sum_enroll = counted(rows, "enroll_refused", "reason=code_unknown")
        seconds = max(1, int(took) + 2)
        harness.log(f"     audit rows added: {len(rows)}; login_refused {n_login} row(s) counting {sum_login}, "
                    f"frame_refused {n_junk} row(s) counting {sum_junk}, "
                    f"enroll_refused {n_enroll} row(s) counting {sum_enroll}")
        c(f"the {N} refused logins are counted exactly, in at most one row per second",
          sum_login == N and 1 <= n_login <= seconds, f"{n_login} rows, count {sum_login}")
        c(f"the {N * JUNK} junk frames are counted exactly, in at most one row per second",
          sum_junk == N * JUNK and 1 <= n_junk <= seconds, f"{n_junk} rows, count {sum_junk}")
        c(f"the {N} refused enrollments are counted exactly, in at most one row per second",
          sum_enroll == N and 1 <= n_enroll <= seconds, f"{n_enroll} rows, count {sum_enroll}")
        c("the burst added only the counted rows (not one row per refusal)",
          len(rows) == n_login + n_junk + n_enroll, "\n".join(str(r) for r in rows[:20]))
        c("no personal or peer data in the counted rows", all(r[3] == "-" for r in rows), str(rows[:5]))

        # A second burst, and SIGTERM right after it: what was counted is written on the way out.
        last = rows[-1][0] if rows else last
        answers = harness.run(burst(env))
        rc = env.stop_varskod()
        c("varskod exits 0 on SIGTERM", rc == 0, f"exit {rc}")
        rows = audit_rows(env, last)
        got = (counted(rows, "login_refused", "reason=unknown_device")[1],
               counted(rows, "frame_refused", "bad_json")[1],
               counted(rows, "enroll_refused", "reason=code_unknown")[1])
        c("refusals counted just before SIGTERM are in the audit log after it", got == (N, N * JUNK, N), str(got))
        rc, out, err = env.ctl("audit", "verify")
        c("varskoctl audit verify: intact", rc == 0 and "intact" in out, out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
