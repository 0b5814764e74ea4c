#!/usr/bin/env bash
# certs/mkdev.sh: a development PKI for Varsko, made with openssl.
#
# One EC P-256 development CA, a TLS server certificate for varskod and
# mosquitto on loopback, an MQTT client certificate for varskod and one per
# team agent. Private keys are mode 0600 in a mode 0700 directory. Running it
# again keeps the CA and every certificate that still verifies against it;
# --force makes everything anew. For development and tests only: see
# certs/README.md for production.
set -euo pipefail

default_teams=(team-slagelse team-korsoer-skaelskoer team-ung team-handicap doegnvagt)

usage() {
	cat <<'USAGE'
Usage: certs/mkdev.sh [--force] [--team TEAM]... [--client NAME]... [--quiet] DIR

Makes a development CA and certificates in DIR (created mode 0700):
  ca.crt ca.key                 "Varsko development CA" (EC P-256, 10 years)
  server.crt server.key         varskod / mosquitto TLS server: SAN DNS:localhost,
                                IP:127.0.0.1, IP:::1; serverAuth
  varskod.crt varskod.key       MQTT client certificate, CN varskod; clientAuth
  agent-TEAM.crt agent-TEAM.key MQTT client certificate per team agent, CN agent-TEAM
  NAME.crt NAME.key             MQTT client certificate per --client, CN NAME (for
                                instance a read-only subscriber: mkconf.sh --reader)
Teams default to: team-slagelse team-korsoer-skaelskoer team-ung team-handicap doegnvagt
(--team, repeatable, replaces the list).

An existing CA is kept (and certificates that still verify against it) unless
--force is given. Private keys are mode 0600. Development only: never use this
CA in production (see certs/README.md).

  --force   make a new CA and new certificates, replacing the old ones
  --team T  a team to make an agent certificate for (repeatable)
  --client NAME  another MQTT client certificate, CN NAME (repeatable; not
            varskod, server, ca or agent-*)
  --quiet   print nothing on success
  --help    this text
USAGE
}

force=0
quiet=0
teams=()
clients=()
dir=""
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--quiet) quiet=1 ;;
	--team)
		[ $# -ge 2 ] || {
			echo "mkdev.sh: --team needs a value" >&2
			exit 2
		}
		teams+=("$2")
		shift
		;;
	--client)
		[ $# -ge 2 ] || {
			echo "mkdev.sh: --client needs a value" >&2
			exit 2
		}
		clients+=("$2")
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	-*)
		echo "mkdev.sh: unknown option: $1" >&2
		usage >&2
		exit 2
		;;
	*)
		if [ -n "$dir" ]; then
			echo "mkdev.sh: only one DIR" >&2
			exit 2
		fi
		dir=$1
		;;
	esac
	shift
done
if [ -z "$dir" ]; then
	usage >&2
	exit 2
fi
if [ ${#teams[@]} -eq 0 ]; then
	teams=("${default_teams[@]}")
fi
for t in "${teams[@]}"; do
	if ! [[ "$t" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; then
		echo "mkdev.sh: bad team id: $t" >&2
		exit 2
	fi
done
for n in "${clients[@]}"; do
	if ! [[ "$n" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || [[ "$n" =~ ^(varskod|server|ca|agent-.*)$ ]]; then
		echo "mkdev.sh: bad client name (lowercase letters, digits, '-'; not varskod, server, ca, agent-*): $n" >&2
		exit 2
	fi
done
command -v openssl >/dev/null 2>&1 || {
	echo "mkdev.sh: openssl not found (deploy/install-deps.sh installs it)" >&2
	exit 1
}

umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

made=()
kept=()
tmpdir=$(mktemp -d -p "$dir")
trap 'rm -rf "$tmpdir"' EXIT

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	chmod 0600 "$1"
}

serial() {
	# 16 random bytes, top bit cleared so the serial is positive.
	printf '0x%s' "$(openssl rand -hex 16 | sed 's/^./7/')"
}

# make_ca: a new self-signed CA, replacing any old one.
make_ca() {
	newkey "$tmpdir/ca.key"
	cat >"$tmpdir/ca.ext" <<'EXT'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = Varsko development CA
O = Varsko development
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EXT
	openssl req -new -x509 -key "$tmpdir/ca.key" -sha256 -days 3650 \
		-set_serial "$(serial)" -config "$tmpdir/ca.ext" -out "$tmpdir/ca.crt"
	mv -f "$tmpdir/ca.key" "$dir/ca.key"
	mv -f "$tmpdir/ca.crt" "$dir/ca.crt"
	chmod 0644 "$dir/ca.crt"
	made+=("ca.crt (Varsko development CA)")
}

# leaf NAME CN PURPOSE [SAN]: a certificate signed by the CA, kept when it
# already exists, matches its key and verifies against the current CA.
leaf() {
	local name=$1 cn=$2 purpose=$3 san=${4:-}
	local crt="$dir/$name.crt" key="$dir/$name.key" vpurpose=sslclient
	if [ "$purpose" = serverAuth ]; then
		vpurpose=sslserver
	fi
	if [ "$force" -eq 0 ] && [ -s "$crt" ] && [ -s "$key" ] &&
		openssl verify -CAfile "$dir/ca.crt" -purpose "$vpurpose" "$crt" >/dev/null 2>&1 &&
		openssl x509 -in "$crt" -noout -checkend 2592000 >/dev/null 2>&1 &&
		[ "$(openssl x509 -in "$crt" -noout -pubkey 2>/dev/null)" = "$(openssl pkey -in "$key" -pubout 2>/dev/null)" ]; then
		chmod 0600 "$key"
		kept+=("$name.crt")
		return 0
	fi
	newkey "$tmpdir/$name.key"
	{
		echo "[ext]"
		echo "basicConstraints = critical, CA:FALSE"
		echo "keyUsage = critical, digitalSignature"
		echo "extendedKeyUsage = $purpose"
		echo "subjectKeyIdentifier = hash"
		echo "authorityKeyIdentifier = keyid,issuer"
		if [ -n "$san" ]; then
			echo "subjectAltName = $san"
		fi
	} >"$tmpdir/$name.ext"
	openssl req -new -key "$tmpdir/$name.key" -subj "/O=Varsko development/CN=$cn" \
		-out "$tmpdir/$name.csr"
	openssl x509 -req -in "$tmpdir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-set_serial "$(serial)" -sha256 -days 825 \
		-extfile "$tmpdir/$name.ext" -extensions ext -out "$tmpdir/$name.crt" 2>/dev/null
	mv -f "$tmpdir/$name.key" "$key"
	mv -f "$tmpdir/$name.crt" "$crt"
	chmod 0644 "$crt"
	made+=("$name.crt (CN $cn, $purpose)")
}

if [ "$force" -eq 1 ] || [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
	make_ca
else
	chmod 0600 "$dir/ca.key"
	kept+=("ca.crt")
fi

leaf server localhost serverAuth "DNS:localhost, IP:127.0.0.1, IP:::1"
leaf varskod varskod clientAuth
for t in "${teams[@]}"; do
	leaf "agent-$t" "agent-$t" clientAuth
done
for n in "${clients[@]}"; do
	leaf "$n" "$n" clientAuth
done

if [ "$quiet" -eq 0 ]; then
	echo "Development certificates in $dir:"
	for m in "${made[@]}"; do
		echo "  made $m"
	done
	for k in "${kept[@]}"; do
		echo "  kept $k"
	done
	echo "CA fingerprint: $(openssl x509 -in "$dir/ca.crt" -noout -fingerprint -sha256 | sed 's/^.*=//')"
fi
