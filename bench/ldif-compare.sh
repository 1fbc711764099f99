#!/usr/bin/env bash
# Compare `pkid ldif import` with `slapadd -q` (back-mdb) on the same LDIF,
# in the same run: USERS inetOrgPerson entries with {SSHA} passwords under
# ou=people,o=bench, generated exactly as ../shared/bench/peers/slapd.sh
# generates its data. Each tool loads into a fresh database RUNS times;
# prints the median wall and CPU seconds of each, the ratios, and peak RSS.
#
# Both tools get the same CPUs: by default every core (slapadd with
# tool-threads set to the core count, pkid with its GOMAXPROCS workers);
# CPU=0 (or any taskset list) pins both to those cores instead.
#
# Env: USERS (100000), RUNS (3), CPU (all), PLAIN=1 gives every user a
# clear-text password (pkid hashes each with argon2id; slapadd stores it
# as is, so compare pkid with itself), KEEP=1 keeps the work directory,
# SLAPD_INDEX (pkid's default equality indexes: objectClass uid cn mail
# member memberUid, so both tools write the same indexes; "objectClass uid"
# gives the shared peers/slapd.sh set-up).
set -euo pipefail

USERS=${USERS:-100000}
RUNS=${RUNS:-3}
CPU=${CPU:-all}
PLAIN=${PLAIN:-0}
SLAPD_INDEX=${SLAPD_INDEX:-objectClass uid cn mail member memberUid}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/pkid-ldif-compare.XXXXXX)
cleanup() { if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

pin=()
threads=$(nproc)
if [[ $CPU != all ]]; then
	command -v taskset >/dev/null || { echo "CPU=$CPU needs taskset (util-linux)" >&2; exit 1; }
	pin=(taskset -c "$CPU")
	threads=$("${pin[@]}" nproc)
fi
SLAPADD=$(command -v slapadd || echo /usr/sbin/slapadd)
[[ -x $SLAPADD ]] || { echo "slapadd missing: apt-get install slapd" >&2; exit 1; }

(cd "$ROOT" && go build -o "$WORK/pkid" ./cmd/pkid)

python3 - "$USERS" "$PLAIN" >"$WORK/users.ldif" <<'PY'
import base64, hashlib, os, sys
print("dn: o=bench\nobjectClass: organization\no: bench\n")
print("dn: ou=people,o=bench\nobjectClass: organizationalUnit\nou: people\n")
for i in range(int(sys.argv[1])):
    salt = os.urandom(8)
    pw = "{SSHA}" + base64.b64encode(hashlib.sha1(b"pw%d" % i + salt).digest() + salt).decode()
    if sys.argv[2] == "1":
        pw = "pw%d" % i
    print(f"dn: uid=user{i},ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: user{i}\n"
          f"cn: User {i}\nsn: {i}\nmail: user{i}@bench.example\nuserPassword: {pw}\n")
PY

slapd_conf() {
	cat <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
tool-threads $threads
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 1073741824
suffix "o=bench"
rootdn "cn=admin,o=bench"
directory $1
$(for a in $SLAPD_INDEX; do echo "index $a eq"; done)
CONF
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# timed CMD...: prints "wall_seconds maxrss_kB cpu_seconds" of one run. CPU
# seconds (user + system) are the fairer figure on a busy machine.
timed() { /usr/bin/time -f "%e %M %U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1, $2, $3 + $4}'; }

: >"$WORK/slapadd.times"
: >"$WORK/pkid.times"
for run in $(seq "$RUNS"); do
	rm -rf "$WORK/mdb" "$WORK/pkid-data"
	mkdir "$WORK/mdb"
	slapd_conf "$WORK/mdb" >"$WORK/slapd.conf"
	timed "${pin[@]}" "$SLAPADD" -q -f "$WORK/slapd.conf" -l "$WORK/users.ldif" >>"$WORK/slapadd.times"
	timed "${pin[@]}" "$WORK/pkid" ldif import --dir "$WORK/pkid-data" "$WORK/users.ldif" >>"$WORK/pkid.times"
done
s=$(cut -d' ' -f1 "$WORK/slapadd.times" | median)
p=$(cut -d' ' -f1 "$WORK/pkid.times" | median)
srss=$(cut -d' ' -f2 "$WORK/slapadd.times" | median)
prss=$(cut -d' ' -f2 "$WORK/pkid.times" | median)
scpu=$(cut -d' ' -f3 "$WORK/slapadd.times" | median)
pcpu=$(cut -d' ' -f3 "$WORK/pkid.times" | median)
echo "entries:            $((USERS + 2))  (CPUs: $CPU, $threads threads; load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "slapadd -q:         ${s}s wall, ${scpu}s CPU  (peak RSS ${srss} kB)"
echo "pkid ldif import:   ${p}s wall, ${pcpu}s CPU  (peak RSS ${prss} kB)"
awk -v s="$s" -v p="$p" -v sc="$scpu" -v pc="$pcpu" 'BEGIN { printf "pkid/slapadd:       %.2fx wall, %.2fx CPU (below 1 means pkid is faster)\n", p / s, pc / sc }'
