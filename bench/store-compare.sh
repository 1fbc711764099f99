#!/usr/bin/env bash
# Compare the PostgreSQL store with the SQLite store in the same run:
# AddCertificates (batches of 1 and 1,000, one caller) on each, then the
# two-node figures PostgreSQL adds (unbatched callers on two Store handles,
# and P-256 issuance through two ca.Services). Durable: the throw-away
# PostgreSQL cluster runs with fsync=on (PKID_PGTEST_FSYNC=1), as SQLite
# runs with synchronous=FULL. Prints certs/s of each and the ratio.
#
# Env: BENCHTIME (2s), FSYNC (1; 0 measures without fsync).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCHTIME=${BENCHTIME:-2s}
cd "$ROOT"
pg=$(PKID_PGTEST_FSYNC=${FSYNC:-1} go test -run '^$' -bench 'AddCertificates|IssueTwoNodes' -benchtime "$BENCHTIME" ./store/postgres)
sq=$(go test -run '^$' -bench 'AddCertificates' -benchtime "$BENCHTIME" ./store/sqlite)
# metric OUTPUT BENCHMARK [UNIT]: the figure reported with UNIT (certs/s).
metric() { awk -v name="$2" -v unit="${3:-certs/s}" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i }' <<<"$1"; }
printf '%-40s %12s %12s %8s\n' benchmark sqlite postgres pg/sqlite
for b in BenchmarkAddCertificates/batch=1 BenchmarkAddCertificates/batch=1000; do
	s=$(metric "$sq" "$b"); p=$(metric "$pg" "$b")
	printf '%-40s %12.0f %12.0f %8.2f\n' "$b" "$s" "$p" "$(awk -v a="$p" -v b="$s" 'BEGIN { print a / b }')"
done
for b in BenchmarkAddCertificatesTwoNodes BenchmarkIssueTwoNodes; do
	printf '%-40s %12s %12.0f\n' "$b" - "$(metric "$pg" "$b")"
done
# Two-node issuance per core-second: pkid's CPU and the PostgreSQL
# server's per certificate (the wall-clock rate depends on what else the
# machine runs).
b=BenchmarkIssueTwoNodes
cpu=$(metric "$pg" $b cpu-µs/cert) pgcpu=$(metric "$pg" $b pg-cpu-µs/cert)
printf '%s: pkid %.0f µs + PostgreSQL %.0f µs CPU per certificate = %.0f certs per core-second (%.0f/s on 2 cores; target 2,000/s); %.1f certs per group commit, %.1f ms per commit\n' \
	$b "$cpu" "$pgcpu" "$(awk -v a="$cpu" -v b="$pgcpu" 'BEGIN { print 1e6 / (a + b) }')" "$(awk -v a="$cpu" -v b="$pgcpu" 'BEGIN { print 2e6 / (a + b) }')" \
	"$(metric "$pg" $b certs/commit)" "$(metric "$pg" $b ms/commit)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
