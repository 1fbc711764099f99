#!/usr/bin/env bash
# Two `pkid serve` nodes on one PostgreSQL against one node on SQLite, in
# the same run:
#
#  1. OCSP per node: the shared ocspload (POST, every response verified,
#     some certificates revoked) against the SQLite node, then against node
#     B of the PostgreSQL pair; the measured server pinned to $SERVER_CPU,
#     the generator to $CLIENT_CPU. Prints ops per server core-second, the
#     pg/sqlite ratio (target >= 0.9) and the PostgreSQL server's own CPU
#     during the PostgreSQL runs (answers come from the pre-signed cache,
#     so it should be idle). PROFILE=1 also takes a 5 s CPU profile of
#     node B under load and prints its top functions.
#  2. Propagation (unless SKIP_PROPAGATION=1): BenchmarkCrossNodePropagation
#     (100 revocations on node A; node B's OCSP and HTTP CRL; target p99
#     <= 1 s) and publish's BenchmarkCRLToDirectory (a CRL change in an
#     external slapd; target p99 <= 2 s).
#
# The throw-away PostgreSQL cluster runs with fsync=on (durable), as the
# postgres user when run as root.
#
# Env: as the shared peer scripts (RUNS, DURATION, WARMUP, SERVER_CPU,
# CLIENT_CPU, KEEP) plus SHARED_BENCH, LEAVES (100), REVOKE (10), PROFILE,
# SKIP_PROPAGATION, RESULTS_DIR (default /tmp/pkid-bench-results).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$REPO/../shared/bench}
[[ -d $SHARED_BENCH/peers ]] || SHARED_BENCH=/work/shared/bench
RESULTS_DIR=${RESULTS_DIR:-/tmp/pkid-bench-results}
source "$SHARED_BENCH/peers/lib.sh"
source "$REPO/bench/lib.sh" # server CPU from schedstat, in ns: the nodes run at ~20 % of a core
need go taskset openssl
LEAVES=${LEAVES:-100}
REVOKE=${REVOKE:-10}
CONNS=${CONNS:-8}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/postgres ]] || { echo "missing PostgreSQL (apt-get install postgresql)" >&2; exit 1; }

mkwork cluster-compare
chmod 755 "$WORK"
(cd "$SHARED_BENCH" && go build -o "$WORK/bin/" ./cmd/ocspload)
(cd "$REPO" && go build -o "$WORK/bin/" ./cmd/pkid)
PKID=$WORK/bin/pkid
cd "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A throw-away PostgreSQL, durable (fsync=on, synchronous_commit=on).
asdb=()
if [[ $(id -u) == 0 ]]; then asdb=(runuser -u postgres --); fi
mkdir -p pg && [[ ${#asdb[@]} == 0 ]] || chown postgres pg
"${asdb[@]}" "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 --locale C >pg-initdb.log
PG_PORT=$(free_port)
"${asdb[@]}" "$PGBIN/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pg" -c listen_addresses=127.0.0.1 \
	-c fsync=on -c synchronous_commit=on -c shared_buffers=64MB -c max_connections=200 >pg.log 2>&1 &
PG_PID=$!
trap 'kill "$PG_PID" 2>/dev/null || true; cleanup' EXIT
wait_port "$PG_PORT"
for _ in $(seq 50); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.1; done
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 'CREATE DATABASE pkid' postgres
STORE="postgres://postgres@127.0.0.1:$PG_PORT/pkid?sslmode=disable"

# serve LABEL DIR PORT [ARGS...]: a pkid serve node (no LDAP), pinned to
# $SERVER_CPU; its PID in SERVE_PID.
serve() {
	local label=$1 dir=$2 port=$3
	shift 3
	taskset -c "$SERVER_CPU" "$PKID" serve --dir "$dir" --http "127.0.0.1:$port" --ldap "" --ldaps "" \
		--log-level warn "$@" >"$label.log" 2>&1 &
	SERVE_PID=$!
	wait_port "$port"
	for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0; sleep 0.1; done
	echo "$label did not become healthy:" >&2
	cat "$label.log" >&2
	return 1
}

# leaves LABEL DIR [--store URL]: issue $LEAVES client certificates, revoke
# the first $REVOKE; writes LABEL-leaves.pem, LABEL-revoked.txt and
# LABEL-issuer.pem (the issuing CA).
leaves() {
	local label=$1 dir=$2 i
	shift 2
	mkdir -p "$label-leaves"
	for i in $(seq "$LEAVES"); do
		"$PKID" issue --dir "$dir" "$@" --profile client --subject "CN=leaf$i,O=bench" --out "$label-leaves/leaf$i" >/dev/null
	done
	: >"$label-revoked.txt"
	for i in $(seq "$REVOKE"); do
		"$PKID" revoke --dir "$dir" "$@" "$label-leaves/leaf$i.pem" --reason keyCompromise >/dev/null
		openssl x509 -in "$label-leaves/leaf$i.pem" -noout -serial | cut -d= -f2 >>"$label-revoked.txt"
	done
	for i in $(seq "$LEAVES"); do cat "$label-leaves/leaf$i.pem"; done >"$label-leaves.pem"
	awk '/BEGIN/{n++} n==1' "$dir/chain.pem" >"$label-issuer.pem"
}

# ocsp LABEL PORT: measure the node on PORT with ocspload.
ocsp() {
	local label=$1 port=$2
	measure "$label" "$WORK/bin/ocspload" -duration "$DURATION" -warmup "$WARMUP" -conns "$CONNS" -method post \
		-url "http://127.0.0.1:$port/ocsp" -issuer "$label-issuer.pem" -certs "$label-leaves.pem" -revoked "$label-revoked.txt"
}

# 1a. One node on SQLite.
SQ_PORT=$(free_port)
serve sqlite sqlite "$SQ_PORT"
SERVER_PIDS=("$SERVE_PID")
leaves sqlite sqlite
ocsp sqlite "$SQ_PORT"
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true
SERVER_PIDS=()

# 1b. Two nodes on PostgreSQL; node B is measured.
A_PORT=$(free_port) B_PORT=$(free_port) PROF_PORT=$(free_port)
serve node-a node-a "$A_PORT" --store "$STORE"
A_PID=$SERVE_PID
serve postgres node-b "$B_PORT" --store "$STORE" --pprof "127.0.0.1:$PROF_PORT"
B_PID=$SERVE_PID
SERVER_PIDS=("$B_PID" "$A_PID")
leaves postgres node-a --store "$STORE"
SERVER_PIDS=("$B_PID")
pg0=$(ticks "$PG_PID") s0=$(date +%s.%N)
ocsp postgres "$B_PORT"
pg1=$(ticks "$PG_PID") s1=$(date +%s.%N)
PG_CPU=$(awk -v a="$pg0" -v b="$pg1" -v x="$s0" -v y="$s1" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", 100 * (b - a) / hz / (y - x) }')
if [[ ${PROFILE:-0} == 1 ]]; then
	taskset -c "$CLIENT_CPU" "$WORK/bin/ocspload" -duration 10s -warmup 1s -conns "$CONNS" -method post \
		-url "http://127.0.0.1:$B_PORT/ocsp" -issuer postgres-issuer.pem -certs postgres-leaves.pem -revoked postgres-revoked.txt >/dev/null &
	load_pid=$!
	sleep 2
	curl -sf -o nodeb.pprof "http://127.0.0.1:$PROF_PORT/debug/pprof/profile?seconds=8"
	wait "$load_pid"
	echo "== node B (PostgreSQL store) under ocspload: top of the CPU profile" >&2
	go tool pprof -top -nodecount 25 "$PKID" nodeb.pprof 2>/dev/null | sed -n '1,32p' >&2
	echo "== functions of store/postgres or pgx in the profile (none: the store is off the request path)" >&2
	go tool pprof -top "$PKID" nodeb.pprof 2>/dev/null | grep -E 'store/postgres|jackc/pgx' >&2 || echo "(none)" >&2
fi
kill "$B_PID" "$A_PID"; wait "$B_PID" "$A_PID" 2>/dev/null || true
SERVER_PIDS=()

awk -v pgcpu="$PG_CPU" '
	/"run":"median"/ {
		match($0, /"label":"[^"]*"/); l = substr($0, RSTART + 9, RLENGTH - 10)
		match($0, /"ops_per_sec":[0-9.e+-]+/); o = substr($0, RSTART + 14, RLENGTH - 14)
		match($0, /"server_cpu_pct":[0-9.]+/); c = substr($0, RSTART + 17, RLENGTH - 17)
		cs[l] = (c > 0) ? o / (c / 100) : 0
		printf "OCSP %-10s %10.0f ops/s  server CPU %6.2f%%  %10.0f ops/core-s\n", l, o, c, cs[l]
	}
	END {
		printf "PostgreSQL server CPU during the PostgreSQL OCSP runs: %s%% of a core\n", pgcpu
		if (cs["sqlite"] > 0 && cs["postgres"] > 0) printf "OCSP per node, postgres / sqlite: %.2fx (target >= 0.9x)\n", cs["postgres"] / cs["sqlite"]
	}' "$RESULTS"

# 2. Propagation figures, from the Go benchmarks (their own clusters).
if [[ ${SKIP_PROPAGATION:-0} != 1 ]]; then
	cd "$REPO"
	PKID_PGTEST_FSYNC=1 go test -run '^$' -bench 'CrossNodePropagation' -benchtime 1x ./server | grep -E '^Benchmark' | tee -a "$RESULTS"
	go test -run '^$' -bench 'CRLToDirectory' -benchtime 100x ./publish | grep -E '^Benchmark' | tee -a "$RESULTS"
fi
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
echo "results: $RESULTS" >&2
