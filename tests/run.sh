#!/usr/bin/env bash
# tests/run.sh: the one command that installs what is missing, builds Varsko
# (a normal build and an AddressSanitizer+UBSan build), runs every test suite,
# and prints as its very last line "N passed, N failed, N skipped", counted
# from meson's test logs. Exits non-zero when a build or any test failed.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: tests/run.sh [--quick | --bench] [--help]

Installs missing Debian packages (deploy/install-deps.sh) and the npm packages of
clients/web and tests/browser (deploy/npm-deps.sh: npm ci when node_modules is
missing or made from another package-lock.json; never a browser download:
Debian's chromium is used), then:
  build/       meson setup + ninja (also the web client); meson test (all suites:
               unit, fuzz, integration, web, browser); unit suite under valgrind
  build-release/  --buildtype=release (as packagers build): must build warning-free
  build-asan/  -Db_sanitize=address,undefined; meson test --suite unit,fuzz,integration
and prints the totals as its last line: "N passed, N failed, N skipped".
A skipped test is not a pass. Exit status 0 only when nothing failed.

  --quick   only the normal build (no sanitizer build, no valgrind run)
  --bench   instead of the tests: the normal build, then tests/bench/run.sh
            (every benchmark; figures printed and written to build/bench/, never
            asserted; about 20 minutes, not part of CI); its last line is
            "N benchmarks ran, N failed"
  --help    this text

Environment: VARSKO_BUILD_DIR, VARSKO_RELEASE_DIR and VARSKO_ASAN_DIR name the
build directories (default build, build-release and build-asan).
USAGE
}

quick=0
bench=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--bench) bench=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "run.sh: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

cd "$(dirname "$0")/.."
root=$(pwd)
py=/usr/bin/python3
bdir=${VARSKO_BUILD_DIR:-build}
adir=${VARSKO_ASAN_DIR:-build-asan}
rdir=${VARSKO_RELEASE_DIR:-build-release}

passed=0
failed=0
skipped=0

summary() {
	echo "$passed passed, $failed failed, $skipped skipped"
}

if ! deploy/install-deps.sh; then
	echo "run.sh: FATAL: deploy/install-deps.sh could not install the packages Varsko needs" >&2
	failed=$((failed + 1))
	summary
	exit 1
fi
if [ ! -x "$py" ]; then
	echo "run.sh: FATAL: $py not found" >&2
	failed=$((failed + 1))
	summary
	exit 1
fi

# The npm packages of the web client (clients/web: built by meson) and of the
# browser suite (tests/browser: playwright-core driving Debian's chromium), from
# their package-lock.json (deploy/npm-deps.sh: npm ci only when out of date).
# A failure is one failed test: the web client is then not built and the
# browser tests skip.
if ! deploy/npm-deps.sh; then
	echo "run.sh: deploy/npm-deps.sh failed: counted as one failure" >&2
	failed=$((failed + 1))
fi

# setup DIR ARGS...: configure DIR (reconfigure when it exists) and build it.
setup() {
	local dir=$1
	shift
	local mode=()
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		mode=(--reconfigure)
	fi
	echo "== meson setup ${mode[*]} $dir $*" >&2
	meson setup "${mode[@]}" "$dir" "$@" >&2 && ninja -C "$dir" >&2
}

# count LOG: add the results in a meson testlog.json to the totals. A missing
# or unreadable log is one failure.
count() {
	local log=$1 line
	if [ ! -s "$log" ]; then
		echo "run.sh: no test log $log: counted as one failure" >&2
		failed=$((failed + 1))
		return 0
	fi
	if ! line=$("$py" - "$log" <<'PY'
import json, sys
p = f = s = 0
with open(sys.argv[1], encoding="utf-8") as fh:
    for raw in fh:
        raw = raw.strip()
        if not raw:
            continue
        r = json.loads(raw).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, anything unknown
            f += 1
print(p, f, s)
PY
	); then
		echo "run.sh: cannot parse $log: counted as one failure" >&2
		failed=$((failed + 1))
		return 0
	fi
	local p f s
	read -r p f s <<<"$line"
	echo "run.sh: $log: $p passed, $f failed, $s skipped" >&2
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

# runtests DIR LOGNAME ARGS...: meson test in DIR (--no-rebuild: exactly
# what setup() built is tested), then count its log. A non-zero exit of meson
# test with no failure in its log (meson itself failed) is one failure.
runtests() {
	local dir=$1 logname=$2
	shift 2
	local log="$dir/meson-logs/$logname" before=$failed rc=0
	rm -f "$log"
	echo "== meson test -C $dir $*" >&2
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@" >&2 || rc=$?
	count "$log"
	if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		echo "run.sh: meson test -C $dir exited $rc without a failed test: counted as one failure" >&2
		failed=$((failed + 1))
	fi
}

# --bench: the benchmarks on the normal build, nothing else: tests/bench/run.sh
# (every benchmark of issue 13, bench_threads.py's thread relay among them).
# It prints its figures and, as its last line, "N benchmarks ran, N failed";
# its exit status is ours.
if [ "$bench" -eq 1 ]; then
	if ! setup "$bdir"; then
		echo "run.sh: the build in $bdir/ failed: counted as one failure" >&2
		failed=$((failed + 1))
		summary
		exit 1
	fi
	VARSKO_BUILD_DIR="$bdir" exec tests/bench/run.sh
fi

if setup "$bdir"; then
	runtests "$bdir" testlog.json
	if [ "$quick" -eq 0 ]; then
		runtests "$bdir" testlog-valgrind.json --setup valgrind --suite unit
	fi
else
	echo "run.sh: the build in $bdir/ failed: counted as one failure" >&2
	failed=$((failed + 1))
fi

# The configuration packagers build (Debian's packaging uses --buildtype=release:
# -O3, where GCC finds more maybe-uninitialised paths): it must build
# warning-free too (werror is on). One test: passed when it builds.
if setup "$rdir" --buildtype=release; then
	echo "run.sh: the release build in $rdir/ builds warning-free: counted as one passed test" >&2
	passed=$((passed + 1))
else
	echo "run.sh: the release build in $rdir/ failed: counted as one failure" >&2
	failed=$((failed + 1))
fi

if [ "$quick" -eq 0 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	if setup "$adir" -Db_sanitize=address,undefined -Db_lundef=false; then
		runtests "$adir" testlog.json --suite unit --suite fuzz --suite integration
	else
		echo "run.sh: the build in $adir/ failed: counted as one failure" >&2
		failed=$((failed + 1))
	fi
fi

echo "run.sh: source $root" >&2
summary
[ "$failed" -eq 0 ]
