#!/usr/bin/env bash
# Reliability suite, long form: the CI suite's cases (server/src/test/.../Reliability*ProcessTest) with
# bigger numbers (64 looping clients, 60 s of backend SIGKILLs, 500 slowloris connections, 10,000
# concurrent clients), then the sidecar's and HAProxy's peak RSS under the same 10,000 clients.
# Prints a table of the figures each case measured.
# Run by hand (not in CI):   bash bench/reliability.sh        (see README "## Reliability")
#   FORM=short      the CI sizes (same cases, about 3 minutes)
#   PARTS=suite     only the test cases; PARTS=rss only the RSS comparison
#   TESTS=Reliability*ProcessTest    which classes
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
FORM=${FORM:-long}
PARTS=${PARTS:-"suite rss"}
TESTS=${TESTS:-'Reliability*ProcessTest'}
CLIENTS=${CLIENTS:-10000}       # concurrent clients of the RSS comparison
MAX_BATCH=${MAX_BATCH:-2}       # per backend: the sidecar's --max-batch-size, HAProxy's maxconn per server
SERVICE_MS=${SERVICE_MS:-10}
HOST=127.0.0.1
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log() { printf '[reliability %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

source "$ROOT/bin/lib/find-java.sh"
export MAVEN_OPTS=${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}
TMP=$(mktemp -d /tmp/vfs-reliability.XXXXXX)
FIGURES="$TMP/figures.tsv"
: >"$FIGURES"
declare -A PID=()
cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  for n in "${!PID[@]}"; do
    for _ in $(seq 1 50); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${PID[$n]}" 2>/dev/null || true
  done
  [ -n "${KEEP:-}" ] || rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT

want() { [[ " $PARTS " == *" $1 "* ]]; }

# ---- the suite's cases ------------------------------------------------------------------------------
if want suite; then
  log "running $TESTS ($FORM form); this takes minutes"
  set +e
  (cd "$ROOT" && mvn -B -pl server -am verify -Dtest="$TESTS" -Dsurefire.failIfNoSpecifiedTests=false \
      -Dreliability.form="$FORM" -Dreliability.figures="$FIGURES" >"$TMP/mvn.log" 2>&1)
  SUITE_RC=$?
  set -e
  grep -E 'Tests run:.*in io\.|FAIL|Tests in error' "$TMP/mvn.log" | sed 's/^\[[A-Z]*\] //' >&2 || true
  [ "$SUITE_RC" = 0 ] || { tail -n 60 "$TMP/mvn.log" >&2; log "the suite failed (exit $SUITE_RC)"; }
fi

# ---- peak RSS, the sidecar beside HAProxy, under the same concurrent clients -------------------------------
vmhwm_mib() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_200() { # url
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d '{"model":"m","input":"x"}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}
load() { # name url
  local out="$TMP/hey-$1.txt"
  hey -n "$CLIENTS" -c "$CLIENTS" -t 600 -m POST -T application/json -d '{"model":"m","input":"x"}' "$2" >"$out" 2>&1 || true
  local ok; ok=$(awk '/\[200\]/ {print $2}' "$out"); ok=${ok:-0}
  printf '%s\tclients served (of %s)\t%s\n' "$1" "$CLIENTS" "$ok" >>"$FIGURES"
  awk -v n="$1" '/Requests\/sec/ {printf "%s\treq/s\t%.0f\n", n, $2}' "$out" >>"$FIGURES"
}

if want rss; then
  command -v hey >/dev/null || die "hey is needed for the RSS comparison"
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || die "haproxy is needed for the RSS comparison"
  export PATH="$PATH:/usr/sbin"
  ports=()
  for i in 0 1; do
    p=$(free_port); ports+=("$p")
    "$ROOT/bin/vllm-sim" serve m --host "$HOST" --port "$p" --max-num-seqs "$MAX_BATCH" --sim-startup-delay 0 \
        --sim-service-time-ms "$SERVICE_MS" --sim-gpu-ledger "$TMP/gpu.ledger" --gpu-memory-utilization 0.01 \
        >"$TMP/sim$i.log" 2>&1 &
    PID[sim$i]=$!
  done
  for p in "${ports[@]}"; do wait_200 "http://$HOST:$p/pooling" || die "a simulator did not come up"; done

  hp=$(free_port)
  {
    # two descriptors per proxied connection: HAProxy refuses to start past the descriptor limit
    hmax=$(( ($(ulimit -n) - 1000) / 2 )); [ "$hmax" -lt $((CLIENTS + 100)) ] || hmax=$((CLIENTS + 100))
    echo "global"; echo "  maxconn $hmax"
    echo "defaults"; echo "  mode http"; echo "  timeout connect 5s"; echo "  timeout client 600s"
    echo "  timeout server 600s"; echo "  timeout queue 600s"
    echo "frontend fe"; echo "  bind $HOST:$hp"; echo "  default_backend be"
    echo "backend be"; echo "  balance roundrobin"
    echo "  server b0 $HOST:${ports[0]} maxconn $MAX_BATCH"; echo "  server b1 $HOST:${ports[1]} maxconn $MAX_BATCH"
  } >"$TMP/haproxy.cfg"
  haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
  PID[haproxy]=$!
  wait_200 "http://$HOST:$hp/pooling" || die "haproxy did not come up"
  log "haproxy: $CLIENTS concurrent clients"
  load haproxy "http://$HOST:$hp/pooling"
  printf 'haproxy\tpeak RSS (VmHWM) MiB\t%s\n' "$(vmhwm_mib "${PID[haproxy]}")" >>"$FIGURES"
  kill "${PID[haproxy]}"; unset 'PID[haproxy]'

  sp=$(free_port); ap=$(free_port)
  "$ROOT/bin/vllm-factory-serve" --backend-url "http://$HOST:${ports[0]}" --backend-url "http://$HOST:${ports[1]}" \
      --host "$HOST" --port "$sp" --admin-port "$ap" --max-batch-size "$MAX_BATCH" >"$TMP/sidecar.log" 2>&1 &
  PID[sidecar]=$!
  wait_200 "http://$HOST:$sp/pooling" || { tail -n 30 "$TMP/sidecar.log" >&2; die "the sidecar did not come up"; }
  jvm=${PID[sidecar]} # the launcher execs the JVM
  log "sidecar (pid $jvm): $CLIENTS concurrent clients"
  load sidecar "http://$HOST:$sp/pooling"
  printf 'sidecar\tpeak RSS (VmHWM) MiB\t%s\n' "$(vmhwm_mib "$jvm")" >>"$FIGURES"
  printf 'sidecar\trequests failed (its own count)\t%s\n' \
      "$(curl -s "http://$HOST:$ap/observe/metrics" | awk '/^vllm_factory_requests_failed_total/ {s += $2} END {print s + 0}')" >>"$FIGURES"
fi

echo
printf '%-46s  %-56s  %s\n' "case" "figure" "value"
printf '%-46s  %-56s  %s\n' "----" "------" "-----"
while IFS=$'\t' read -r c what value; do
  printf '%-46s  %-56s  %s\n' "$c" "$what" "$value"
done <"$FIGURES"
[ "${SUITE_RC:-0}" = 0 ]
