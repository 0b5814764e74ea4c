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
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def out_of(rc, out, err):
    return f"rc={rc} stdout={out.strip()[:300]!r} stderr={err.strip()[:300]!r}"


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

        # -- the server moves to port B --
        env.stop_varskod()
        port_b = harness.free_port()
        env.write_config(port=port_b)
        env.start_varskod()
        rc, out, err = env.cli(home, "whoami", timeout=30)
        c("after the move the home (still on A) cannot connect: exit 3 (worth trying again), in Danish with what "
          "to do and the code for support",
          rc == 3 and "Serveren kunne ikke nås." in err and "Døgnvagten" in err and "(kode: connect)" in err,
          out_of(rc, out, err))

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
        rc, out, err = env.cli(home, "config", "show")
        c("config show names port B", rc == 0 and f"wss://127.0.0.1:{port_b}" in out, out_of(rc, out, err))
        st = os.stat(server_file)
        c("the server file stays private (0600)", st.st_mode & 0o777 == 0o600, oct(st.st_mode & 0o777))
        rc, out, err = env.cli(home, "config", "set", "colour", "blue")
        c("config set of an unknown setting is a usage error (exit 2)", rc == 2, out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
