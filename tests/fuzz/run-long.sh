#!/usr/bin/env bash
# tests/fuzz/run-long.sh: run every libFuzzer target for a long time (an hour
# by default, shared between the targets), with the libraries under test
# instrumented (tests/fuzz/meson.build, -Dfuzzers=true). See --help.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: tests/fuzz/run-long.sh [--total SECONDS | --seconds SECONDS] [--only NAME[,NAME...]]
                              [--max-len BYTES] [--build-dir DIR] [--help]

Sets up (once) and builds a clang build directory with -Dfuzzers=true
(build-fuzz/: CC=clang meson setup build-fuzz -Dfuzzers=true), then runs each
fuzz target tests/fuzz/fuzz-NAME.c in turn with libFuzzer, one after the other,
starting from its seed corpus tests/fuzz/corpus/NAME/ (only read) and from what
earlier runs found. New corpus entries go to tests/fuzz/out/NAME/corpus/ (ignored
by git), libFuzzer's log to tests/fuzz/out/NAME/log.

On the first crash, leak, timeout or out-of-memory it stops, prints the
reproducer's path (tests/fuzz/out/NAME/crash-..., leak-..., timeout-..., oom-...)
and the command that replays it, and exits 1. Exits 0 when every target ran its
time without a finding, and prints per target the coverage (cov), the features
(ft), the executions and the new corpus entries.

  --total SECONDS    the whole run's budget, split evenly between the targets
                     (default 3600: an hour)
  --seconds SECONDS  each target's budget instead (e.g. --seconds 3600: an hour each)
  --only NAMES       only these targets (comma-separated, e.g. import,route)
  --max-len BYTES    the largest input libFuzzer makes (default 16384; a longer
                     seed is cut to it here, suite 'fuzz' replays it whole): the
                     64 KiB seed of msg would otherwise slow it tenfold
  --build-dir DIR    the build directory (default build-fuzz)
  --help             this text

Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev); when clang is
missing, deploy/install-deps.sh is run first. A finding becomes a regression
test by copying the reproducer into tests/fuzz/corpus/NAME/ (replayed in suite
'fuzz' of every build); new corpus entries worth keeping are merged with
  build-fuzz/tests/fuzz/fuzz-NAME -merge=1 tests/fuzz/corpus/NAME tests/fuzz/out/NAME/corpus
USAGE
}

total=3600
each=
only=
bdir=build-fuzz
max_len=16384
while [ $# -gt 0 ]; do
	case "$1" in
	--total | --seconds | --only | --max-len | --build-dir)
		if [ $# -lt 2 ]; then
			echo "run-long.sh: $1 needs a value" >&2
			exit 2
		fi
		case "$1" in
		--total) total=$2 ;;
		--seconds) each=$2 ;;
		--only) only=$2 ;;
		--max-len) max_len=$2 ;;
		--build-dir) bdir=$2 ;;
		esac
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "run-long.sh: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done
for n in "$total" "${each:-1}" "$max_len"; do
	if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
		echo "run-long.sh: times and lengths are whole numbers, at least 1: $n" >&2
		exit 2
	fi
done

cd "$(dirname "$0")/../.."
root=$(pwd)

# The targets: every tests/fuzz/fuzz-NAME.c, or those --only names.
targets=()
for f in tests/fuzz/fuzz-*.c; do
	n=${f#tests/fuzz/fuzz-}
	targets+=("${n%.c}")
done
if [ -n "$only" ]; then
	IFS=, read -r -a wanted <<<"$only"
	for w in "${wanted[@]}"; do
		if [ ! -f "tests/fuzz/fuzz-$w.c" ]; then
			echo "run-long.sh: no fuzz target $w (tests/fuzz/fuzz-$w.c); there are: ${targets[*]}" >&2
			exit 2
		fi
	done
	targets=("${wanted[@]}")
fi
if [ -z "$each" ]; then
	each=$((total / ${#targets[@]}))
	[ "$each" -ge 1 ] || each=1
fi

# clang with libFuzzer's runtime.
if ! command -v clang >/dev/null; then
	echo "run-long.sh: clang is missing; running deploy/install-deps.sh" >&2
	deploy/install-deps.sh
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe/t.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/t.c" -o "$probe/t" 2>"$probe/err"; then
	echo "run-long.sh: clang cannot link a libFuzzer binary (Debian: libclang-rt-14-dev; deploy/install-deps.sh):" >&2
	cat "$probe/err" >&2
	exit 1
fi

# The build directory: set up with clang and -Dfuzzers=true, or made so.
if [ ! -f "$bdir/build.ninja" ]; then
	CC=clang meson setup "$bdir" -Dfuzzers=true
elif ! meson introspect "$bdir" --buildoptions | /usr/bin/python3 -c '
import json, sys
opts = {o["name"]: o["value"] for o in json.load(sys.stdin)}
sys.exit(0 if opts.get("fuzzers") else 1)'; then
	meson configure "$bdir" -Dfuzzers=true
fi
if ! /usr/bin/python3 -c '
import json, os, sys
cmds = json.load(open(sys.argv[1]))
sys.exit(0 if cmds and "clang" in os.path.basename(cmds[0]["command"].split()[0]) else 1)' "$bdir/compile_commands.json"; then
	echo "run-long.sh: $bdir was not set up with clang; remove it or name another with --build-dir" >&2
	exit 1
fi
ninja -C "$bdir" "${targets[@]/#/tests/fuzz/fuzz-}"

echo "run-long.sh: ${#targets[@]} target(s), ${each} s each: ${targets[*]}"
summary=()
for t in "${targets[@]}"; do
	out="tests/fuzz/out/$t"
	mkdir -p "$out/corpus"
	before=$(find "$out/corpus" -type f | wc -l)
	echo "run-long.sh: fuzz-$t for ${each} s (log: $out/log)"
	set +e
	"$bdir/tests/fuzz/fuzz-$t" -max_total_time="$each" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 \
		-artifact_prefix="$out/" "$out/corpus" "tests/fuzz/corpus/$t" >"$out/log" 2>&1
	rc=$?
	set -e
	if [ "$rc" -ne 0 ]; then
		repro=$(grep -o "Test unit written to .*" "$out/log" | tail -n 1 | sed 's/^Test unit written to //')
		echo "run-long.sh: fuzz-$t FOUND SOMETHING (exit $rc):" >&2
		grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error)" "$out/log" | head -n 5 >&2 || true
		echo "  reproducer: ${repro:-(none written; see $out/log)}" >&2
		[ -n "$repro" ] && echo "  replay:     $bdir/tests/fuzz/fuzz-$t $repro" >&2
		echo "  log:        $root/$out/log" >&2
		exit 1
	fi
	line=$(grep -E "DONE +cov:" "$out/log" | tail -n 1 || true)
	after=$(find "$out/corpus" -type f | wc -l)
	summary+=("$(printf '%-13s %s; new corpus entries: %d' "$t" \
		"$(echo "$line" | grep -oE 'cov: [0-9]+ ft: [0-9]+' || echo 'cov: ?')" $((after - before)))")
	summary[-1]+="; executions: $(grep -oE 'number_of_executed_units: [0-9]+' "$out/log" | grep -oE '[0-9]+$' || echo '?')"
done
echo "run-long.sh: no finding in ${#targets[@]} target(s) (${each} s each)"
printf '  %s\n' "${summary[@]}"
