#!/usr/bin/env bash
# Compare certificate logins and ACL-checked searches of pkid's LDAP server
# with OpenLDAP slapd (back-mdb), set up as the shared peers/slapd.sh does
# for SASL EXTERNAL (TLSVerifyClient allow, authz-regexp), on the same
# 10,000 inetOrgPerson entries, all in one run; each server pinned to
# $SERVER_CPU, the load generators to $CLIENT_CPU. Measured (issue 6):
#
#   connect   LDAPS handshake + client certificate + EXTERNAL bind + unbind
#             (shared ldapload -op connect -bind external: full handshakes)
#   resume    the same with TLS session resumption (bench/certload -resume;
#             ldapload has no session cache). slapd (GnuTLS build) issues no
#             tickets, so its resumed row is full handshakes: the target
#             compares pkid resumed with slapd as it is.
#   starttls  StartTLS + client certificate + EXTERNAL (+ resumed on pkid)
#   x25519    pkid's connect rows again with the client offering X25519
#             only, the key exchange slapd (GnuTLS 3.7) negotiates: by
#             default Go clients offer X25519MLKEM768 and pkid accepts it
#             for full handshakes (resumed ones use X25519 anyway)
#   resume-hybrid  pkid's resumed row with "tls_hybrid_resumption": true
#             (a second pkid serve on the same data): resumed handshakes
#             on X25519MLKEM768, as before internal/tlshello
#   search    (uid=user{i}) subtree search after an EXTERNAL bind as
#             user42, with 20 access rules on the path: pkid has 20
#             aclEntry values at o=bench (10 access-id, 9 group, 1
#             CN=AUTHENTICATED that grants); slapd has the mirror image,
#             20 `access to dn.subtree="o=bench"` rules (10 dn.exact, 9
#             group.exact, each followed by `by * break`, then `by users
#             read`), after its stock userPassword rule.
#
# Prints ops per server core-second and the pkid/slapd ratios (targets:
# connect >= 1.5x, resumed connect >= 3x, search >= 1.25x).
#
# Env: as the shared peer scripts (RUNS, DURATION, WARMUP, KEEP, ONLY) plus
# SHARED_BENCH (default ../shared/bench or /work/shared/bench), USERS
# (10000), CONNS (8), SLAPD_PORT/SLAPDS_PORT (17389/17636),
# PKID_PORT/PKIDS_PORT/HTTP_PORT (17489/17736/17080), RESULTS_DIR
# (/tmp/pkid-bench-results), PPROF (an address: pkid serve --pprof).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
source "$REPO/bench/lib.sh" # and the shared peers/lib.sh
need slapd slapadd ldapsearch ldapwhoami openssl taskset go python3
USERS=${USERS:-10000}
CONNS=${CONNS:-8}
SLAPD_PORT=${SLAPD_PORT:-17389}
SLAPDS_PORT=${SLAPDS_PORT:-17636}
PKID_PORT=${PKID_PORT:-17489}
PKIDS_PORT=${PKIDS_PORT:-17736}
HTTP_PORT=${HTTP_PORT:-17080}
KEYTYPE=ec

mkwork certlogin-compare
(cd "$SHARED_BENCH" && go build -o "$WORK/bin/" ./cmd/ldapload)
(cd "$REPO" && go build -o "$WORK/bin/" ./cmd/pkid ./bench/certload)
cd "$WORK"

# The data of peers/slapd.sh (user i, password pw<i> as {SSHA}), plus nine
# groups of 50 members each (users 100..549, not user42) under ou=groups.
{
	users_ldif "$USERS"
	echo "dn: ou=groups,o=bench"
	echo "objectClass: organizationalUnit"
	echo "ou: groups"
	echo
	for g in $(seq 1 9); do
		printf 'dn: cn=group%d,ou=groups,o=bench\nobjectClass: groupOfNames\ncn: group%d\n' "$g" "$g"
		for m in $(seq $((50 * g + 50)) $((50 * g + 99))); do echo "member: uid=user$m,ou=people,o=bench"; done
		echo
	done
} >users.ldif
# The 20 rules: access-id/dn.exact for users 1000..1009, the nine groups,
# then every authenticated identity.
SUBJECTS_USERS=$(seq 1000 1009)
SUBJECTS_GROUPS=$(seq 1 9)

# 1. slapd as peers/slapd.sh, with the 20 rules.
mkca .
mkleaf . server "/O=bench/CN=localhost" "$SERVER_EXT"
mkleaf . client "/O=bench/OU=people/CN=user42" "$CLIENT_EXT"
mkdir db
{
	slapd_bench_conf 'TLSVerifyClient allow' 'authz-regexp "^cn=([^,]+),ou=people,o=bench$" "uid=$1,ou=people,o=bench"'
	for u in $SUBJECTS_USERS; do
		echo "access to dn.subtree=\"o=bench\" by dn.exact=\"uid=user$u,ou=people,o=bench\" read by * break"
	done
	for g in $SUBJECTS_GROUPS; do
		echo "access to dn.subtree=\"o=bench\" by group.exact=\"cn=group$g,ou=groups,o=bench\" read by * break"
	done
	echo "access to dn.subtree=\"o=bench\" by users read"
} >slapd.conf
slapadd -q -f slapd.conf -l users.ldif
taskset -c "$SERVER_CPU" slapd -f slapd.conf -h "ldap://127.0.0.1:$SLAPD_PORT/ ldaps://127.0.0.1:$SLAPDS_PORT/" -d 0 2>slapd.log &
SERVER_PIDS=($!)
wait_port "$SLAPD_PORT"
wait_port "$SLAPDS_PORT"
sleep 0.5
kill -0 "${SERVER_PIDS[0]}" || { cat slapd.log >&2; exit 1; }
who=$(LDAPTLS_CACERT=ca.pem LDAPTLS_CERT=client.pem LDAPTLS_KEY=client.key timeout 10 ldapwhoami -H "ldaps://127.0.0.1:$SLAPDS_PORT" -Y EXTERNAL -Q)
echo "slapd: ldapwhoami -Y EXTERNAL: $who" >&2
[[ $who == "dn:uid=user42,ou=people,o=bench" ]]
# The rules hold: anonymous sees nothing, user42 (EXTERNAL) sees user7.
n=$(timeout 10 ldapsearch -H "ldap://127.0.0.1:$SLAPD_PORT" -x -LLL -b o=bench "(uid=user7)" 1.1 2>/dev/null | grep -c '^dn:' || true)
[[ $n == 0 ]] || { echo "slapd: anonymous search returned $n entries" >&2; exit 1; }
n=$(LDAPTLS_CACERT=ca.pem LDAPTLS_CERT=client.pem LDAPTLS_KEY=client.key timeout 10 ldapsearch -H "ldaps://127.0.0.1:$SLAPDS_PORT" -Y EXTERNAL -Q -LLL -b o=bench "(uid=user7)" 1.1 | grep -c '^dn:')
[[ $n == 1 ]]

L=(-duration "$DURATION" -warmup "$WARMUP" -conns "$CONNS")
S=(-cacert ca.pem -cert client.pem -key client.key)
measure slapd-connect-ldaps "$WORK/bin/ldapload" "${L[@]}" -n "$USERS" -url "ldaps://127.0.0.1:$SLAPDS_PORT" "${S[@]}" -op connect -bind external
measure slapd-connect-ldaps-resume "$WORK/bin/certload" "${L[@]}" -url "ldaps://127.0.0.1:$SLAPDS_PORT" "${S[@]}" -resume
measure slapd-connect-starttls-resume "$WORK/bin/certload" "${L[@]}" -url "ldap://127.0.0.1:$SLAPD_PORT" -starttls "${S[@]}" -resume
measure slapd-search-external-acl20 "$WORK/bin/ldapload" "${L[@]}" -n "$USERS" -url "ldaps://127.0.0.1:$SLAPDS_PORT" "${S[@]}" -bind external -base o=bench -scope sub -filter "(uid=user{i})"
stop_servers

# 2. pkid: the same LDIF with the 20 aclEntry values at o=bench, imported
# with `pkid ldif import`; a certmap rule as slapd's authz-regexp.
export PKID_DIR=$WORK/pkid-data PKID_STORE= PKID_PASSPHRASE=
{
	for u in $SUBJECTS_USERS; do echo "aclEntry: access-id:uid=user$u,ou=people,o=bench:normal:rsc"; done
	for g in $SUBJECTS_GROUPS; do echo "aclEntry: group:cn=group$g,ou=groups,o=bench:normal:rsc"; done
	echo "aclEntry: group:CN=AUTHENTICATED:normal:rsc"
} >acl.ldif
awk 'FNR == NR {acl = acl $0 "\n"; next} {print} /^dn: o=bench$/ {printf "%s", acl}' acl.ldif users.ldif >pkid-users.ldif
"$WORK/bin/pkid" init >&2
"$WORK/bin/pkid" ldif import pkid-users.ldif >&2
"$WORK/bin/pkid" issue --profile client --subject "CN=user42,OU=people,O=bench" --out pkid-client >&2
cat >pkid.json <<EOF
{"certmap": {"rules": [{"name": "people", "kind": "regexp", "match": "^cn=([^,]+),ou=people,o=bench\$", "replace": "uid=\$1,ou=people,o=bench"}]}}
EOF
PPROF_FLAG=()
[[ -n ${PPROF:-} ]] && PPROF_FLAG=(--pprof "$PPROF")
taskset -c "$SERVER_CPU" "$WORK/bin/pkid" serve --config pkid.json --http "127.0.0.1:$HTTP_PORT" --ldap "127.0.0.1:$PKID_PORT" \
	--ldaps "127.0.0.1:$PKIDS_PORT" --log-level warn "${PPROF_FLAG[@]}" >pkid.out 2>pkid.log &
SERVER_PIDS=($!)
wait_port "$PKID_PORT"
wait_port "$PKIDS_PORT"
sleep 0.5
kill -0 "${SERVER_PIDS[0]}" || { cat pkid.log >&2; exit 1; } # not someone else's server on the ports
P=(-cacert "$PKID_DIR/ca.pem" -cert pkid-client.pem -key pkid-client.key.pem)
who=$(LDAPTLS_CACERT=$PKID_DIR/ca.pem LDAPTLS_CERT=pkid-client.pem LDAPTLS_KEY=pkid-client.key.pem timeout 10 ldapwhoami -H "ldaps://127.0.0.1:$PKIDS_PORT" -Y EXTERNAL -Q)
echo "pkid: ldapwhoami -Y EXTERNAL: $who" >&2
[[ $who == "dn:uid=user42,ou=people,o=bench" ]]
n=$(LDAPTLS_CACERT=$PKID_DIR/ca.pem timeout 10 ldapsearch -H "ldaps://127.0.0.1:$PKIDS_PORT" -x -LLL -b o=bench "(uid=user7)" 1.1 2>/dev/null | grep -c '^dn:' || true)
[[ $n == 0 ]] || { echo "pkid: anonymous search returned $n entries" >&2; exit 1; }
n=$(LDAPTLS_CACERT=$PKID_DIR/ca.pem LDAPTLS_CERT=pkid-client.pem LDAPTLS_KEY=pkid-client.key.pem timeout 10 ldapsearch -H "ldaps://127.0.0.1:$PKIDS_PORT" -Y EXTERNAL -Q -LLL -b o=bench "(uid=user7)" 1.1 | grep -c '^dn:')
[[ $n == 1 ]]
measure pkid-connect-ldaps "$WORK/bin/ldapload" "${L[@]}" -n "$USERS" -url "ldaps://127.0.0.1:$PKIDS_PORT" "${P[@]}" -op connect -bind external
measure pkid-connect-ldaps-resume "$WORK/bin/certload" "${L[@]}" -url "ldaps://127.0.0.1:$PKIDS_PORT" "${P[@]}" -resume
measure pkid-connect-starttls-resume "$WORK/bin/certload" "${L[@]}" -url "ldap://127.0.0.1:$PKID_PORT" -starttls "${P[@]}" -resume
# The same logins with the key exchange slapd's GnuTLS 3.7 uses: X25519
# only (Go offers the hybrid post-quantum X25519MLKEM768 first, and pkid,
# unlike slapd, accepts it; an ML-KEM encapsulation per handshake).
measure pkid-connect-ldaps-x25519 "$WORK/bin/certload" "${L[@]}" -url "ldaps://127.0.0.1:$PKIDS_PORT" "${P[@]}" -curves x25519
measure pkid-connect-ldaps-resume-x25519 "$WORK/bin/certload" "${L[@]}" -url "ldaps://127.0.0.1:$PKIDS_PORT" "${P[@]}" -resume -curves x25519
measure pkid-search-external-acl20 "$WORK/bin/ldapload" "${L[@]}" -n "$USERS" -url "ldaps://127.0.0.1:$PKIDS_PORT" "${P[@]}" -bind external -base o=bench -scope sub -filter "(uid=user{i})"
stop_servers

# 3. pkid again with "tls_hybrid_resumption": true, the key exchange of
# resumed handshakes before internal/tlshello (X25519MLKEM768 when the
# client offers it, as Go clients do): the resumed row once more, so the
# run shows what the classical share of a resumed login saves.
if [[ -z ${ONLY:-} || pkid-connect-ldaps-resume-hybrid =~ $ONLY ]]; then
	sed 's/^{/{"tls_hybrid_resumption": true, /' pkid.json >pkid-hybrid.json
	taskset -c "$SERVER_CPU" "$WORK/bin/pkid" serve --config pkid-hybrid.json --http "127.0.0.1:$HTTP_PORT" --ldap "127.0.0.1:$PKID_PORT" \
		--ldaps "127.0.0.1:$PKIDS_PORT" --log-level warn >pkid-hybrid.out 2>pkid-hybrid.log &
	SERVER_PIDS=($!)
	wait_port "$PKIDS_PORT"
	sleep 0.5
	kill -0 "${SERVER_PIDS[0]}" || { cat pkid-hybrid.log >&2; exit 1; }
	measure pkid-connect-ldaps-resume-hybrid "$WORK/bin/certload" "${L[@]}" -url "ldaps://127.0.0.1:$PKIDS_PORT" "${P[@]}" -resume
	stop_servers
fi

# Ratios of the medians, per server core-second.
summarize "$RESULTS" \
	pkid-connect-ldaps slapd-connect-ldaps "pkid / slapd, LDAPS + cert + EXTERNAL connect (target >= 1.5x)" \
	pkid-connect-ldaps-resume slapd-connect-ldaps-resume "pkid resumed / slapd, LDAPS + EXTERNAL connect (target >= 3x)" \
	pkid-connect-ldaps-resume-hybrid slapd-connect-ldaps-resume "pkid resumed with tls_hybrid_resumption / slapd (info)" \
	pkid-connect-ldaps-resume pkid-connect-ldaps-resume-hybrid "pkid resumed, X25519 / X25519MLKEM768 resumption (info)" \
	pkid-connect-starttls-resume slapd-connect-starttls-resume "pkid resumed / slapd, StartTLS + EXTERNAL connect" \
	pkid-connect-ldaps-x25519 slapd-connect-ldaps "pkid / slapd, LDAPS + EXTERNAL connect, both X25519 (info)" \
	pkid-connect-ldaps-resume-x25519 slapd-connect-ldaps-resume "pkid resumed / slapd, both X25519 (info)" \
	pkid-search-external-acl20 slapd-search-external-acl20 "pkid / slapd, search after EXTERNAL, 20 rules (target >= 1.25x)"
