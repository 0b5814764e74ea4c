#!/usr/bin/env bash
# deploy/quickstart.sh: a running Varsko demo on this machine in one command.
#
# Installs what is missing, builds, makes development certificates, configures
# and initialises varskod, imports the demo municipality (Slagelse), starts
# mosquitto and varskod in the background on loopback, enrolls and starts one
# varsko-agent per team (filing into STATE/cases/<team>/), and prints one
# enrollment code per demo user with the commands to try. Everything it makes
# lives in the state directory ($VARSKO_DEMO_DIR, default REPO/.demo).
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: deploy/quickstart.sh [--json] [--no-install] [--no-build]
       deploy/quickstart.sh stop
       deploy/quickstart.sh --help

Starts a local Varsko demo: mosquitto (TLS, client certificates, ACL) and
varskod (WSS) on 127.0.0.1, with the demo municipality imported, and one
varsko-agent per team (the demo users agent-<team>, enrolled once, filing
each underretning as STATE/cases/<team>/<reference>.json). Prints the web and
WebSocket addresses, the CA file, the organisation key fingerprint, one fresh
enrollment code per demo user (agents excluded) and the commands to enroll a
device, see who it is and send an underretning.

Running it again stops the running demo and starts it anew on the same state
(database, keys, certificates, agent homes, case directories), with new codes.

  --json        print everything as one JSON object on stdout (progress goes to stderr)
  --no-install  do not run deploy/install-deps.sh or deploy/npm-deps.sh
  --no-build    do not run meson/ninja (build/ must exist)
  stop          stop the demo's agents, varskod and mosquitto (from their pid files)
  --help        this text

Environment:
  VARSKO_DEMO_DIR  state directory (default: REPO/.demo); holds certs/, the
                   config, the database, keys, logs and pid files
  VARSKO_PORT      WSS port to try first (default: the last run's, else 8443; a free one if busy)
  VARSKO_MQTT_PORT MQTT port to try first (default: the last run's, else 8883; a free one if busy)
  VARSKO_ADMIN_PORT admin port (/healthz, /metrics) to try first (default: the last run's, else 8444)
  VARSKO_BUILD_ROOT build directory (default: REPO/build)
USAGE
}

repo=$(cd "$(dirname "$0")/.." && pwd)
state=${VARSKO_DEMO_DIR:-$repo/.demo}
py=/usr/bin/python3
demo_json=$repo/deploy/demo/slagelse.json
build=${VARSKO_BUILD_ROOT:-$repo/build}

json=0
install=1
do_build=1
cmd=start
while [ $# -gt 0 ]; do
	case "$1" in
	--json) json=1 ;;
	--no-install) install=0 ;;
	--no-build) do_build=0 ;;
	stop) cmd=stop ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "quickstart.sh: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

say() {
	echo "quickstart: $*" >&2
}

die() {
	echo "quickstart: ERROR: $*" >&2
	exit 1
}

# port_free PORT: true when nothing on 127.0.0.1 listens on PORT and it can be bound.
port_free() {
	"$py" - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# As varskod and mosquitto bind: a port whose last connection is in TIME-WAIT is free.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# pick_port PREFERRED: PREFERRED when free, else a free port from the kernel.
pick_port() {
	if port_free "$1"; then
		echo "$1"
		return 0
	fi
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT PIDFILE NAME: wait up to 20 s for 127.0.0.1:PORT to accept.
wait_port() {
	local port=$1 pid i
	pid=$(cat "$2")
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start_bg NAME PROGRAM ARGS...: run PROGRAM in its own session, detached
# from the terminal, output appended to STATE/NAME.log, its pid (the program's
# own: the shell execs it) in STATE/NAME.pid.
start_bg() {
	local name=$1 i
	shift
	rm -f "$state/$name.pid"
	# shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell
	nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$state/$name.pid" "$@" \
		>>"$state/$name.log" 2>&1 </dev/null &
	for ((i = 0; i < 50; i++)); do
		[ -s "$state/$name.pid" ] && return 0
		sleep 0.1
	done
	die "$name did not start"
}

# stop_one NAME: stop the process in STATE/NAME.pid if it is still that program.
stop_one() {
	local name=$1 pidfile="$state/$1.pid" pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$name"; then
		say "stopping $name (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name did not stop in 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

stop_agents() {
	local f
	for f in "$state"/agent-*.pid; do
		[ -e "$f" ] || continue
		f=${f##*/}
		stop_one "${f%.pid}"
	done
}

stop_all() {
	stop_agents
	stop_one varskod
	stop_one mosquitto
}

if [ "$cmd" = stop ]; then
	stop_all
	say "stopped"
	exit 0
fi

# From here on stdout is the result only; everything else goes to stderr.
if [ "$install" -eq 1 ]; then
	"$repo/deploy/install-deps.sh" >&2 || die "deploy/install-deps.sh failed"
	# The web client's npm packages (package-lock.json), before the build bundles them.
	"$repo/deploy/npm-deps.sh" --web-only >&2 || die "deploy/npm-deps.sh failed"
fi
[ -x "$py" ] || die "$py not found (deploy/install-deps.sh installs python3)"
[ -f "$demo_json" ] || die "missing $demo_json"

if [ "$do_build" -eq 1 ]; then
	if [ ! -f "$build/meson-private/coredata.dat" ]; then
		say "meson setup $build"
		meson setup "$build" "$repo" >&2 || die "meson setup failed"
	fi
	say "ninja -C $build"
	ninja -C "$build" >&2 || die "the build failed"
fi
varskod=$build/gateway/varskod
varskoctl=$build/gateway/varskoctl
varsko=$build/clients/cli/varsko
agent=$build/clients/agent/varsko-agent
for b in "$varskod" "$varskoctl" "$varsko" "$agent"; do
	[ -x "$b" ] || die "$b is not built"
done

umask 077
mkdir -p "$state"
chmod 0700 "$state"
state=$(cd "$state" && pwd)

# A second run starts over with the same state: stop what the first started.
stop_all

# Teams (for the agents' MQTT certificates and the ACL) from the demo document.
mapfile -t teams < <("$py" -c '
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
for t in doc.get("teams", []):
    tid = t.get("id") if isinstance(t, dict) else t
    if tid:
        print(tid)
' "$demo_json")
if [ ${#teams[@]} -eq 0 ]; then
	teams=(team-slagelse team-korsoer-skaelskoer team-ung team-handicap doegnvagt)
fi
team_args=()
for t in "${teams[@]}"; do
	team_args+=(--team "$t")
done

say "certificates in $state/certs"
"$repo/certs/mkdev.sh" "${team_args[@]}" "$state/certs" >&2 || die "certs/mkdev.sh failed"

# A rerun keeps the ports of the last run (every enrolled home names the
# WebSocket address), unless VARSKO_PORT / VARSKO_MQTT_PORT say otherwise.
conf_port() {
	[ -f "$state/varskod.conf" ] && sed -n "s/^$1 = \([0-9][0-9]*\)\$/\1/p" "$state/varskod.conf" | head -n 1
}
prev_port=$(conf_port port || true)
prev_mqtt_port=$(conf_port mqtt_port || true)
prev_admin_port=$(conf_port admin_port || true)
port=$(pick_port "${VARSKO_PORT:-${prev_port:-8443}}")
mqtt_port=$(pick_port "${VARSKO_MQTT_PORT:-${prev_mqtt_port:-8883}}")
if [ -n "$prev_port" ] && [ "$port" != "$prev_port" ]; then
	say "port $prev_port of the last run is taken: varskod moves to $port; enrolled homes follow with" \
		"'varsko config set server wss://127.0.0.1:$port'"
fi
if [ "$mqtt_port" = "$port" ]; then
	mqtt_port=$(pick_port 0)
fi
admin_port=$(pick_port "${VARSKO_ADMIN_PORT:-${prev_admin_port:-8444}}")
while [ "$admin_port" = "$port" ] || [ "$admin_port" = "$mqtt_port" ]; do
	admin_port=$(pick_port 0)
done
conf=$state/varskod.conf
cat >"$conf" <<EOF_CONF
# varskod configuration of the local demo, written by deploy/quickstart.sh.
listen = 127.0.0.1
port = $port
tls_cert = $state/certs/server.crt
tls_key = $state/certs/server.key
database = $state/varsko.db
org_key = $state/org.key
gateway_key = $state/gateway.key
gateway_cert = $state/gateway.cert
origins = wss://localhost:$port wss://127.0.0.1:$port
tenant = slagelse
log_level = info
admin_listen = 127.0.0.1
admin_port = $admin_port
mqtt_host = 127.0.0.1
mqtt_port = $mqtt_port
mqtt_ca = $state/certs/ca.crt
mqtt_cert = $state/certs/varskod.crt
mqtt_key = $state/certs/varskod.key
EOF_CONF
# The web client as the build made it (clients/web/meson.build), served on the HTTPS port:
# a copy in the state directory, signed with the demo's root key below (PROTOCOL.md 18),
# as an operator signs a release offline before installing it.
web_root=
if [ -f "$build/clients/web/dist/index.html" ]; then
	web_root=$state/web
	rm -rf "$web_root"
	cp -r "$build/clients/web/dist" "$web_root" || die "cannot copy the web client to $web_root"
	echo "web_root = $web_root" >>"$conf"
else
	say "WARNING: the web client is not built ($build/clients/web/dist): varskod serves no web pages"
fi

have=0
for f in varsko.db org.key gateway.key gateway.cert; do
	if [ -e "$state/$f" ]; then
		have=$((have + 1))
	fi
done
if [ "$have" -eq 0 ]; then
	say "varskoctl init"
	"$varskoctl" -c "$conf" init >&2 || die "varskoctl init failed"
elif [ "$have" -ne 4 ]; then
	die "$state holds only part of an initialised gateway; remove it (or set VARSKO_DEMO_DIR) and run again"
fi
say "varskoctl import deploy/demo/slagelse.json"
"$varskoctl" -c "$conf" import "$demo_json" >&2 || die "varskoctl import failed"
# The organisation root key signs the org chain (PROTOCOL.md 16); devices
# check its fingerprint when they enroll. In production the key file lives
# offline; the demo keeps it in the state directory.
root_key=$state/org-root.key
if ! "$varskoctl" -c "$conf" org show >/dev/null 2>&1; then
	say "varskoctl org init (root key $root_key)"
	"$varskoctl" -c "$conf" org init --root-key "$root_key" >&2 || die "varskoctl org init failed"
fi
if [ -n "$web_root" ]; then
	say "varskoctl release sign (the web client in $web_root, with the root key)"
	"$varskoctl" release sign --root-key "$root_key" "$web_root" >&2 || die "varskoctl release sign failed"
fi

say "mosquitto on 127.0.0.1:$mqtt_port"
mqtt_conf=$("$repo/deploy/mosquitto/mkconf.sh" --port "$mqtt_port" --certs "$state/certs" \
	--state "$state/mqtt" "${team_args[@]}" --log "$state/mosquitto.log") || die "mosquitto config failed"
start_bg mosquitto mosquitto -c "$mqtt_conf"
if ! wait_port "$mqtt_port" "$state/mosquitto.pid"; then
	tail -n 20 "$state/mosquitto.log" >&2 || true
	stop_all
	die "mosquitto did not start (log: $state/mosquitto.log)"
fi

say "varskod on 127.0.0.1:$port (health and metrics: http://127.0.0.1:$admin_port/healthz and /metrics)"
start_bg varskod "$varskod" -c "$conf"
if ! wait_port "$port" "$state/varskod.pid"; then
	tail -n 20 "$state/varskod.log" >&2 || true
	stop_all
	die "varskod did not start (log: $state/varskod.log)"
fi

# One fresh code per demo user; the agents (role agent) are enrolled below.
invites=$state/invites.jsonl
: >"$invites"
mapfile -t users < <("$py" -c '
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
for u in doc.get("users", []):
    uid = u.get("id") or u.get("user")
    if uid and u.get("role") not in ("agent", "admin", "leder"):
        print(uid)
' "$demo_json")
for u in "${users[@]}"; do
	if ! "$varskoctl" -c "$conf" invite --user "$u" --json >>"$invites"; then
		stop_all
		die "varskoctl invite --user $u failed"
	fi
	echo >>"$invites"
done
org_fpr=$("$py" -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if line.strip():
        print(json.loads(line).get("org_fingerprint", "")); break
' "$invites")

# home_fpr HOME: the fingerprint (proto.h proto_fingerprint) of the organisation
# root key pinned in HOME, else of its organisation key, or nothing when HOME
# holds neither.
home_fpr() {
	"$py" - "$1/root.pub" "$1/org.pub" <<'PY'
import base64, hashlib, os, struct, sys
path = sys.argv[1] if os.path.exists(sys.argv[1]) else sys.argv[2]
try:
    pk = base64.b64decode(open(path, encoding="ascii").read().strip(), validate=True)
except (OSError, ValueError):
    sys.exit(0)
f = lambda b: struct.pack(">I", len(b)) + b
h = hashlib.blake2b(f(b"varsko-fingerprint-v1") + f(pk), digest_size=32).digest()[:16].hex()
print("-".join(h[i:i + 4] for i in range(0, 32, 4)))
PY
}

# wait_log FILE PIDFILE TEXT: wait up to 20 s until FILE holds TEXT while the process lives.
wait_log() {
	local pid i
	pid=$(cat "$2")
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		grep -q "$3" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# One agent per team whose demo user agent-<team> exists: enrolled once (a
# home whose organisation key is not this gateway's is enrolled anew),
# started with the team's MQTT certificate, filing into STATE/cases/<team>.
mapfile -t agent_rows < <("$py" -c '
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
teams = set(sys.argv[2:])
for u in doc.get("users", []):
    uid = u.get("id") or u.get("user")
    if u.get("role") == "agent" and u.get("team") in teams and uid:
        print(uid, u["team"])
' "$demo_json" "${teams[@]}")
agents_out=$state/agents.jsonl
: >"$agents_out"
mkdir -p "$state/agents" "$state/cases"
for row in "${agent_rows[@]}"; do
	read -r auser ateam <<<"$row"
	ahome=$state/agents/$ateam
	cases=$state/cases/$ateam
	if [ -e "$ahome/device.key" ] && [ "$(home_fpr "$ahome")" != "$org_fpr" ]; then
		say "$auser: the home was enrolled with another organisation key; enrolling anew"
		rm -rf "$ahome"
	fi
	if [ ! -e "$ahome/device.key" ]; then
		inv=$("$varskoctl" -c "$conf" invite --user "$auser" --json) || {
			stop_all
			die "varskoctl invite --user $auser failed"
		}
		code=$("$py" -c 'import json, sys; print(json.loads(sys.argv[1])["code"])' "$inv")
		rm -rf "$ahome"
		mkdir -m 0700 "$ahome"
		say "enrolling $auser"
		# The output holds the agent user's recovery code: kept private in the state directory.
		enroll_out=$state/agents/$ateam.enroll.txt
		if ! (umask 077 && VARSKO_HOME=$ahome "$varsko" enroll --server "wss://127.0.0.1:$port" --code "$code" \
			--ca "$state/certs/ca.crt" --fingerprint "$org_fpr" --label "quickstart-$ateam" >"$enroll_out" 2>&1); then
			cat "$enroll_out" >&2
			rm -rf "$ahome"
			stop_all
			die "varsko enroll for $auser failed"
		fi
		say "$auser: enrolled; its recovery code is in $enroll_out"
	fi
	mkdir -p "$cases"
	chmod 0700 "$cases"
	say "varsko-agent for $ateam (case directory $cases)"
	start_bg "agent-$ateam" "$agent" --home "$ahome" --mqtt-host 127.0.0.1 --mqtt-port "$mqtt_port" \
		--ca "$state/certs/ca.crt" --cert "$state/certs/agent-$ateam.crt" --key "$state/certs/agent-$ateam.key" \
		--team "$ateam" --case-dir "$cases" --tenant slagelse
	if ! wait_log "$state/agent-$ateam.log" "$state/agent-$ateam.pid" "subscribed to"; then
		tail -n 20 "$state/agent-$ateam.log" >&2 || true
		stop_all
		die "varsko-agent for $ateam did not subscribe (log: $state/agent-$ateam.log)"
	fi
	"$py" -c 'import json, sys; print(json.dumps(dict(zip(("user", "team", "pid", "home", "case_dir", "log"), sys.argv[1:]))))' \
		"$auser" "$ateam" "$(cat "$state/agent-$ateam.pid")" "$ahome" "$cases" "$state/agent-$ateam.log" >>"$agents_out"
done

# Team chains and team keys (PROTOCOL.md 16): the quickstart enrolls the
# admin and each team's leder on this machine (homes in STATE/homes/<user>,
# the enroll output with the user's recovery code beside it, private), makes
# the admin an admin of the org chain with the root key, and has the admin
# create each team's chain naming its leder; the leder adds the team's agent
# and makes the team key, which the agent then seals to every member the
# leder adds later (varsko team add TEAM USER).
mkdir -p -m 0700 "$state/homes"
staff_home() { echo "$state/homes/$1"; }
# enroll_staff USER: a device for USER in its home, unless one with this organisation's root is there.
enroll_staff() {
	local h out inv code
	h=$(staff_home "$1")
	out=$h.enroll.txt
	if [ -e "$h/device.key" ] && [ "$(home_fpr "$h")" = "$org_fpr" ]; then
		return 0
	fi
	rm -rf "$h"
	mkdir -m 0700 "$h"
	inv=$("$varskoctl" -c "$conf" invite --user "$1" --json) || return 1
	code=$("$py" -c 'import json, sys; print(json.loads(sys.argv[1])["code"])' "$inv")
	say "enrolling $1 (recovery code in $out)"
	if ! (umask 077 && VARSKO_HOME=$h "$varsko" enroll --server "wss://127.0.0.1:$port" --code "$code" \
		--ca "$state/certs/ca.crt" --fingerprint "$org_fpr" --label "quickstart" >"$out" 2>&1); then
		cat "$out" >&2
		rm -rf "$h"
		return 1
	fi
}
# team_field HOME TEAM FIELD: seq, or the members as "user ...", of `varsko team show TEAM --json`.
team_field() {
	VARSKO_HOME=$1 "$varsko" team show "$2" --json | "$py" -c '
import json, sys
t = json.load(sys.stdin)
print(t["seq"] if sys.argv[1] == "seq" else " ".join(m["user"] for m in t["members"]))' "$3"
}
mapfile -t staff_rows < <("$py" -c '
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
teams = sys.argv[2:]
users = [u for u in doc.get("users", []) if u.get("id") or u.get("user")]
uid = lambda u: u.get("id") or u.get("user")
admins = [uid(u) for u in users if u.get("role") == "admin"]
print("admin", admins[0] if admins else "-")
for t in teams:
    leders = [uid(u) for u in users if u.get("role") == "leder" and u.get("team") == t]
    agents = [uid(u) for u in users if u.get("role") == "agent" and u.get("team") == t]
    if leders and agents:
        print("team", t, leders[0], agents[0])
' "$demo_json" "${teams[@]}")
for row in "${staff_rows[@]}"; do
	read -r kind a1 a2 a3 <<<"$row"
	if [ "$kind" = admin ]; then
		admin=$a1
		[ "$admin" != "-" ] || die "the demo document has no user with role admin"
		enroll_staff "$admin" || { stop_all; die "enrolling $admin failed"; }
		if ! "$varskoctl" -c "$conf" org show --json | "$py" -c '
import json, sys
sys.exit(0 if sys.argv[1] in [a["user"] for a in json.load(sys.stdin)["admins"]] else 1)' "$admin"; then
			"$varskoctl" -c "$conf" org admin-add "$admin" --root-key "$root_key" >&2 ||
				{ stop_all; die "varskoctl org admin-add $admin failed"; }
		fi
		continue
	fi
	tteam=$a1 leder=$a2 tagent=$a3
	enroll_staff "$leder" || { stop_all; die "enrolling $leder failed"; }
	if [ "$(team_field "$(staff_home "$admin")" "$tteam" seq)" = 0 ]; then
		say "team chain of $tteam: created by $admin with leder $leder"
		VARSKO_HOME=$(staff_home "$admin") "$varsko" team create "$tteam" "$leder" >&2 ||
			{ stop_all; die "varsko team create $tteam failed"; }
	fi
	case " $(team_field "$(staff_home "$leder")" "$tteam" members) " in
	*" $tagent "*) ;;
	*)
		VARSKO_HOME=$(staff_home "$leder") "$varsko" team add "$tteam" "$tagent" >&2 ||
			{ stop_all; die "varsko team add $tteam $tagent failed"; }
		;;
	esac
	VARSKO_HOME=$(staff_home "$leder") "$varsko" team key "$tteam" >&2 ||
		{ stop_all; die "varsko team key $tteam failed"; }
done

"$py" - "$json" "$demo_json" "$invites" "$state" "$port" "$mqtt_port" "$repo" "$varsko" "$agents_out" "${teams[@]}" <<'PY'
import json, os, re, sys

as_json, demo_path, inv_path, state, port, mqtt_port, repo, varsko, agents_path = sys.argv[1:10]
teams = sys.argv[10:]
doc = json.load(open(demo_path, encoding="utf-8"))
codes = {}
org_fpr = ""
with open(inv_path, encoding="utf-8") as f:
    for line in f:
        line = line.strip()
        if line:
            inv = json.loads(line)
            codes[inv["user"]] = inv
            org_fpr = org_fpr or inv.get("org_fingerprint", "")

certs = os.path.join(state, "certs")
ca = os.path.join(certs, "ca.crt")
ws_url = f"wss://127.0.0.1:{port}"
institutions = [{k: i.get(k) for k in ("id", "name", "kind", "district")}
                for i in doc.get("institutions", [])]
users = []
agents = []
with open(agents_path, encoding="utf-8") as f:
    for line in f:
        if line.strip():
            a = json.loads(line)
            a["pid"] = int(a["pid"])
            agents.append(a)
for u in doc.get("users", []):
    uid = u.get("id") or u.get("user")
    if not uid or u.get("role") == "agent":
        continue
    row = {"user": uid}
    if u.get("name"):
        row["name"] = u["name"]
    row["role"] = u.get("role", "")
    if u.get("team"):
        row["team"] = u["team"]
    insts = u.get("institutions") or ([u["institution"]] if u.get("institution") else [])
    if insts:
        row["institution"] = insts[0] if len(insts) == 1 else insts
    row["code"] = codes.get(uid, {}).get("code", "")
    staff = os.path.join(state, "homes", uid)
    if not row["code"] and os.path.exists(os.path.join(staff, "device.key")):
        row["home"] = staff  # enrolled by the quickstart (admin, leders)
        row["recovery_file"] = staff + ".enroll.txt"
        try:
            found = re.search(r"\b(?:[A-Z2-7]{5}-){5}[A-Z2-7]\b", open(row["recovery_file"], encoding="utf-8").read())
        except OSError:
            found = None
        if found:
            row["recovery_code"] = found.group(0)
    users.append(row)

out = {
    "ws_url": ws_url,
    "web_url": f"https://127.0.0.1:{port}/",
    "ca_file": ca,
    "org_fingerprint": org_fpr,
    "state_dir": state,
    "config": os.path.join(state, "varskod.conf"),
    "mqtt": {
        "host": "127.0.0.1",
        "port": int(mqtt_port),
        "ca_file": ca,
        "agents": {t: {"cert": os.path.join(certs, f"agent-{t}.crt"),
                       "key": os.path.join(certs, f"agent-{t}.key")} for t in teams},
        "varskod": {"cert": os.path.join(certs, "varskod.crt"), "key": os.path.join(certs, "varskod.key")},
    },
    "institutions": institutions,
    "users": users,
    "agents": agents,
}
if as_json == "1":
    print(json.dumps(out, ensure_ascii=False, indent=1))
    sys.exit(0)

rel = os.path.relpath(varsko, os.getcwd()) if varsko.startswith(repo) else varsko
print(f"""
Varsko demo is running.

  web        {out['web_url']}
  websocket  {ws_url}
  CA file    {ca}
  org root   {org_fpr}   (organisation root key fingerprint; check it on enrollment)
  root key   {state}/org-root.key   (signs the org chain; in production it is kept offline)
  MQTT       mqtts://127.0.0.1:{mqtt_port} (client certificates in {certs})
  logs       {state}/varskod.log, {state}/mosquitto.log, {state}/agent-<team>.log

One-time enrollment codes (valid for the configured invite_validity_hours) and
recovery codes. A recovery code is made by the user's first device and shown
there once (varskod never learns it): the quickstart shows it for the users it
enrolled itself; everyone else sees theirs when they enroll.
""")
rows = [("user", "role", "institution / team", "enrollment code", "recovery code")]
for u in users:
    where = u.get("team") or u.get("institution") or ""
    if isinstance(where, list):
        where = ",".join(where)
    rows.append((u["user"], u["role"], where, u["code"] or "(enrolled: VARSKO_HOME=" + u.get("home", "?") + ")",
                 u.get("recovery_code") or ("-" if u.get("home") else "(shown at enrollment)")))
w = [max(len(str(r[i])) for r in rows) for i in range(5)]
for r in rows:
    print("  " + "  ".join(str(r[i]).ljust(w[i]) for i in range(5)).rstrip())
if agents:
    print("\nAgents (varsko-agent, one per team; each underretning is filed as <case dir>/<reference>.json):\n")
    tw = max(len(a["team"]) for a in agents)
    for a in agents:
        print(f"  {a['team'].ljust(tw)}  pid {a['pid']:<7}  {a['case_dir']}")
if users:
    u = users[0]
    home = os.path.join(state, "home-" + u["user"])
    print(f"""
Try it (enroll a device for {u['user']}, then ask who it is):

  VARSKO_HOME={home} {rel} enroll --server {ws_url} --code {u['code']} --ca {ca} --fingerprint {org_fpr}
  VARSKO_HOME={home} {rel} whoami

A user's first device makes the user's key and shows the user's recovery code
once: write it down. Another device of the same user gets the key with that
code (varsko device recover) or from the first device (varsko device request
on the new one, varsko device approve on the old one).""")
    if u["role"] == "fagperson" and agents:
        example = os.path.relpath(os.path.join(repo, "deploy", "demo", "underretning-example.json"), os.getcwd())
        print(f"""
Send the example underretning as {u['user']}; the receiving team's agent files it:

  VARSKO_HOME={home} {rel} underret send {example}
  ls {os.path.join(state, "cases")}/*/""")
    staff = [x for x in users if x.get("home")]
    if staff:
        leders = [x for x in staff if x["role"] == "leder"]
        print(f"""
The admin and the teams' leders were enrolled here (VARSKO_HOME and recovery code
shown above; the enroll output is in the .enroll.txt file beside the home). Every team has a
signed member list (its team chain) and a team key that underretninger are sealed
to. A new colleague reads the team's underretninger, also the older ones, once a
leder has added them, for example:""")
        for x in leders[:1]:
            print(f"""
  VARSKO_HOME={x['home']} {rel} team add {x['team']} USER
  VARSKO_HOME={x['home']} {rel} team show {x['team']}""")
    print("""
Stop the demo with: deploy/quickstart.sh stop""")
PY
