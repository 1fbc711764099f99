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
rate() { awk -v name="$2" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == "certs/s") print $i }' <<<"$1"; }
printf '%-40s %12s %12s %8s\n' benchmark sqlite postgres pg/sqlite
for b in BenchmarkAddCertificates/batch=1 BenchmarkAddCertificates/batch=1000; do
	s=$(rate "$sq" "$b"); p=$(rate "$pg" "$b")
	printf '%-40s %12.0f %12.0f %8.2f\n' "$b" "$s" "$p" "$(awk -v a="$p" -v b="$s" 'BEGIN { print a / b }')"
done
for b in BenchmarkAddCertificatesTwoNodes BenchmarkIssueTwoNodes; do
	printf '%-40s %12s %12.0f\n' "$b" - "$(rate "$pg" "$b")"
done
