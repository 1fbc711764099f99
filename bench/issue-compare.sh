#!/usr/bin/env bash
# Compare durable issuance through pkid's issuance service (parallel
# callers, group commit, SQLite with synchronous=FULL) with
# `openssl ca -batch -infiles` on the same P-256 CSRs, in the same run
# (ca/compare_test.go: BenchmarkIssueVsOpenSSLCA), then the service's own
# rate with server-generated keys (BenchmarkIssue).
# Prints pkid-certs/s, openssl-certs/s and their ratio.
#
# Env: N (10000 CSRs), BENCHTIME (20000x for BenchmarkIssue).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v openssl >/dev/null || { echo "openssl missing: apt-get install openssl" >&2; exit 1; }
PKID_BENCH_CSRS=${N:-10000} go test -run '^$' -bench 'BenchmarkIssueVsOpenSSLCA' -benchtime 1x ./ca
go test -run '^$' -bench 'BenchmarkIssue$|BenchmarkIssueCSR$' -benchtime "${BENCHTIME:-20000x}" ./ca
