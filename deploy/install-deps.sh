#!/usr/bin/env bash
# deploy/install-deps.sh: the one place that lists and installs the Debian 12
# packages Varsko needs to build, run and test. It asks dpkg first, so a machine
# that has everything makes no network call; otherwise it runs `apt-get update`
# once and installs only what is missing.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: deploy/install-deps.sh [--runtime-only] [--list] [--help]

Installs the Debian packages Varsko needs (build, runtime and test tools)
that are not installed yet. Needs root when something is missing. nodejs and
npm (for the browser tools of the tests) are wanted only when `node` or `npm`
is not on PATH.

  --runtime-only  only what a deployment needs to run (the shared libraries, mosquitto, openssl, sqlite3)
  --list          print the packages that would be considered and exit
  --help          this text
USAGE
}

# scdoc turns docs/man/*.scd into the man pages at build time.
build_pkgs=(gcc meson ninja-build pkg-config libwebsockets-dev libmosquitto-dev
	libsodium-dev libsqlite3-dev libjansson-dev libssl-dev scdoc)
# The shared libraries varskod, varskoctl, varsko and varsko-agent link
# against (Debian 12 names), the broker, and the tools the docs use.
runtime_pkgs=(libwebsockets17 libmosquitto1 libsodium23 libsqlite3-0 libjansson4 libssl3
	mosquitto mosquitto-clients openssl sqlite3)
# systemd gives systemd-analyze (verify, security) even where it is not PID 1;
# man-db gives man and lexgrog for the man page checks; linux-perf gives perf, with
# which tests/bench counts varskod's fsyncs (tracepoint counters, no ptrace).
test_pkgs=(python3 python3-paho-mqtt python3-websockets python3-nacl python3-prometheus-client faketime tzdata
	clang libclang-rt-14-dev valgrind chromium fiu-utils systemd man-db linux-perf)
# Node.js and npm run the browser tools of the tests (tests/browser: playwright-core
# driving Debian's chromium). They are wanted only when `node` and `npm` are not on
# PATH already: a Node.js from another Debian-format source (e.g. one that bundles
# npm) conflicts with Debian's npm package, and any Node.js >= 18 will do.
node_pkgs=(nodejs npm)

runtime_only=0
list_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--runtime-only) runtime_only=1 ;;
	--list) list_only=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

if [ "$runtime_only" -eq 1 ]; then
	wanted=("${runtime_pkgs[@]}")
else
	wanted=("${build_pkgs[@]}" "${runtime_pkgs[@]}" "${test_pkgs[@]}")
	if [ "$list_only" -eq 1 ] || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		wanted+=("${node_pkgs[@]}")
	fi
fi

if [ "$list_only" -eq 1 ]; then
	printf '%s\n' "${wanted[@]}"
	exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps.sh: dpkg-query not found: this script supports Debian 12 only" >&2
	exit 1
fi

missing=()
for p in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps.sh: all ${#wanted[@]} packages are installed" >&2
	exit 0
fi

echo "install-deps.sh: installing: ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo_cmd=(sudo)
	else
		echo "install-deps.sh: missing packages (${missing[*]}) and not root (no sudo)" >&2
		exit 1
	fi
fi
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps.sh: done" >&2
