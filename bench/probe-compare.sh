#!/usr/bin/env bash
# Compare `pkid probe` (handshake, chain, verification, revocation through
# CRLs, resumption) with `openssl s_client -connect ... </dev/null` against
# the same loopback openssl s_server, in the same run. Prints the mean
# wall time of each and the ratio (target: pkid within 2x of s_client).
# Env: N (runs, default 30).
set -euo pipefail
N=${N:-30}
for p in openssl python3 go; do command -v "$p" >/dev/null || { echo "need $p" >&2; exit 1; }; done
W=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(freeport)
TLS=$(freeport)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(cd "$ROOT" && go build -o "$W/pkid" ./cmd/pkid)
cd "$W"

# PKI: root -> issuing CA -> server leaf, each with a CRL distribution point
# on the loopback HTTP server.
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec root.key; ec inter.key; ec leaf.key
openssl req -x509 -new -key root.key -subj "/O=bench/CN=Bench Root" -days 2 -out root.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cat >inter.ext <<X
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:$HTTP/root.crl
X
cat >leaf.ext <<X
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:$HTTP/inter.crl
X
openssl req -new -key inter.key -subj "/O=bench/CN=Bench Issuing CA" -out inter.csr
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile inter.ext -out inter.pem 2>/dev/null
openssl req -new -key leaf.key -subj "/O=bench/CN=localhost" -out leaf.csr
openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -days 1 -extfile leaf.ext -out leaf.pem 2>/dev/null
for ca in root inter; do
  mkdir -p "db-$ca"; : >"db-$ca/index.txt"; echo 01 >"db-$ca/crlnumber"
  cat >"db-$ca/ca.cnf" <<X
[ca]
default_ca=d
[d]
database=$W/db-$ca/index.txt
crlnumber=$W/db-$ca/crlnumber
default_md=sha256
default_crl_days=1
crl_extensions=crlext
[crlext]
authorityKeyIdentifier=keyid
X
  openssl ca -config "db-$ca/ca.cnf" -gencrl -keyfile "$ca.key" -cert "$ca.pem" -out "$ca.crl.pem" 2>/dev/null
  openssl crl -in "$ca.crl.pem" -outform DER -out "$ca.crl"
done

python3 -m http.server "$HTTP" --bind 127.0.0.1 >/dev/null 2>&1 &
PIDS+=($!)
openssl s_server -accept "127.0.0.1:$TLS" -cert leaf.pem -key leaf.key -cert_chain inter.pem -www -quiet </dev/zero >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/$HTTP) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$TLS) 2>/dev/null && break
  sleep 0.1
done

# One probe must succeed with the revocation check of both certificates.
if ! ./pkid probe "127.0.0.1:$TLS" --servername localhost --ca root.pem >probe.out; then
  cat probe.out >&2; echo "pkid probe did not succeed" >&2; exit 1
fi
grep -q "good by CRL" probe.out || { cat probe.out >&2; echo "no CRL check in the report" >&2; exit 1; }
sed -n "/== Session/,/total/p" probe.out >&2

# Interleave the three commands so load on the machine hits each alike;
# report medians.
now() { date +%s%N; }
PK=(); SC=(); NR=()
for _ in $(seq "$N"); do
  t0=$(now); ./pkid probe "127.0.0.1:$TLS" --servername localhost --ca root.pem >/dev/null
  t1=$(now); openssl s_client -connect "127.0.0.1:$TLS" -servername localhost -CAfile root.pem </dev/null >/dev/null 2>&1
  t2=$(now); ./pkid probe "127.0.0.1:$TLS" --servername localhost --ca root.pem --no-revocation >/dev/null
  t3=$(now)
  PK+=($(( (t1 - t0) / 1000 ))); SC+=($(( (t2 - t1) / 1000 ))); NR+=($(( (t3 - t2) / 1000 )))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pk=$(median "${PK[@]}"); sc=$(median "${SC[@]}"); nr=$(median "${NR[@]}")
printf 'runs: %d (medians)\n' "$N"
printf 'pkid probe (chain, CRL check of 2 certificates, resumption): %6.1f ms\n' "$(echo "$pk/1000" | bc -l)"
printf 'pkid probe --no-revocation:                                  %6.1f ms\n' "$(echo "$nr/1000" | bc -l)"
printf 'openssl s_client </dev/null:                                  %6.1f ms\n' "$(echo "$sc/1000" | bc -l)"
printf 'ratio pkid/s_client: %.2f (target <= 2.00)\n' "$(echo "$pk/$sc" | bc -l)"
