#!/usr/bin/env bash
# Compare pkid's LDAP server with OpenLDAP slapd (back-mdb) on the same
# 10,000 inetOrgPerson entries (the shared peers/slapd.sh set-up): search
# (uid=user{i}) over LDAP and LDAPS, and simple bind, all in one run, each
# server pinned to $SERVER_CPU and ldapload to $CLIENT_CPU. Prints ops per
# server core-second and the pkid/slapd ratios (targets: search >= 1.25x,
# simple bind >= 1.25x), then each server's resident memory after its
# search and bind load and a sweep that searches every user once
# (bench/ldapsweep) (target, with USERS=100000: pkid <= 2x slapd).
#
# Env: as the shared peer scripts (RUNS, DURATION, WARMUP, KEYTYPE, KEEP,
# ONLY) plus SHARED_BENCH (default ../shared/bench or /work/shared/bench),
# USERS (10000), CONNS (8), SLAPD_PORT/SLAPDS_PORT (15389/15636),
# PKID_PORT/PKIDS_PORT (14389/14636), RESULTS_DIR (/tmp/pkid-bench-results).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
source "$REPO/bench/lib.sh" # and the shared peers/lib.sh
need slapd slapadd ldapsearch ldapwhoami openssl taskset go python3
USERS=${USERS:-10000}
CONNS=${CONNS:-8}
SLAPD_PORT=${SLAPD_PORT:-15389}
SLAPDS_PORT=${SLAPDS_PORT:-15636}
PKID_PORT=${PKID_PORT:-14389}
PKIDS_PORT=${PKIDS_PORT:-14636}
HTTP_PORT=${HTTP_PORT:-14080}

mkwork ldap-compare
(cd "$SHARED_BENCH" && go build -o "$WORK/bin/" ./cmd/ldapload)
(cd "$REPO" && go build -o "$WORK/bin/" ./cmd/pkid ./bench/ldapsweep)
cd "$WORK"

# memory LABEL PID: the resident memory of PID (KiB) as a result line:
# VmHWM (peak), VmRSS (now) and its parts RssAnon (heap and anonymous
# maps) and RssFile (file pages mapped and touched: for slapd, the pages of
# its back-mdb database file, which it reads through mmap; pkid reads its
# SQLite file with read(2), so its page cache is anonymous memory).
memory() {
	local f=/proc/$2/status
	awk -v l="$1" '/^(VmHWM|VmRSS|RssAnon|RssFile):/ {v[$1] = $2}
		END {printf "{\"label\":\"%s\",\"vmhwm_kb\":%d,\"vmrss_kb\":%d,\"rss_anon_kb\":%d,\"rss_file_kb\":%d}\n", l, v["VmHWM:"], v["VmRSS:"], v["RssAnon:"], v["RssFile:"]}' "$f" |
		tee -a "$RESULTS" >&2
}

# The data of peers/slapd.sh: user i has password pw<i>, stored as {SSHA}.
users_ldif "$USERS" >users.ldif

# 1. slapd, configured as peers/slapd.sh does (without the EXTERNAL parts).
mkca .
mkleaf . server "/O=bench/CN=localhost" "$SERVER_EXT"
mkdir db
{
	slapd_bench_conf
	echo 'access to * by * read'
} >slapd.conf
slapadd -q -f slapd.conf -l users.ldif
taskset -c "$SERVER_CPU" slapd -f slapd.conf -h "ldap://127.0.0.1:$SLAPD_PORT/ ldaps://127.0.0.1:$SLAPDS_PORT/" -d 0 2>slapd.log &
SERVER_PIDS=($!)
wait_port "$SLAPD_PORT"
wait_port "$SLAPDS_PORT"
L=(-duration "$DURATION" -warmup "$WARMUP" -n "$USERS" -conns "$CONNS")
measure slapd-search-ldap "$WORK/bin/ldapload" "${L[@]}" -url "ldap://127.0.0.1:$SLAPD_PORT" -base o=bench -scope sub -filter "(uid=user{i})"
measure slapd-search-ldaps "$WORK/bin/ldapload" "${L[@]}" -url "ldaps://127.0.0.1:$SLAPDS_PORT" -cacert ca.pem -base o=bench -scope sub -filter "(uid=user{i})"
measure slapd-bind-simple "$WORK/bin/ldapload" "${L[@]}" -url "ldap://127.0.0.1:$SLAPD_PORT" -op bind -bind simple -binddn "uid=user{i},ou=people,o=bench" -bindpw "pw{i}"
"$WORK/bin/ldapsweep" -url "ldap://127.0.0.1:$SLAPD_PORT" -n "$USERS" -conns "$CONNS"
memory slapd-memory "${SERVER_PIDS[0]}"
stop_servers

# 2. pkid: the same LDIF imported with `pkid ldif import`, then `pkid serve`.
export PKID_DIR=$WORK/pkid-data PKID_STORE= PKID_PASSPHRASE=
# The same access as slapd's `access to * by * read` (userPassword aside):
# pkid denies unless granted, so the suffix carries an aclEntry for anyone.
awk '{print} /^dn: o=bench$/ {print "aclEntry: group:CN=ANYBODY:normal:rsc"}' users.ldif >pkid-users.ldif
"$WORK/bin/pkid" ldif import pkid-users.ldif >&2
taskset -c "$SERVER_CPU" "$WORK/bin/pkid" serve --http "127.0.0.1:$HTTP_PORT" --ldap "127.0.0.1:$PKID_PORT" \
	--ldaps "127.0.0.1:$PKIDS_PORT" --log-level warn >pkid.out 2>pkid.log &
SERVER_PIDS=($!)
wait_port "$PKID_PORT"
wait_port "$PKIDS_PORT"
# The stock client sees the imported users.
n=$(LDAPTLS_CACERT=$PKID_DIR/ca.pem timeout $((20 + USERS / 500)) ldapsearch -H "ldaps://127.0.0.1:$PKIDS_PORT" -x -LLL -b ou=people,o=bench -s one "(objectClass=inetOrgPerson)" 1.1 | grep -c '^dn:')
echo "pkid: $n entries under ou=people,o=bench" >&2
[[ $n == "$USERS" ]]
timeout 10 ldapwhoami -H "ldap://127.0.0.1:$PKID_PORT" -x -D uid=user42,ou=people,o=bench -w pw42 >&2
measure pkid-search-ldap "$WORK/bin/ldapload" "${L[@]}" -url "ldap://127.0.0.1:$PKID_PORT" -base o=bench -scope sub -filter "(uid=user{i})"
measure pkid-search-ldaps "$WORK/bin/ldapload" "${L[@]}" -url "ldaps://127.0.0.1:$PKIDS_PORT" -cacert "$PKID_DIR/ca.pem" -base o=bench -scope sub -filter "(uid=user{i})"
measure pkid-bind-simple "$WORK/bin/ldapload" "${L[@]}" -url "ldap://127.0.0.1:$PKID_PORT" -op bind -bind simple -binddn "uid=user{i},ou=people,o=bench" -bindpw "pw{i}"
"$WORK/bin/ldapsweep" -url "ldap://127.0.0.1:$PKID_PORT" -n "$USERS" -conns "$CONNS"
memory pkid-memory "${SERVER_PIDS[0]}"
stop_servers

# Ratios of the medians, per server core-second; resident memory.
SUMMARY_RULES='
	/"label":"[a-z]*-memory"/ {
		match($0, /"label":"[^"]*"/); l = substr($0, RSTART + 9, RLENGTH - 10)
		match($0, /"vmhwm_kb":[0-9]+/); hwm[l] = substr($0, RSTART + 11, RLENGTH - 11)
		match($0, /"vmrss_kb":[0-9]+/); rss[l] = substr($0, RSTART + 11, RLENGTH - 11)
		match($0, /"rss_anon_kb":[0-9]+/); anon[l] = substr($0, RSTART + 14, RLENGTH - 14)
		match($0, /"rss_file_kb":[0-9]+/); file[l] = substr($0, RSTART + 14, RLENGTH - 14)
	}'
SUMMARY_END='
		if (hwm["pkid-memory"] > 0 && hwm["slapd-memory"] > 0) {
			print ""
			for (l in hwm) printf "%-24s VmHWM %7.1f MiB  VmRSS %7.1f MiB (anonymous %7.1f, file-backed %7.1f)\n", l, hwm[l] / 1024, rss[l] / 1024, anon[l] / 1024, file[l] / 1024
			printf "%-62s %.2fx (VmHWM %.2fx)\n", "pkid / slapd, resident memory (target <= 2x)", rss["pkid-memory"] / rss["slapd-memory"], hwm["pkid-memory"] / hwm["slapd-memory"]
			print "(file-backed pages of slapd: its back-mdb database file, mapped with mmap, as far as the load touched it)"
		}'
summarize "$RESULTS" \
	pkid-search-ldap slapd-search-ldap "pkid / slapd, search over LDAP (target >= 1.25x)" \
	pkid-search-ldaps slapd-search-ldaps "pkid / slapd, search over LDAPS (target >= 1.25x)" \
	pkid-bind-simple slapd-bind-simple "pkid / slapd, simple bind (target >= 1.25x)"
