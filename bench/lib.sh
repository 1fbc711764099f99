# Shared by pkid's compare scripts: stopping the servers a script started,
# server CPU at nanosecond precision, the bench's user LDIF, and the
# summary of medians and ratios. Its ticks and measure replace the shared
# peers/lib.sh's, so it must come after that file: a script may source
# peers/lib.sh itself first, or let this file do it (below).

# When peers/lib.sh is not loaded yet, find the shared bench and source it:
# SHARED_BENCH (default ../shared/bench beside the repository, else
# /work/shared/bench), with RESULTS_DIR defaulting to
# /tmp/pkid-bench-results. This is the preamble the compare scripts
# repeated; it sets REPO (the repository) when the script has not.
if ! declare -F need >/dev/null; then
	REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	SHARED_BENCH=${SHARED_BENCH:-$REPO/../shared/bench}
	[[ -d $SHARED_BENCH/peers ]] || SHARED_BENCH=/work/shared/bench
	RESULTS_DIR=${RESULTS_DIR:-/tmp/pkid-bench-results}
	source "$SHARED_BENCH/peers/lib.sh"
fi

# stop_servers: end the servers in SERVER_PIDS (and their children).
stop_servers() {
	local p c
	for p in "${SERVER_PIDS[@]}"; do
		for c in $(pgrep -P "$p" || true); do kill "$c" 2>/dev/null || true; done
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	SERVER_PIDS=()
	sleep 0.5
}

# ticks replaces peers/lib.sh's with nanosecond precision: servers often
# run at a few percent of a core (when the generator is the bottleneck),
# where whole clock ticks and a whole-percent server_cpu_pct would make
# ops/core-s swing by tens of percent. It returns CPU time in units of
# 1/CLK_TCK s, with decimals, from /proc/PID/task/*/schedstat.
ticks() {
	local p all=() t
	for p in "$@"; do all+=("$p"); all+=($(pgrep -P "$p" || true)); done
	t=$(for p in $(printf '%s\n' "${all[@]}" | sort -u); do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk -v hz="$CLK_TCK" '{ns += $1} END {printf "%.4f", ns * hz / 1e9}')
	echo "${t:-0}"
}

# measure is peers/lib.sh's with server_cpu_pct to two decimals.
measure() {
	local label=$1 r line t0 t1 s0 s1 cpu lines=() pin
	shift
	[[ -z ${ONLY:-} || $label =~ $ONLY ]] || return 0
	for r in $(seq "$RUNS"); do
		t0=$(ticks "${SERVER_PIDS[@]}"); s0=$(date +%s.%N)
		if declare -F "$1" >/dev/null; then pin=(); else pin=(timeout 300 taskset -c "$CLIENT_CPU"); fi
		line=$("${pin[@]}" "$@" | tail -1) || { echo "{\"label\":\"$label\",\"run\":$r,\"failed\":true}" | tee -a "$RESULTS"; continue; }
		t1=$(ticks "${SERVER_PIDS[@]}"); s1=$(date +%s.%N)
		cpu=$(awk -v a="$t0" -v b="$t1" -v x="$s0" -v y="$s1" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", 100*(b-a)/hz/(y-x)}')
		line="{\"label\":\"$label\",\"run\":$r,\"keytype\":\"$KEYTYPE\",\"server_cpu_pct\":$cpu,${line#\{}"
		echo "$line" >>"$RESULTS"
		echo "$line" >&2
		lines+=("$line")
	done
	[[ ${#lines[@]} -gt 0 ]] || return 0
	printf '%s\n' "${lines[@]}" |
		awk '{match($0,/"ops_per_sec":[0-9.e+-]+/); print substr($0,RSTART+14,RLENGTH-14)"\t"$0}' |
		sort -g | awk -F'\t' -v n="${#lines[@]}" 'NR==int((n+1)/2){print $2}' |
		sed 's/"run":[0-9]*/"run":"median"/' | tee -a "$RESULTS"
}

# users_ldif N: the data of peers/slapd.sh on stdout: o=bench,
# ou=people and N inetOrgPerson users (user i has password pw<i>, {SSHA}).
users_ldif() {
	python3 - "$1" <<'PY'
import base64, hashlib, os, sys
print("dn: o=bench\nobjectClass: organization\no: bench\n")
print("dn: ou=people,o=bench\nobjectClass: organizationalUnit\nou: people\n")
for i in range(int(sys.argv[1])):
    salt = os.urandom(8)
    pw = "{SSHA}" + base64.b64encode(hashlib.sha1(b"pw%d" % i + salt).digest() + salt).decode()
    print(f"dn: uid=user{i},ou=people,o=bench\nobjectClass: inetOrgPerson\nuid: user{i}\n"
          f"cn: User {i}\nsn: {i}\nmail: user{i}@bench.example\nuserPassword: {pw}\n")
PY
}

# summarize RESULTS [A B WHAT]...: one line per median result (ops/s,
# server CPU, ops per server core-second, resumed handshakes if any), then
# for each triple the ratio of A's ops/core-s to B's, labelled WHAT.
# Extra awk code for the END block may come in SUMMARY_END.
summarize() {
	local results=$1
	shift
	local pairs=""
	while (($# >= 3)); do
		pairs+="$1"$'\t'"$2"$'\t'"$3"$'\n'
		shift 3
	done
	awk -v pairs="$pairs" '
	/"run":"median"/ {
		match($0, /"label":"[^"]*"/); l = substr($0, RSTART + 9, RLENGTH - 10)
		match($0, /"ops_per_sec":[0-9.e+-]+/); o = substr($0, RSTART + 14, RLENGTH - 14)
		match($0, /"server_cpu_pct":[0-9.]+/); c = substr($0, RSTART + 17, RLENGTH - 17)
		r = ""; if (match($0, /"resumed_handshakes":[0-9]+/)) r = "  resumed " substr($0, RSTART + 21, RLENGTH - 21)
		cs[l] = (c > 0) ? o / (c / 100) : 0
		printf "%-32s %10.0f ops/s  server CPU %6.2f%%  %10.0f ops/core-s%s\n", l, o, c, cs[l], r
	}
	'"${SUMMARY_RULES:-}"'
	END {
		print ""
		n = split(pairs, p, "\n")
		for (i = 1; i <= n; i++) {
			if (split(p[i], f, "\t") == 3 && cs[f[1]] > 0 && cs[f[2]] > 0)
				printf "%-62s %.2fx\n", f[3], cs[f[1]] / cs[f[2]]
		}
		'"${SUMMARY_END:-}"'
	}' "$results"
	echo "load average: $(cut -d" " -f1-3 /proc/loadavg)" >&2
	echo "results: $results" >&2
}

# slapd_bench_conf [DIRECTIVE]...: the head of peers/slapd.sh's
# slapd.conf on stdout, for $WORK: schemas, TLS with $WORK/server.pem and
# $WORK/ca.pem, each DIRECTIVE (global lines such as TLSVerifyClient), an
# mdb database for o=bench in $WORK/db and the userPassword access rule.
# The caller appends its remaining access rules.
slapd_bench_conf() {
	local d
	cat <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $WORK/slapd.pid
argsfile $WORK/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel none
TLSCACertificateFile $WORK/ca.pem
TLSCertificateFile $WORK/server.pem
TLSCertificateKeyFile $WORK/server.key
EOF
	for d in "$@"; do echo "$d"; done
	cat <<EOF
database mdb
maxsize 1073741824
suffix "o=bench"
rootdn "cn=admin,o=bench"
rootpw secret
directory $WORK/db
index objectClass eq
index uid eq
access to attrs=userPassword by self write by anonymous auth by * none
EOF
}
