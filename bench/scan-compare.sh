#!/usr/bin/env bash
# Compare a full `pkid probe --scan` with `sslscan --no-colour` on the same
# loopback `openssl s_server`, in the same run. Both are timed as whole
# processes (start-up included), RUNS times each, and the medians compared.
# Before timing, the scan's accepted suites, versions and groups are checked
# against sslscan's on that server (doctor/scan_test.go TestScanTarget with
# PKID_SSLSCAN_OUTPUT); the script fails if they differ.
#
# Env: RUNS (3), KEY (ec | rsa), SERVER_FLAGS (extra s_server flags, e.g.
# "-min_protocol TLSv1 -cipher ALL:@SECLEVEL=0" for a server with ~90 suites).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
for p in openssl sslscan go; do
	command -v "$p" >/dev/null || { echo "$p missing (apt-get install $p)" >&2; exit 1; }
done
RUNS=${RUNS:-3}
KEY=${KEY:-ec}
read -r -a EXTRA <<<"${SERVER_FLAGS:-}"

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

case "$KEY" in
ec) openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost -days 1 2>/dev/null ;;
rsa) openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost -days 1 2>/dev/null ;;
*) echo "KEY must be ec or rsa" >&2; exit 2 ;;
esac

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
openssl s_server -accept "$ADDR" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -www -quiet ${EXTRA[@]+"${EXTRA[@]}"} >"$WORK/server.log" 2>&1 </dev/null &
SERVER_PID=$!
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	sleep 0.05
done

go test -c -o "$WORK/doctor.test" ./doctor
go build -o "$WORK/pkid" ./cmd/pkid

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Same findings first: sslscan's output, then the scan checked against it.
# sslscan drops slow findings (ffdhe8192) on a busy machine, so a
# disagreement is checked against a second sslscan run before it counts.
agree=no
for _ in 1 2; do
	sslscan --no-colour "$ADDR" >"$WORK/sslscan.txt"
	if PKID_SCAN_ADDR=$ADDR PKID_SSLSCAN_OUTPUT=$WORK/sslscan.txt "$WORK/doctor.test" -test.run '^TestScanTarget$' >"$WORK/pkid.txt"; then
		agree=yes
		break
	fi
done
if [ "$agree" != yes ]; then
	cat "$WORK/pkid.txt" >&2
	echo "pkid and sslscan disagree on $ADDR" >&2
	exit 1
fi

for _ in $(seq "$RUNS"); do
	t0=$(now); sslscan --no-colour "$ADDR" >/dev/null; t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$WORK/sslscan.times"
	# pkid exits 1 when the server accepts something insecure; that is a result.
	t0=$(now); "$WORK/pkid" probe "$ADDR" --scan >/dev/null || [ $? -eq 1 ]; t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$WORK/pkid.times"
done
S=$(median <"$WORK/sslscan.times")
P=$(median <"$WORK/pkid.times")
CONNS=$(grep -o '[0-9]* connections' "$WORK/pkid.txt" | head -1)
printf 'server: openssl s_server (%s key%s) on %s\n' "$KEY" "${SERVER_FLAGS:+, $SERVER_FLAGS}" "$ADDR"
printf 'findings: identical versions, suites and groups (%s accepted suite lines in sslscan)\n' "$(grep -cE '^(Preferred|Accepted)' "$WORK/sslscan.txt")"
printf 'sslscan --no-colour   median %.3fs over %d runs\n' "$S" "$RUNS"
printf 'pkid probe --scan     median %.3fs over %d runs (%s)\n' "$P" "$RUNS" "$CONNS"
printf 'ratio sslscan/pkid    %.1fx\n' "$(echo "$S / $P" | bc -l)"
