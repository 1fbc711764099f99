#!/usr/bin/env bash
# Compare pkid's OCSP responder (package ocsp, served by bench/ocspserver)
# with `openssl ocsp -index` on the same openssl ca database (1,000 leaves,
# 100 revoked, delegated responder certificate), and its cached GET path with
# nginx serving a 1 KB static file — all in one run, each server pinned to
# $SERVER_CPU and the load generator to $CLIENT_CPU (see the shared
# bench/README.md for the method). Prints the ratios of ops per server
# core-second.
#
# Env: as the shared peer scripts (RUNS, DURATION, WARMUP, KEYTYPE, KEEP,
# ONLY) plus SHARED_BENCH (the shared bench checkout, default
# ../shared/bench beside the repository or /work/shared/bench),
# OCSP_PORT (18080, openssl), PKID_PORT (18082), SERVE_PORT (18083, pkid
# serve), HTTP_PORT (18081, nginx),
# RESULTS_DIR (default /tmp/pkid-bench-results).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
source "$REPO/bench/lib.sh" # and the shared peers/lib.sh
source "$SHARED_BENCH/peers/openssl-ca.sh"
need openssl taskset go wrk nginx

OCSP_PORT=${OCSP_PORT:-18080}
PKID_PORT=${PKID_PORT:-18082}
SERVE_PORT=${SERVE_PORT:-18083}
HTTP_PORT=${HTTP_PORT:-18081}
LEAVES=${LEAVES:-1000}
REVOKE=${REVOKE:-100}
CONNS=${CONNS:-8}
WRK_CONNS=${WRK_CONNS:-32}

mkwork ocsp-compare
(cd "$SHARED_BENCH" && go build -o "$WORK/bin/" ./cmd/ocspload)
(cd "$REPO" && go build -o "$WORK/bin/" ./bench/ocspserver ./cmd/pkid)
cd "$WORK"
setup_openssl_ca
C=(-config ca/openssl.cnf -batch -notext)
newkey ocsp.key
openssl req -new -key ocsp.key -subj "/O=bench/CN=Bench OCSP responder" -out ocsp.csr
openssl ca "${C[@]}" -extensions ocsp_ext -in ocsp.csr -out ocsp.pem 2>/dev/null
issue_leaves "$LEAVES" leaves.pem
for f in $(head -n "$REVOKE" ca/leaves.txt); do
	openssl ca -config ca/openssl.cnf -revoke "$f" -crl_reason keyCompromise 2>/dev/null
done
awk -F'\t' '$1=="R"{print $4}' ca/index.txt >revoked.txt


wrkjson() {
	timeout 300 taskset -c "$CLIENT_CPU" wrk --latency "$@" | awk -v args="$*" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/^ +50%/ { p50 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
		/requests in/ { ops = $1 } /Requests\/sec/ { rps = $2 }
		/Socket errors/ { for (i = 3; i <= NF; i += 2) err += $(i + 1) } /Non-2xx/ { err += $NF }
		END { printf "{\"tool\":\"wrk\",\"ops_per_sec\":%s,\"p50_ms\":%s,\"p90_ms\":%s,\"p99_ms\":%s,\"ops\":%s,\"errors\":%d,\"settings\":{\"args\":\"%s\"}}\n", rps, p50, p90, p99, ops, err, args }'
}
wrk_run() { wrkjson -t1 -c"$WRK_CONNS" -d"$DURATION" "$1"; }
# wrk_close: a new connection per request, as `openssl ocsp` forces on its
# clients (it answers HTTP/1.0-style and closes). wrk gets no answer from
# `openssl ocsp` at all, so these rows compare with nginx instead.
wrk_close() { wrkjson -t1 -c"$WRK_CONNS" -d"$DURATION" -H "Connection: close" "$1"; }
# b64url PORT PATH: the GET URL of get.der (the last leaf, no nonce).
b64url() { echo "http://127.0.0.1:$1$2/$(base64 -w0 get.der | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')"; }
openssl ocsp -issuer ca/ca.pem -cert "$(tail -1 ca/leaves.txt)" -no_nonce -reqout get.der

load() { # load LABEL PORT METHOD [EXTRA...]
	local label=$1 port=$2 method=$3
	shift 3
	measure "$label" "$WORK/bin/ocspload" -duration "$DURATION" -warmup "$WARMUP" -conns "$CONNS" \
		-url "http://127.0.0.1:$port/" -issuer ca/ca.pem -certs leaves.pem -revoked revoked.txt -method "$method" "$@"
}

# 1. openssl ocsp, one process (its best configuration on one core).
taskset -c "$SERVER_CPU" openssl ocsp -index ca/index.txt -port "$OCSP_PORT" -rsigner ocsp.pem -rkey ocsp.key \
	-CA ca/ca.pem -ndays 1 >openssl-ocsp.log 2>&1 &
SERVER_PIDS=($!)
wait_port "$OCSP_PORT"
load openssl-post "$OCSP_PORT" post
load openssl-get "$OCSP_PORT" get
load openssl-post-noverify "$OCSP_PORT" post -verify=false
stop_servers

# 2. pkid's responder on the same database.
taskset -c "$SERVER_CPU" "$WORK/bin/ocspserver" -addr "127.0.0.1:$PKID_PORT" -index ca/index.txt -CA ca/ca.pem \
	-rsigner ocsp.pem -rkey ocsp.key -prefix / >ocspserver.log 2>&1 &
SERVER_PIDS=($!)
wait_port "$PKID_PORT"
# The stock client must agree (good and revoked, verified).
timeout 10 openssl ocsp -issuer ca/ca.pem -cert "$(head -1 ca/leaves.txt)" -cert "$(tail -1 ca/leaves.txt)" \
	-CAfile ca/ca.pem -url "http://127.0.0.1:$PKID_PORT/" >&2
load pkid-post "$PKID_PORT" post
load pkid-get "$PKID_PORT" get
load pkid-post-noverify "$PKID_PORT" post -verify=false
GET_URL=$(b64url "$PKID_PORT" "")
curl -sf -o /dev/null "$GET_URL"
measure pkid-get-wrk wrk_run "$GET_URL"
measure pkid-get-wrk-close wrk_close "$GET_URL"
stop_servers

# 3. `pkid serve` itself (the product: store, change feed, metrics, every
# endpoint on one listener) on the same CA, imported from the openssl
# database; it issues its own delegated responder certificate.
PKID_DIR=$WORK/pkid-data "$WORK/bin/pkid" import openssl --ca-cert ca/ca.pem --ca-key ca/ca.key --index ca/index.txt \
	--certs ca/newcerts >pkid-import.log 2>&1 || { cat pkid-import.log >&2; exit 1; }
PKID_DIR=$WORK/pkid-data taskset -c "$SERVER_CPU" "$WORK/bin/pkid" serve --http "127.0.0.1:$SERVE_PORT" --ldap "" --ldaps "" \
	--log-level warn >pkid-serve.log 2>&1 &
SERVER_PIDS=($!)
wait_port "$SERVE_PORT"
for i in $(seq 100); do # wait until the responses are pre-signed
	curl -sf "http://127.0.0.1:$SERVE_PORT/healthz" | grep -Eq '"cached": *(100[0-9]|1[1-9][0-9][0-9])' && break
	sleep 0.2
done
timeout 10 openssl ocsp -issuer ca/ca.pem -cert "$(head -1 ca/leaves.txt)" -cert "$(tail -1 ca/leaves.txt)" \
	-CAfile ca/ca.pem -url "http://127.0.0.1:$SERVE_PORT/ocsp" >&2
load pkid-serve-post "$SERVE_PORT/ocsp" post
load pkid-serve-get "$SERVE_PORT/ocsp" get
load pkid-serve-post-noverify "$SERVE_PORT/ocsp" post -verify=false
GET_URL=$(b64url "$SERVE_PORT" /ocsp)
curl -sf -o /dev/null "$GET_URL"
measure pkid-serve-get-wrk wrk_run "$GET_URL"
measure pkid-serve-get-wrk-close wrk_close "$GET_URL"
curl -sf "http://127.0.0.1:$SERVE_PORT/metrics" | grep -E "^pkid_(http_requests|ocsp_responses)_total" | grep -v " 0$" >&2
stop_servers

# 4. nginx, one worker, a 1 KB static file (the ceiling for pre-computed responses).
mkdir -p www tmp
head -c 1024 /dev/urandom >www/resp.der
cat >nginx.conf <<NGINX
$([[ $(id -u) == 0 ]] && echo "user root;")
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $WORK/tmp/body; proxy_temp_path $WORK/tmp/proxy;
	fastcgi_temp_path $WORK/tmp/fcgi; uwsgi_temp_path $WORK/tmp/uwsgi; scgi_temp_path $WORK/tmp/scgi;
	default_type application/ocsp-response;
	sendfile on;
	keepalive_requests 1000000;
	server { listen 127.0.0.1:$HTTP_PORT; root $WORK/www; }
}
NGINX
taskset -c "$SERVER_CPU" nginx -p "$WORK" -c "$WORK/nginx.conf" &
SERVER_PIDS=($!)
wait_port "$HTTP_PORT"
sleep 0.3
SERVER_PIDS+=($(pgrep -P "${SERVER_PIDS[0]}" || true))
measure nginx-static-1k wrk_run "http://127.0.0.1:$HTTP_PORT/resp.der"
measure nginx-static-1k-close wrk_close "http://127.0.0.1:$HTTP_PORT/resp.der"
stop_servers

# Ratios of the medians, per server core-second.
summarize "$RESULTS" \
	pkid-post openssl-post "pkid / openssl ocsp, POST (target >= 4x)" \
	pkid-get openssl-get "pkid / openssl ocsp, GET (target >= 4x)" \
	pkid-post-noverify openssl-post-noverify "pkid / openssl ocsp, POST, no client verify" \
	pkid-get-wrk nginx-static-1k "pkid cached GET / nginx 1 KB static (target >= 0.8x)" \
	pkid-serve-post openssl-post "pkid serve / openssl ocsp, POST (target >= 4x)" \
	pkid-serve-get openssl-get "pkid serve / openssl ocsp, GET (target >= 4x)" \
	pkid-serve-post-noverify openssl-post-noverify "pkid serve / openssl ocsp, POST, no client verify" \
	pkid-serve-get-wrk nginx-static-1k "pkid serve cached GET / nginx 1 KB static (target >= 0.8x)" \
	pkid-get-wrk-close nginx-static-1k-close "pkid / nginx, a connection per request" \
	pkid-serve-get-wrk-close nginx-static-1k-close "pkid serve / nginx, a connection per request"
