#!/usr/bin/env bash
# Count the instructions each server executes per certificate login, with
# valgrind's callgrind, so that the figure does not depend on the load of
# a shared machine (CPU time per login does, by tens of percent).
#
# Both servers run under callgrind, set up as certlogin-compare.sh sets
# them up for logins (slapd with TLSVerifyClient allow and the same
# authz-regexp; pkid with the same certmap regexp rule), with one user
# entry. bench/certload drives CONNS connections: after a warm-up the
# counters are zeroed (callgrind_control -z), certload runs for DURATION,
# the counters are dumped, and instructions / logins is printed.
#
# Rows: slapd (full handshakes; its GnuTLS build issues no tickets),
# pkid full handshake, pkid resumed (tickets), and both pkid rows with an
# X25519-only client (the group slapd negotiates). Instructions are not
# CPU time: the two TLS stacks' cryptography runs at different
# instructions per cycle, and callgrind counts no kernel time. Read the
# pkid rows against each other (before/after a change) and the slapd row
# as context; quote certlogin-compare.sh for the issue's ratios.
#
# Env: DURATION (15s), WARMUP (3s), CONNS (2), PORT_BASE (17900: slapd
# uses PORT_BASE+36, pkid +37..+39), KEEP=1 keeps the work directory.
# Takes about two minutes.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$REPO/../shared/bench}
[[ -d $SHARED_BENCH/peers ]] || SHARED_BENCH=/work/shared/bench
source "$SHARED_BENCH/peers/lib.sh"
source "$REPO/bench/lib.sh"
need valgrind callgrind_control slapd slapadd ldapwhoami openssl go python3
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNS=${CONNS:-2}
PORT_BASE=${PORT_BASE:-17900}
SLAPDS_PORT=$((PORT_BASE + 36))
PKIDS_PORT=$((PORT_BASE + 37)) PKID_PORT=$((PORT_BASE + 38)) HTTP_PORT=$((PORT_BASE + 39))

WORK=$(mktemp -d /tmp/bench-certlogin-callgrind.XXXXXX)
PIDS=()
finish() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	[[ ${KEEP:-} == 1 ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap finish EXIT
(cd "$REPO" && go build -o "$WORK/bin/" ./cmd/pkid ./bench/certload)
cd "$WORK"

# count LABEL PID PORT CACERT CERT KEY [CERTLOAD FLAGS...]: instructions
# per login of the callgrind-run server PID.
count() {
	local label=$1 pid=$2 port=$3 cacert=$4 cert=$5 key=$6 out ir ops errs
	shift 6
	local load=("$WORK/bin/certload" -url "ldaps://127.0.0.1:$port" -cacert "$cacert" -cert "$cert" -key "$key" \
		-conns "$CONNS" -warmup 0s -timeout 60s "$@")
	"${load[@]}" -duration "$WARMUP" >/dev/null
	callgrind_control -z "$pid" >/dev/null 2>&1
	out=$("${load[@]}" -duration "$DURATION")
	callgrind_control -d "$pid" >/dev/null 2>&1
	sleep 1
	read -r ops errs < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["ops"], d["errors"])' "$out")
	ir=$(grep -h '^summary:' $(ls -t "$WORK"/cg."$pid".* | head -1) | awk '{print $2}')
	[[ $errs == 0 && $ops -gt 0 ]] || { echo "$label: $ops logins, $errs errors" >&2; exit 1; }
	printf '%-34s %8d logins  %12d instructions/login\n' "$label" "$ops" $((ir / ops))
}

# wait_slow PORT: wait_port with room for a server starting under callgrind.
wait_slow() {
	local i
	for i in $(seq 10); do wait_port "$1" 2>/dev/null && return 0; done
	echo "nothing listening on port $1" >&2
	return 1
}

# callgrind_server LOG CMD...: start CMD under callgrind, print its PID.
callgrind_server() {
	local log=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" --dump-instr=no "$@" >"$log" 2>&1 &
	echo $!
}

# 1. slapd, as certlogin-compare.sh configures it, with user42 only.
mkca . >/dev/null 2>&1
mkleaf . server "/O=bench/CN=localhost" "$SERVER_EXT" >/dev/null 2>&1
mkleaf . client "/O=bench/OU=people/CN=user42" "$CLIENT_EXT" >/dev/null 2>&1
mkdir db
{
	slapd_bench_conf 'TLSVerifyClient allow' 'authz-regexp "^cn=([^,]+),ou=people,o=bench$" "uid=$1,ou=people,o=bench"'
	echo 'access to dn.subtree="o=bench" by users read'
} >slapd.conf
printf 'dn: o=bench\nobjectClass: organization\no: bench\n\ndn: ou=people,o=bench\nobjectClass: organizationalUnit\nou: people\n\ndn: uid=user42,ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: user42\ncn: User 42\nsn: 42\n' >users.ldif
slapadd -q -f slapd.conf -l users.ldif
pid=$(callgrind_server slapd.log slapd -f slapd.conf -h "ldaps://127.0.0.1:$SLAPDS_PORT/" -d 0)
PIDS+=("$pid")
wait_slow "$SLAPDS_PORT"
who=$(LDAPTLS_CACERT=ca.pem LDAPTLS_CERT=client.pem LDAPTLS_KEY=client.key timeout 60 ldapwhoami -H "ldaps://127.0.0.1:$SLAPDS_PORT" -Y EXTERNAL -Q)
[[ $who == "dn:uid=user42,ou=people,o=bench" ]] || { echo "slapd: ldapwhoami: $who" >&2; exit 1; }
count "slapd full handshake" "$pid" "$SLAPDS_PORT" ca.pem client.pem client.key
kill "$pid"; wait "$pid" 2>/dev/null || true

# 2. pkid, the same entry and a certmap rule as slapd's authz-regexp.
export PKID_DIR=$WORK/pkid-data PKID_STORE= PKID_PASSPHRASE=
"$WORK/bin/pkid" init >/dev/null
awk '{print} /^dn: o=bench$/ {print "aclEntry: group:CN=AUTHENTICATED:normal:rsc"}' users.ldif >pkid-users.ldif
"$WORK/bin/pkid" ldif import pkid-users.ldif >/dev/null
"$WORK/bin/pkid" issue --profile client --subject "CN=user42,OU=people,O=bench" --out pkid-client >/dev/null
cat >pkid.json <<EOF
{"certmap": {"rules": [{"name": "people", "kind": "regexp", "match": "^cn=([^,]+),ou=people,o=bench\$", "replace": "uid=\$1,ou=people,o=bench"}]}}
EOF
# Go's asynchronous preemption signals trip callgrind; one P as when
# certlogin-compare.sh pins the server to one core.
pid=$(GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 callgrind_server pkid.log "$WORK/bin/pkid" serve --config pkid.json \
	--http "127.0.0.1:$HTTP_PORT" --ldap "127.0.0.1:$PKID_PORT" --ldaps "127.0.0.1:$PKIDS_PORT" --log-level warn)
PIDS+=("$pid")
wait_slow "$PKIDS_PORT"
who=$(LDAPTLS_CACERT=$PKID_DIR/ca.pem LDAPTLS_CERT=pkid-client.pem LDAPTLS_KEY=pkid-client.key.pem timeout 60 ldapwhoami -H "ldaps://127.0.0.1:$PKIDS_PORT" -Y EXTERNAL -Q)
[[ $who == "dn:uid=user42,ou=people,o=bench" ]] || { echo "pkid: ldapwhoami: $who" >&2; exit 1; }
P=("$pid" "$PKIDS_PORT" "$PKID_DIR/ca.pem" pkid-client.pem pkid-client.key.pem)
count "pkid full handshake" "${P[@]}"
count "pkid resumed" "${P[@]}" -resume
count "pkid full handshake, X25519 client" "${P[@]}" -curves x25519
count "pkid resumed, X25519 client" "${P[@]}" -resume -curves x25519
echo "load average: $(cut -d" " -f1-3 /proc/loadavg) (instruction counts do not depend on it)" >&2
