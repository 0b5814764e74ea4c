#!/usr/bin/python3
"""A home that follows its server (issue 12, item 7): `varsko config set server`.

Real varskod and the `varsko` CLI. Anna enrolls against varskod on port A.
The server moves: varskod restarts on port B with the same database and
keys (its origins name B). The home still points at A and cannot connect.
`varsko config set server wss://127.0.0.1:B` logs in there first and only
then saves the address; whoami works again and `config show` names B. A
move to an address where nothing listens, to a URL that is not wss://, and
to another organisation's varskod (its own keys, the same CA) are each
refused with a clear error, and the home's server file is unchanged byte
for byte.

When the server cannot be reached (issue 11, "When the server cannot be
reached"), the message names the address and the cause: nothing listening
is the network (connection refused), a listener that accepts and closes is
the server, a CA that did not sign the server's certificate is the
certificate. `underret send` of an akut document then gives the akut team's
(Døgnvagt's) phone number from the municipality document, kept in the home
at the last login, and says to phone first.
"""

import json
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:300]!r}"


EXAMPLE = os.path.join(harness.SOURCE_ROOT, "deploy", "demo", "underretning-example.json")
DOEGNVAGT_PHONE = next(t["phone"] for t in harness.load_demo()["teams"] if t["id"] == "doegnvagt")


def closing_listener():
    """A TCP listener on a free port that accepts every connection and closes it at once (a server that
    answers but will not talk); returns (port, stop)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    s.settimeout(0.2)
    done = threading.Event()

    def loop():
        while not done.is_set():
            try:
                conn, _ = s.accept()
                conn.close()
            except OSError:
                pass
        s.close()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1], done.set


def main():
    checks = harness.Checks()
    c = checks.check
    with harness.Env() as env, harness.Env() as other:
        env.make_certs()
        env.write_config()
        env.ctl_ok("init")
        env.ctl_ok("import", harness.demo_file())
        env.start_varskod()
        port_a = env.port
        inv = env.invite("laerer-anna")
        home = env.path("home-anna")
        rc, out, err = env.cli(home, "enroll", "--server", env.ws_url, "--code", inv["code"], "--ca", env.ca,
                               "--fingerprint", inv["org_fingerprint"], "--label", "test")
        if not c("anna enrolls against port A", rc == 0, out_of(rc, out, err)):
            return checks.done()
        server_file = os.path.join(home, "server")
        rc, out, err = env.cli(home, "config", "show", "--json")
        c("config show names port A", rc == 0 and f'"wss://127.0.0.1:{port_a}"' in out, out_of(rc, out, err))

        # -- a login keeps the municipality's names (and the teams' phone numbers) in the home --
        rc, out, err = env.cli(home, "whoami", timeout=30)
        c("whoami names the institution, with its id", rc == 0 and "Nordskovskolen (inst-nordskovskolen)" in out,
          out_of(rc, out, err))
        kept = os.path.join(home, "directory.json")
        try:
            d = json.load(open(kept, encoding="utf-8"))
        except (OSError, ValueError):
            d = {}
        c("the directory is kept in the home (0600) with Døgnvagt's phone and the akut team",
          d.get("akut_team") == "doegnvagt" and
          any(t.get("id") == "doegnvagt" and t.get("phone") == DOEGNVAGT_PHONE for t in d.get("teams", [])) and
          os.path.exists(kept) and os.stat(kept).st_mode & 0o777 == 0o600, str(d)[:300])

        # -- the server moves to port B --
        env.stop_varskod()
        port_b = harness.free_port()
        env.write_config(port=port_b)
        env.start_varskod()
        rc, out, err = env.cli(home, "whoami", timeout=30)
        c("after the move the home (still on A) cannot connect: exit 3 (worth trying again), in Danish with what "
          "to do and the code for support",
          rc == 3 and "Serveren kunne ikke nås." in err and "ring til Døgnvagt" in err and "(kode: connect)" in err,
          out_of(rc, out, err))
        c("... it names the address and says it is the network: nothing answers there (refused)",
          f"Adresse: wss://127.0.0.1:{port_a}" in err and "Det er netværket" in err and
          "afvist" in err, out_of(rc, out, err))
        c("... and whom to phone about an akut case: Døgnvagt, with its number from the municipality document",
          f"Er en sag akut, så ring til Døgnvagt på {DOEGNVAGT_PHONE}." in err, out_of(rc, out, err))

        example = json.load(open(EXAMPLE, encoding="utf-8"))
        for akut in (True, False):
            doc = dict(example, akut=akut)
            path = env.path(f"akut-{akut}.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False)
            rc, out, err = env.cli(home, "underret", "send", path, timeout=30)
            if akut:
                c("underret send of an akut document with the server stopped: exit 3, the address, and phone "
                  f"Døgnvagt first on {DOEGNVAGT_PHONE}",
                  rc == 3 and f"wss://127.0.0.1:{port_a}" in err and
                  f"ring først til Døgnvagt på {DOEGNVAGT_PHONE}" in err and "IKKE sendt" in err,
                  out_of(rc, out, err))
            else:
                c("... a document that is not akut: not 'IKKE sendt ... ring først', only the general reminder",
                  rc == 3 and "ring først" not in err and "Er en sag akut" in err and "Det er netværket" in err,
                  out_of(rc, out, err))

        # -- something answers at A but closes at once: the server, not the network --
        lport, lstop = closing_listener()
        with open(server_file, "rb") as f:
            saved = f.read()
        with open(server_file, "w", encoding="utf-8") as f:
            f.write(f"wss://127.0.0.1:{lport}/\n")
        rc, out, err = env.cli(home, "whoami", timeout=30)
        lstop()
        with open(server_file, "wb") as f:
            f.write(saved)
        c("a listener that closes every connection: exit 3, the address, and it is the server",
          rc == 3 and f"wss://127.0.0.1:{lport}" in err and "Det er serveren" in err, out_of(rc, out, err))

        before = open(server_file, "rb").read()
        for what, url in (("an address where nothing listens", f"wss://127.0.0.1:{harness.free_port()}"),
                          ("a URL that is not wss://", f"https://127.0.0.1:{port_b}")):
            rc, out, err = env.cli(home, "config", "set", "server", url, timeout=30)
            c(f"config set server to {what} is refused and says nothing changed",
              rc != 0 and "ikke ændret" in err, out_of(rc, out, err))
            c(f"... the home's server file is unchanged ({what})", open(server_file, "rb").read() == before)

        # -- another organisation's varskod (its own keys; the CA is the same, so TLS alone would pass) --
        other.certs = env.certs
        other.write_config()
        other.ctl_ok("init")
        other.ctl_ok("import", harness.demo_file())
        other.start_varskod()
        rc, out, err = env.cli(home, "config", "set", "server", other.ws_url, timeout=30)
        c("config set server to another organisation's varskod is refused (its key is not the pinned one)",
          rc != 0 and "ikke ændret" in err and "bad_cert" in err, out_of(rc, out, err))
        c("... the home's server file is unchanged (foreign server)", open(server_file, "rb").read() == before)

        rc, out, err = env.cli(home, "config", "set", "server", f"wss://127.0.0.1:{port_b}", timeout=30)
        c("config set server wss://127.0.0.1:B logs in there and saves it", rc == 0 and str(port_b) in out,
          out_of(rc, out, err))
        rc, out, err = env.cli(home, "whoami", timeout=30)
        c("whoami works again on B", rc == 0 and "laerer-anna" in out, out_of(rc, out, err))

        # -- a CA that did not sign varskod's certificate: the certificate, and nothing is sent --
        with harness.Env(gateway=False) as third:
            third.make_certs()
            rc, out, err = env.cli(home, "whoami", ca=third.ca, timeout=30)
        c("with a CA that did not sign the server's certificate: it says it is the certificate (TLS), exit 1",
          rc == 1 and f"wss://127.0.0.1:{port_b}" in err and "Det er certifikatet" in err and "(kode: tls)" in err,
          out_of(rc, out, err))
        rc, out, err = env.cli(home, "config", "show")
        c("config show names port B", rc == 0 and f"wss://127.0.0.1:{port_b}" in out, out_of(rc, out, err))
        st = os.stat(server_file)
        c("the server file stays private (0600)", st.st_mode & 0o777 == 0o600, oct(st.st_mode & 0o777))
        rc, out, err = env.cli(home, "config", "set", "colour", "blue")
        c("config set of an unknown setting is a usage error (exit 2)", rc == 2, out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
