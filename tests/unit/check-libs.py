#!/usr/bin/python3
"""check-libs.py VARSKOCTL LIBGWSTORE: the store library stays apart from the daemon's.

varskoctl links only gwstore (gateway/meson.build), so its dynamic section
(readelf -d) must not NEED libwebsockets or libmosquitto, and the archive
gwstore must have no undefined lws_* or mosquitto_* symbol (nm -u). Exits 0
when both hold, 1 naming what is wrong, 77 when readelf or nm is missing.
"""
import re
import shutil
import subprocess
import sys

FORBIDDEN_LIBS = ("libwebsockets", "libmosquitto")
FORBIDDEN_SYMS = re.compile(r"^(lws_|mosquitto_)")


def main():
    if len(sys.argv) != 3:
        print("usage: check-libs.py VARSKOCTL LIBGWSTORE", file=sys.stderr)
        return 2
    ctl, lib = sys.argv[1], sys.argv[2]
    for tool in ("readelf", "nm"):
        if shutil.which(tool) is None:
            print(f"skip: {tool} not found (binutils)")
            return 77
    bad = []

    dyn = subprocess.run(["readelf", "-d", ctl], check=True, capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    if not needed:
        bad.append(f"{ctl}: readelf -d shows no NEEDED entry at all (not a dynamic executable?)")
    for n in needed:
        if n.startswith(FORBIDDEN_LIBS):
            bad.append(f"{ctl} needs {n}")
    print(f"varskoctl NEEDED: {' '.join(needed)}")

    undef = subprocess.run(["nm", "-u", "--format=posix", lib], check=True, capture_output=True,
                           text=True).stdout
    syms = set()
    for line in undef.splitlines():
        fields = line.split()
        if len(fields) >= 2 and not line.endswith(":"):
            syms.add(fields[0])
    if not syms:
        bad.append(f"{lib}: nm -u lists no undefined symbol at all (wrong file?)")
    forbidden = sorted(s for s in syms if FORBIDDEN_SYMS.match(s))
    bad += [f"{lib}: undefined {s}" for s in forbidden]
    print(f"gwstore: {len(syms)} undefined symbols, {len(forbidden)} of them lws_* or mosquitto_*")

    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
