#!/usr/bin/env bash
# Compare durable issuance through pkid's issuance service (parallel
# callers, group commit, SQLite with synchronous=FULL) with
# `openssl ca -batch -infiles` on the same P-256 CSRs, in the same run
# (ca/compare_test.go: BenchmarkIssueVsOpenSSLCA, RUNS times), then the
# service's own rate with server-generated keys and with CSRs
# (BenchmarkIssue, BenchmarkIssueCSR).
# Prints each run's pkid-certs/s, openssl-certs/s, their ratio and the CPU
# time per certificate of each side, then the medians. On a shared machine
# the CPU time per certificate is the figure that does not depend on the
# neighbours; 2 cores / pkid-cpu-µs/cert is the rate two idle cores give,
# less pkid-idle-% (the share of the Go scheduler's processors left idle
# by the service itself, e.g. all callers waiting for a commit).
#
# Env: N (10000 CSRs), RUNS (3), BENCHTIME (20000x for BenchmarkIssue*).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v openssl >/dev/null || { echo "openssl missing: apt-get install openssl" >&2; exit 1; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(PKID_BENCH_CSRS=${N:-10000} go test -run '^$' -bench 'BenchmarkIssueVsOpenSSLCA' -benchtime 1x -count "${RUNS:-3}" ./ca)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
	/^BenchmarkIssueVsOpenSSLCA/ {
		for (i = 3; i < NF; i += 2) v[$(i+1), n + 0] = $i
		n++
	}
	function median(name,   a, i, k, t) {
		for (i = 0; i < n; i++) a[i] = v[name, i] + 0
		for (i = 0; i < n; i++) for (k = i + 1; k < n; k++) if (a[k] < a[i]) { t = a[i]; a[i] = a[k]; a[k] = t }
		return a[int(n / 2)]
	}
	END {
		if (n == 0) { print "no benchmark result" > "/dev/stderr"; exit 1 }
		printf "median of %d runs: pkid %.0f certs/s (%.0f CPU-µs/cert, %.1f%% idle), openssl ca %.0f certs/s (%.0f CPU-µs/cert), ratio %.2f\n",
			n, median("pkid-certs/s"), median("pkid-cpu-µs/cert"), median("pkid-idle-%"), median("openssl-certs/s"), median("openssl-cpu-µs/cert"), median("ratio")
		printf "two idle cores: pkid %.0f certs/s (2 × (1 − idle) ÷ CPU), openssl ca %.0f certs/s (one process: 1 ÷ CPU)\n",
			2e6 * (1 - median("pkid-idle-%") / 100) / median("pkid-cpu-µs/cert"), 1e6 / median("openssl-cpu-µs/cert")
	}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench 'BenchmarkIssue$|BenchmarkIssueCSR$' -benchtime "${BENCHTIME:-20000x}" ./ca | grep -E '^Benchmark'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
