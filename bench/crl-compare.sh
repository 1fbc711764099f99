#!/usr/bin/env bash
# Compare `pkid crl` with `openssl ca -gencrl` on the same revoked entries,
# in the same run: an openssl ca directory gets N revoked index.txt lines
# (keyCompromise, 4-byte serials, as bench/peers/openssl-crl.sh of the
# baseline), openssl makes its CRL, `pkid import openssl` takes the
# directory over and `pkid crl` makes the same CRL from the store.
# Prints, for each, the median wall time and the median CPU time
# (user+sys; on a shared machine the wall time also measures the
# neighbours, the CPU time does not), the ratios and both DER sizes.
#
# Env: N (1000000), RUNS (3), CPU (0: both tools pinned to one core with
# taskset when it exists), KEEP=1 keeps the work directory.
set -euo pipefail

N=${N:-1000000}
RUNS=${RUNS:-3}
CPU=${CPU:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/pkid-crl-compare.XXXXXX)
cleanup() { if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$CPU"); fi
command -v openssl >/dev/null || { echo "openssl missing: apt-get install openssl" >&2; exit 1; }

(cd "$ROOT" && go build -o "$WORK/pkid" ./cmd/pkid)

ca=$WORK/ca
mkdir -p "$ca/newcerts"
echo 'unique_subject = no' >"$ca/index.txt.attr"
echo 1000 >"$ca/serial"
echo 1000 >"$ca/crlnumber"
cat >"$ca/openssl.cnf" <<CNF
[ ca ]
default_ca = bench_ca
[ bench_ca ]
dir = $ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_crl_days = 7
unique_subject = no
policy = policy_any
crl_extensions = crl_ext
[ policy_any ]
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid
CNF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/ca.key" 2>/dev/null
openssl req -x509 -new -key "$ca/ca.key" -out "$ca/ca.pem" -days 3650 -subj "/O=bench/CN=Bench CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# index.txt: status, expiry, revocation time,reason, serial (hex), file, subject.
awk -v n="$N" -v ex="$(date -u -d '+1 year' +%y%m%d%H%M%SZ)" -v rev="$(date -u +%y%m%d%H%M%SZ)" 'BEGIN{
	for (i = 0; i < n; i++) printf "R\t%s\t%s,keyCompromise\t%08X\tunknown\t/O=bench/CN=leaf%d\n", ex, rev, 268435456 + i, i
}' >"$ca/index.txt"

now() { date +%s.%N; }
median() { sort -g | awk -v n="$1" 'NR==int((n+1)/2)'; }
# timed LOG CMD...: run CMD (stderr to LOG); print "wall cpu" in seconds.
timed() {
	local log=$1 t
	shift
	if ! t=$( { TIMEFORMAT='%3R %3U %3S'; time "$@" 2>"$log" >/dev/null; } 2>&1 ); then
		echo "failed: $*" >&2
		tail -5 "$log" >&2
		return 1
	fi
	awk '{printf "%.3f %.3f\n", $1, $2 + $3}' <<<"$t"
}

ossl_times=() ossl_cpu=()
for r in $(seq "$RUNS"); do
	t=$(timed "$WORK/openssl.log" "${pin[@]}" openssl ca -config "$ca/openssl.cnf" -gencrl -out "$WORK/openssl.pem")
	read -r w c <<<"$t"
	ossl_times+=("$w") ossl_cpu+=("$c")
done
openssl crl -in "$WORK/openssl.pem" -outform DER -out "$WORK/openssl.der"

export PKID_DIR=$WORK/pkid-data
unset PKID_PASSPHRASE PKID_STORE
s0=$(now)
"$WORK/pkid" import openssl --ca-cert "$ca/ca.pem" --ca-key "$ca/ca.key" --index "$ca/index.txt" --crlnumber "$ca/crlnumber" 2>"$WORK/import.log" ||
	{ echo "pkid import failed:" >&2; cat "$WORK/import.log" >&2; exit 1; }
s1=$(now)
import_s=$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.3f", b-a}')

pkid_times=() pkid_cpu=()
for r in $(seq "$RUNS"); do
	t=$(timed "$WORK/crl.log" "${pin[@]}" "$WORK/pkid" crl --der --out "$WORK/pkid.der")
	read -r w c <<<"$t"
	pkid_times+=("$w") pkid_cpu+=("$c")
done

# Same entries? Compare the serial+reason lists of the two CRLs.
entries() { openssl crl -inform DER -in "$1" -noout -text | awk '/Serial Number:/{s=$3} /Key Compromise|Unspecified|Superseded|Hold|Cessation|Affiliation|CA Compromise/{print s, $0}' | sort; }
if ! cmp -s <(entries "$WORK/openssl.der") <(entries "$WORK/pkid.der"); then
	echo "the two CRLs list different serials or reasons" >&2
	exit 1
fi

o=$(printf '%s\n' "${ossl_times[@]}" | median "$RUNS")
p=$(printf '%s\n' "${pkid_times[@]}" | median "$RUNS")
oc=$(printf '%s\n' "${ossl_cpu[@]}" | median "$RUNS")
pc=$(printf '%s\n' "${pkid_cpu[@]}" | median "$RUNS")
osz=$(stat -c %s "$WORK/openssl.der")
psz=$(stat -c %s "$WORK/pkid.der")
echo "entries=$N runs=$RUNS pinned=${pin[*]:-no}"
echo "openssl ca -gencrl: wall ${o}s (runs: ${ossl_times[*]}), CPU ${oc}s (runs: ${ossl_cpu[*]})  DER ${osz} bytes ($(awk -v s="$osz" -v n="$N" 'BEGIN{printf "%.2f", s/n}') B/entry)"
echo "pkid crl:           wall ${p}s (runs: ${pkid_times[*]}), CPU ${pc}s (runs: ${pkid_cpu[*]})  DER ${psz} bytes ($(awk -v s="$psz" -v n="$N" 'BEGIN{printf "%.2f", s/n}') B/entry)"
echo "pkid import openssl (once, not compared): ${import_s}s"
echo "speed-up (openssl / pkid): wall $(awk -v a="$o" -v b="$p" 'BEGIN{printf "%.2f", a/b}')x, CPU $(awk -v a="$oc" -v b="$pc" 'BEGIN{printf "%.2f", a/b}')x; size pkid-openssl: $((psz - osz)) bytes"
