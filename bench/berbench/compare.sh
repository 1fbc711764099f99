#!/bin/sh
# Runs pkid's LDAP codec and go-asn1-ber on the same messages in one run and
# prints how many times faster pkid is (best time per op of COUNT runs, as
# the machine may be shared, and allocations).
set -eu
cd "$(dirname "$0")"
go test -run TestSameResult -bench . -benchtime "${BENCHTIME:-1s}" -count "${COUNT:-3}" . | tee /dev/stderr |
awk '
/^Benchmark/ {
	split($1, p, "/"); name = p[1]; impl = p[2]; sub(/-[0-9]+$/, "", impl)
	if (!((name, impl) in ns) || $3 < ns[name, impl]) ns[name, impl] = $3
	for (i = 4; i <= NF; i++) if ($(i+1) == "allocs/op") al[name, impl] = $i
	names[name] = 1
}
END {
	for (k in names) {
		a = ns[k, "pkid"]; b = ns[k, "go-asn1-ber"]
		printf "%-40s pkid %8.0f ns/op %3d allocs   go-asn1-ber %8.0f ns/op %3d allocs   ratio %.1fx\n", k, a, al[k, "pkid"], b, al[k, "go-asn1-ber"], b / a
	}
}'
