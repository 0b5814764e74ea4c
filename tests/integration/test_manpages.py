#!/usr/bin/python3
"""Man pages (issue 12, part 5): built, clean, installed, and true to the code.

The five pages of docs/man/ are made by scdoc at build time. Each one must
render with `man --warnings` without a single warning, have a NAME section
that lexgrog finds, and be installed by `meson install` under
<prefix>/<mandir>/man<section>/. Then the pages are compared with the
programs themselves: every command word of `varskoctl --help` and every
command of `varsko --help` has its entry, every long option that a --help
text (of the program, of each command, of each group) names appears in its
page, and every key of the table in gateway/config.c has an entry in
varskod.conf(5) that states the key's range, its default and whether it is
required, as config.c does. A new command, option or key without its
documentation fails here.
"""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PAGES = ["varskod.8", "varskoctl.8", "varsko.1", "varsko-agent.8", "varskod.conf.5"]
MAN_ENV = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
LONG_OPT = re.compile(r"(?<![\w-])--[a-zæøå][a-zæøå0-9-]*")


def short(text, n=400):
    text = text.strip()
    return text if len(text) <= n else text[:n] + "..."


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def plain(page):
    """The page as text for searching: no hyphenation or justification, no formatting."""
    rc, out, err = run(["man", "--nh", "--nj", "-E", "UTF-8", "-l", page], env=MAN_ENV)
    out = re.sub(r".\x08", "", out)
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    return out if rc == 0 else ""


def flat(text):
    return " ".join(text.split())


def has_phrase(text, phrase):
    """phrase occurs in text as whole words (a hyphen belongs to the word)."""
    return re.search(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", text) is not None


def options_of(text):
    return set(LONG_OPT.findall(text))


def help_text(argv):
    rc, out, err = run(argv)
    return out if rc == 0 else ""


def ctl_commands(help_out):
    """Command phrases of `varskoctl --help`: "init", "audit verify", "org admin-add", ..."""
    phrases = []
    lines = help_out.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("Commands")), len(lines))
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        words = re.split(r"\s{2,}", line.strip())[0].split()
        if len(words) >= 2 and re.fullmatch(r"[a-z][a-z|-]*", words[1]):
            phrases += [f"{words[0]} {sub}" for sub in words[1].split("|")]
        else:
            phrases.append(words[0])
    return phrases


def cli_commands(help_out):
    """Command phrases of `varsko --help`: "enroll", "device recover", "myndighed vurder", ..."""
    phrases = []
    lines = help_out.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("Kommandoer")), len(lines))
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        words = re.split(r"\s{2,}", line.strip())[0].split()
        if len(words) >= 2 and re.fullmatch(r"[a-zæøå][a-zæøå-]*", words[1]):
            phrases.append(f"{words[0]} {words[1]}")
        else:
            phrases.append(words[0])
    return phrases


def config_keys(source):
    """The key table of gateway/config.c: [(name, kind, fields)] in table order."""
    m = re.search(r"static const struct key_def keys\[\] = \{(.*?)\n\};", source, re.S)
    if m is None:
        return []
    keys = []
    for line in m.group(1).splitlines():
        line = line.strip()
        if (k := re.match(r"INT\(\s*(\w+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)", line)):
            keys.append((k.group(1), "int", (int(k.group(2)), int(k.group(3)), int(k.group(4)))))
        elif (k := re.match(r'STR\(\s*(\w+)\s*,\s*\w+\s*,\s*(\w+)\s*,\s*(NULL|"[^"]*")\s*\)', line)):
            default = None if k.group(3) == "NULL" else k.group(3)[1:-1]
            keys.append((k.group(1), "str", (k.group(2) == "F_REQUIRED", default)))
        elif (k := re.match(r'\{\s*"(\w+)"', line)):
            keys.append((k.group(1), "other", None))
        elif line and not line.startswith(("/*", "*", "//")):
            keys.append((line, "unparsed", None))
    return keys


def conf_entries(text):
    """varskod.conf(5): key -> the flattened text of its entry ("key = type" and what follows)."""
    entries, cur, body = {}, None, []
    for line in text.splitlines():
        head = re.match(r"^ {7}([a-z0-9_]+) = ", line)
        if head or re.match(r"^ {0,7}\S", line):
            if cur is not None:
                entries[cur] = flat(" ".join(body))
            cur, body = (head.group(1), [line]) if head else (None, [])
        elif cur is not None:
            body.append(line)
    if cur is not None:
        entries[cur] = flat(" ".join(body))
    return entries


def main():
    checks = harness.Checks()
    c = checks.check
    for tool in ("man", "lexgrog", "meson"):
        if shutil.which(tool) is None:
            harness.skip(f"{tool} is not installed (deploy/install-deps.sh installs man-db and meson)")
    ctl = harness.binary("gateway/varskoctl")
    daemon = harness.binary("gateway/varskod")
    cli = harness.binary("clients/cli/varsko")
    agent = harness.binary("clients/agent/varsko-agent")
    built = {p: os.path.join(harness.BUILD_ROOT, "docs", "man", p) for p in PAGES}

    # 1-3: built, rendered without warnings, NAME found.
    text = {}
    for p in PAGES:
        path = built[p]
        if not c(f"{p} is built in docs/man/", os.path.isfile(path), path):
            continue
        rc, out, err = run(["man", "--warnings", "-E", "UTF-8", "-l", path], env=MAN_ENV)
        c(f"{p}: man --warnings renders it without a warning", rc == 0 and err == "" and "NAME" in out,
          f"rc={rc} stderr={short(err)!r}")
        rc, out, err = run(["lexgrog", path])
        name = p.rsplit(".", 1)[0]
        c(f"{p}: lexgrog finds its NAME section", rc == 0 and f'"{name} - ' in out,
          f"rc={rc} out={short(out)!r} err={short(err)!r}")
        text[p] = flat(plain(path))
        c(f"{p}: has SEE ALSO", "SEE ALSO" in text[p])

    # 4: meson install puts them under <prefix>/<mandir>/man<section>/.
    with harness.Env(gateway=False) as env:
        dest = env.path("destdir")
        rc, out, err = run(["meson", "install", "-C", harness.BUILD_ROOT, "--no-rebuild", "--quiet",
                            "--destdir", dest])
        c("meson install --destdir works", rc == 0, f"rc={rc} {short(out + err, 1500)!r}")
        rc, out, err = run(["meson", "introspect", "--buildoptions", harness.BUILD_ROOT])
        try:
            opts = {o["name"]: o["value"] for o in json.loads(out)}
        except (ValueError, KeyError, TypeError):
            opts = {}
        prefix, mandir = opts.get("prefix", ""), opts.get("mandir", "")
        c("meson introspect gives prefix and mandir", rc == 0 and prefix.startswith("/") and mandir != "",
          f"rc={rc} prefix={prefix!r} mandir={mandir!r}")
        man_root = os.path.join(dest, os.path.join(prefix, mandir).lstrip("/"))
        for p in PAGES:
            inst = os.path.join(man_root, "man" + p.rsplit(".", 1)[1], p)
            same = False
            if os.path.isfile(inst) and os.path.isfile(built[p]):
                with open(inst, "rb") as a, open(built[p], "rb") as b:
                    same = a.read() == b.read()
            c(f"{p} is installed as {os.path.relpath(inst, dest)}", same, inst)

    # 5: the pages cover the programs as they are.
    ctl_help = help_text([ctl, "--help"])
    phrases = ctl_commands(ctl_help)
    c("varskoctl --help lists its commands", len(phrases) >= 10, short(ctl_help))
    missing = [w for w in phrases if not has_phrase(text.get("varskoctl.8", ""), w)]
    c(f"varskoctl.8 documents every command of varskoctl --help ({len(phrases)})", not missing,
      f"missing: {missing}")
    opts = options_of(ctl_help)
    for cmd in sorted({w.split()[0] for w in phrases}):
        out = help_text([ctl, cmd, "--help"])
        c(f"varskoctl {cmd} --help works", "usage" in out, short(out))
        opts |= options_of(out)
    missing = sorted(o for o in opts if not has_phrase(text.get("varskoctl.8", ""), o))
    c(f"varskoctl.8 documents every option of varskoctl's help texts ({len(opts)})", not missing,
      f"missing: {missing}")

    cli_help = help_text([cli, "--help"])
    phrases = cli_commands(cli_help)
    c("varsko --help lists its commands", len(phrases) >= 20, short(cli_help))
    missing = [w for w in phrases if not has_phrase(text.get("varsko.1", ""), w)]
    c(f"varsko.1 documents every command of varsko --help ({len(phrases)})", not missing, f"missing: {missing}")
    opts = options_of(cli_help)
    for first in sorted({w.split()[0] for w in phrases}):
        out = help_text([cli, first, "--help"])
        c(f"varsko {first} --help works", "usage" in out, short(out))
        opts |= options_of(out)
    missing = sorted(o for o in opts if not has_phrase(text.get("varsko.1", ""), o))
    c(f"varsko.1 documents every option of varsko's help texts ({len(opts)})", not missing, f"missing: {missing}")
    # Help everywhere (issue 11): every command phrase with --help and -h, exit 0, its own usage on stdout.
    bad = []
    for phrase in phrases:
        for flag in ("--help", "-h"):
            rc, out, err = run([cli, *phrase.split(), flag])
            if rc != 0 or f"usage: varsko {phrase}" not in out:
                bad.append(f"{phrase} {flag}: rc={rc}")
    c(f"varsko COMMAND --help and -h: exit 0 with the command's usage, for all {len(phrases)} commands",
      not bad, str(bad[:6]))
    bad = []
    for prog in (cli, ctl, os.path.join(harness.BUILD_ROOT, "gateway", "varskod"),
                 os.path.join(harness.BUILD_ROOT, "clients", "agent", "varsko-agent")):
        for flags, want in ((["-h"], "usage"), (["--help"], "usage"), (["--version"], "0."), (["-V"], "0.")):
            rc, out, err = run([prog, *flags])
            if rc != 0 or want not in out.lower():
                bad.append(f"{os.path.basename(prog)} {flags[0]}: rc={rc}")
    c("-h, --help, --version and -V: exit 0 on varsko, varskoctl, varskod and varsko-agent", not bad, str(bad))
    for var in ("VARSKO_HOME", "VARSKO_CA"):
        c(f"varsko.1 documents {var}", has_phrase(text.get("varsko.1", ""), var))

    for prog, page in ((daemon, "varskod.8"), (agent, "varsko-agent.8")):
        opts = options_of(help_text([prog, "--help"]))
        missing = sorted(o for o in opts if not has_phrase(text.get(page, ""), o))
        c(f"{page} documents every option of {os.path.basename(prog)} --help ({len(opts)})",
          len(opts) >= 3 and not missing, f"missing: {missing}")

    with open(os.path.join(harness.SOURCE_ROOT, "gateway", "config.c"), encoding="utf-8") as f:
        keys = config_keys(f.read())
    unparsed = [k for k, kind, _ in keys if kind == "unparsed"]
    c(f"the key table of gateway/config.c parses ({len(keys)} keys)", len(keys) >= 20 and not unparsed,
      f"lines not understood: {unparsed}")
    entries = conf_entries(plain(built["varskod.conf.5"])) if os.path.isfile(built["varskod.conf.5"]) else {}
    missing = [k for k, _, _ in keys if k not in entries]
    c("varskod.conf.5 has an entry for every key of config.c", not missing, f"missing: {missing}")
    unknown = sorted(set(entries) - {k for k, _, _ in keys})
    c("varskod.conf.5 has no entry for a key config.c does not accept", not unknown, f"unknown: {unknown}")
    # The example configuration is documentation too: every key, set or commented out, and nothing else.
    example_path = os.path.join(harness.SOURCE_ROOT, "deploy", "varskod.conf.example")
    example = {m.group(1) for m in re.finditer(r"^#?(\w+) = ", open(example_path, encoding="utf-8").read(), re.M)}
    c("deploy/varskod.conf.example names every key of config.c",
      not [k for k, _, _ in keys if k not in example], f"missing: {[k for k, _, _ in keys if k not in example]}")
    c("deploy/varskod.conf.example names no key config.c does not accept",
      not sorted(example - {k for k, _, _ in keys}), f"unknown: {sorted(example - {k for k, _, _ in keys})}")
    varskod = os.path.join(harness.BUILD_ROOT, "gateway", "varskod")
    r = subprocess.run([varskod, "--check-config", "-c", example_path], capture_output=True, text=True, timeout=30)
    c("deploy/varskod.conf.example parses (varskod --check-config gets as far as the key files it names)",
      "secret file does not exist" in r.stderr + r.stdout, r.stderr.strip()[:300])
    wrong = []
    for name, kind, spec in keys:
        e = entries.get(name)
        if e is None:
            continue
        if kind == "int":
            default, lo, hi = spec
            if f"{lo}..{hi}" not in e:
                wrong.append(f"{name}: range {lo}..{hi}")
            if not (default == 0 and lo > 0) and not re.search(rf"Default: {default}\b", e):
                wrong.append(f"{name}: default {default}")
        elif kind == "str":
            required, default = spec
            if required and "Required." not in e:
                wrong.append(f"{name}: required")
            if default is not None and f"Default: {default}" not in e:
                wrong.append(f"{name}: default {default}")
            if not required and default is None and "Default: none" not in e:
                wrong.append(f"{name}: no default")
    c("each key's entry in varskod.conf.5 states its range, default and whether it is required as config.c does",
      not wrong, f"differs: {wrong}")
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
