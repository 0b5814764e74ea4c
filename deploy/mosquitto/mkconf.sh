#!/usr/bin/env bash
# deploy/mosquitto/mkconf.sh: writes a Mosquitto 2.0 configuration and ACL for
# Varsko: one TLS-only listener on loopback, client certificates required and
# used as the MQTT user name and client id, no anonymous access, AEAD-only
# TLS suites, and an ACL that lets varskod publish notifications to team
# topics and each team's agent read only its own team and write
# acknowledgements.
set -euo pipefail

default_teams=(team-slagelse team-korsoer-skaelskoer team-ung team-handicap doegnvagt)
# TLS suites: the lists of gateway/server.c (SERVER_TLS12_CIPHERS, SERVER_TLS13_CIPHERS).
tls12_ciphers=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305
tls13_ciphers=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256

usage() {
	cat <<'USAGE'
Usage: deploy/mosquitto/mkconf.sh --port PORT --certs DIR --state DIR
                                  [--listen ADDR] [--tenant ID] [--team TEAM]...
                                  [--reader USER:FILTER]... [--log FILE] [--help]

Writes STATE/mosquitto.conf and STATE/mosquitto.acl and creates
STATE/mosquitto/ (persistence: saved every second, up to 10000 queued
messages per offline client). Start the broker with
  mosquitto -c STATE/mosquitto.conf

  --port PORT    TLS listener port (required)
  --listen ADDR  listener address (default 127.0.0.1)
  --certs DIR    directory with ca.crt, server.crt, server.key (certs/mkdev.sh)
  --state DIR    directory for the config, ACL, persistence and pid file
  --tenant ID    municipality id in the topics (default slagelse)
  --team TEAM    a team with an agent (repeatable; default: the Slagelse teams)
  --reader USER:FILTER
                 a read-only client (certificate CN USER, not varskod or an
                 agent) that may read FILTER, e.g. a case system's subscriber
                 to varsko/TENANT/team/TEAM/alert (repeatable)
  --log FILE     log to FILE instead of stderr

MQTT user names are the client certificates' CN: "varskod" and "agent-TEAM",
and so are the client ids (use_username_as_clientid): whatever id a client
asks for, its session is its certificate's, so no client can take over or
wipe another's persistent session. TLS 1.2 offers only ECDHE with AES-GCM or
ChaCha20-Poly1305 (the suites varskod's own listener offers); TLS 1.3 keeps
its AEAD suites.
ACL:
  varskod        write varsko/TENANT/team/+/#        read varsko/TENANT/ack
  agent-TEAM     read  varsko/TENANT/team/TEAM/#      write varsko/TENANT/ack
  USER (--reader) read FILTER                          nothing else
Mosquitto 2.0 accepts any subscription and applies `read` to each delivery.

The broker runs as the invoking user (`user` is set to it), which suits the
demo and the tests. In production keep the listener and ACL settings, run it
as the mosquitto user with certificates from your CA (certs/README.md).
USAGE
}

port=""
listen=127.0.0.1
certs=""
state=""
tenant=slagelse
logfile=""
teams=()
readers=()
need() {
	[ "$2" -ge 2 ] || {
		echo "mkconf.sh: $1 needs a value" >&2
		exit 2
	}
}
while [ $# -gt 0 ]; do
	case "$1" in
	--port) need "$1" $# && port=$2 && shift ;;
	--listen) need "$1" $# && listen=$2 && shift ;;
	--certs) need "$1" $# && certs=$2 && shift ;;
	--state) need "$1" $# && state=$2 && shift ;;
	--tenant) need "$1" $# && tenant=$2 && shift ;;
	--team) need "$1" $# && teams+=("$2") && shift ;;
	--log) need "$1" $# && logfile=$2 && shift ;;
	--reader) need "$1" $# && readers+=("$2") && shift ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "mkconf.sh: unknown argument: $1" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done
if [ -z "$port" ] || [ -z "$certs" ] || [ -z "$state" ]; then
	usage >&2
	exit 2
fi
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	echo "mkconf.sh: bad port: $port" >&2
	exit 2
fi
if [ ${#teams[@]} -eq 0 ]; then
	teams=("${default_teams[@]}")
fi
for id in "$tenant" "${teams[@]}"; do
	if ! [[ "$id" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; then
		echo "mkconf.sh: bad id (lowercase letters, digits, '-'): $id" >&2
		exit 2
	fi
done
for r in "${readers[@]}"; do
	user=${r%%:*}
	filter=${r#*:}
	if [ "$user" = "$r" ] || ! [[ "$user" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] ||
		[[ "$user" =~ ^(varskod|agent-.*)$ ]] || ! [[ "$filter" =~ ^[A-Za-z0-9_/+#-]{1,256}$ ]]; then
		echo "mkconf.sh: bad --reader (USER:FILTER, USER not varskod or agent-*): $r" >&2
		exit 2
	fi
done
for f in ca.crt server.crt server.key; do
	if [ ! -r "$certs/$f" ]; then
		echo "mkconf.sh: missing $certs/$f (make it with certs/mkdev.sh)" >&2
		exit 1
	fi
done

umask 077
mkdir -p "$state/mosquitto"
certs=$(cd "$certs" && pwd)
state=$(cd "$state" && pwd)

{
	echo "# Varsko MQTT ACL (tenant $tenant), written by deploy/mosquitto/mkconf.sh."
	echo "# User names are client certificate CNs (use_identity_as_username)."
	echo "# Anything not allowed here is denied."
	echo
	echo "user varskod"
	echo "topic write varsko/$tenant/team/+/#"
	echo "topic read varsko/$tenant/ack"
	for t in "${teams[@]}"; do
		echo
		echo "user agent-$t"
		echo "topic read varsko/$tenant/team/$t/#"
		echo "topic write varsko/$tenant/ack"
	done
	# Read-only clients: one block per user, every filter it was given.
	for u in $(for r in "${readers[@]}"; do echo "${r%%:*}"; done | sort -u); do
		echo
		echo "user $u"
		for r in "${readers[@]}"; do
			if [ "${r%%:*}" = "$u" ]; then
				echo "topic read ${r#*:}"
			fi
		done
	done
} >"$state/mosquitto.acl.tmp"
mv -f "$state/mosquitto.acl.tmp" "$state/mosquitto.acl"

# When started as root, Mosquitto drops privileges to `user` before it reads
# the key files; naming the invoking user keeps the 0600 keys readable.
{
	echo "# Varsko Mosquitto configuration, written by deploy/mosquitto/mkconf.sh."
	echo "per_listener_settings false"
	echo "allow_anonymous false"
	echo "acl_file $state/mosquitto.acl"
	echo "user $(id -un)"
	echo "pid_file $state/mosquitto.pid"
	echo "# Persistent sessions (varskod and the agents connect with clean"
	echo "# session false) and their queued QoS 1 messages survive a restart"
	echo "# of the broker. Mosquitto writes its database as a snapshot, so a"
	echo "# crash loses at most the last autosave_interval seconds; varskod"
	echo "# republishes everything its agents have not acknowledged."
	echo "persistence true"
	echo "persistence_location $state/mosquitto/"
	echo "autosave_interval 1"
	echo "autosave_on_changes false"
	echo "# An agent that is offline over a weekend can have hundreds of"
	echo "# underretninger (and their republications) waiting."
	echo "max_queued_messages 10000"
	echo "max_inflight_messages 20"
	if [ -n "$logfile" ]; then
		echo "log_dest file $logfile"
	else
		echo "log_dest stderr"
	fi
	echo "log_type error"
	echo "log_type warning"
	echo "log_type notice"
	echo "log_timestamp_format %Y-%m-%dT%H:%M:%SZ"
	echo "# No client addresses in the log."
	echo "connection_messages false"
	echo
	echo "listener $port $listen"
	echo "protocol mqtt"
	echo "cafile $certs/ca.crt"
	echo "certfile $certs/server.crt"
	echo "keyfile $certs/server.key"
	echo "require_certificate true"
	echo "use_identity_as_username true"
	echo "# The session is the certificate's: a second client with the same"
	echo "# certificate replaces the first (as any MQTT client id does), but"
	echo "# nobody can name another certificate's session."
	echo "use_username_as_clientid true"
	echo "tls_version tlsv1.2"
	echo "# AEAD only; the same suites as varskod's WebSocket listener."
	echo "ciphers $tls12_ciphers"
	echo "ciphers_tls1.3 $tls13_ciphers"
} >"$state/mosquitto.conf.tmp"
mv -f "$state/mosquitto.conf.tmp" "$state/mosquitto.conf"
echo "$state/mosquitto.conf"
