#!/usr/bin/env bash
# deploy/npm-deps.sh: the one place that installs the npm packages Varsko
# needs, exactly as their package-lock.json says (`npm ci`): clients/web (the
# web client's build: dkfds, libsodium-wrappers-sumo, esbuild) and
# tests/browser (the browser suite: playwright-core, @axe-core/playwright).
# It runs `npm ci` only when node_modules is missing or was made from another
# lockfile (a copy of the lockfile it was made from is kept inside it), so a
# machine that has them makes no network call. Never downloads a browser.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: deploy/npm-deps.sh [--web-only] [--help]

Installs the npm packages of clients/web and tests/browser from their
package-lock.json (npm ci) when they are missing or out of date.
Needs node and npm (deploy/install-deps.sh installs them).

  --web-only  only clients/web (what building the web client needs)
  --help      this text
USAGE
}

dirs=(clients/web tests/browser)
while [ $# -gt 0 ]; do
	case "$1" in
	--web-only) dirs=(clients/web) ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "npm-deps.sh: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
	echo "npm-deps.sh: npm not found: run deploy/install-deps.sh first" >&2
	exit 1
fi
rc=0
for dir in "${dirs[@]}"; do
	stamp=$dir/node_modules/.varsko-package-lock.json
	if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
		continue
	fi
	echo "== npm ci in $dir" >&2
	if (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2) &&
		cp "$dir/package-lock.json" "$stamp"; then
		continue
	fi
	echo "npm-deps.sh: npm ci in $dir failed" >&2
	rc=1
done
exit $rc
