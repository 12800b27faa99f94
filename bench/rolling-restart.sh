#!/usr/bin/env bash
# Rolling restart of two GPU VMs behind HAProxy, on one machine: two sidecars (each launching
# simulated vLLM backends through bin/vllm-sim) behind config/haproxy.cfg as shipped. A steady load
# runs through HAProxy while one sidecar gets SIGTERM, drains, exits and is started again, then the
# other. Passes when no client request failed and both sidecars served traffic after their restart.
#   bash bench/rolling-restart.sh                 (see README "More than one GPU VM")
#   CONCURRENCY=16 INSTANCES=2 SERVICE_MS=20 SETTLE_REQUESTS=200 bash bench/rolling-restart.sh
# Needs haproxy, hey and curl (apt-get install haproxy hey curl), python3 (free ports), a JDK >= 21.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONCURRENCY=${CONCURRENCY:-8}        # client connections of the load
INSTANCES=${INSTANCES:-2}            # simulated backends per sidecar
SERVICE_MS=${SERVICE_MS:-20}         # time per request on a backend
SETTLE_REQUESTS=${SETTLE_REQUESTS:-200} # requests a restarted sidecar must serve before the next step
HOST=127.0.0.1

log() { printf '[rolling %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

export PATH="$PATH:/usr/sbin:/sbin"
for tool in haproxy hey curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (e.g. apt-get install $tool)"
done
source "$ROOT/bin/lib/find-java.sh"
source "$ROOT/bin/lib/build.sh"
ensure_built "$ROOT/server/target/vllm-factory-serve.jar" server
ensure_built "$ROOT/simulator/target/vllm-simulator.jar" simulator

TMP=$(mktemp -d /tmp/vfs-rolling.XXXXXX)
declare -A PID=()
cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  for n in "${!PID[@]}"; do wait "${PID[$n]}" 2>/dev/null || true; done
  if [ "$rc" != 0 ]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Blocks of consecutive free ports: "base" for each count given.
free_blocks() {
  python3 - "$@" <<'EOF'
import random, socket, sys
taken, out = set(), []
for n in map(int, sys.argv[1:]):
    while True:
        base = random.randrange(20000, 32000 - n)  # below the ephemeral range (32768 up)
        if any(p in taken for p in range(base, base + n)):
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(); socks.append(s); s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            for s in socks: s.close()
        taken.update(range(base, base + n)); out.append(base); break
print(" ".join(map(str, out)))
EOF
}
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }
wait_until() { # DESCRIPTION TIMEOUT_S COMMAND...: polls COMMAND until it succeeds
  local what=$1 limit=$2 deadline=$((SECONDS + $2)); shift 2
  until "$@"; do
    ((SECONDS < deadline)) || die "$what: not within ${limit}s"
    sleep 0.2
  done
}
served() { # sidecar name: requests its backends answered since it started
  curl -s --max-time 2 "http://$HOST:${ADMIN[$1]}/observe/metrics" \
    | awk '/^vllm_factory_requests_served_total/ {print int($NF); found=1} END {if (!found) print 0}'
}
haproxy_field() { # server FIELD_NAME: a column of HAProxy's CSV stats
  curl -s --max-time 2 "http://$STATS/stats;csv" | awk -F, -v sv="$1" -v col="$2" '
    NR == 1 {sub(/^# /, ""); for (i = 1; i <= NF; i++) idx[$i] = i; next}
    $1 == "gpu_vms" && $2 == sv {print $idx[col]}'
}
is_up() { [ "$(haproxy_field "$1" status)" = UP ]; }
both_up() { is_up vm1 && is_up vm2; }
has_served() { (($(served "$1") >= SETTLE_REQUESTS)); }
both_served() { has_served vm1 && has_served vm2; }
serving() { [ "$(status_of "http://$HOST:${PORT[$1]}/health")" = 200 ]; }
gone() { ! kill -0 "${PID[$1]}" 2>/dev/null; }

start_sidecar() { # name
  local n=$1
  mkdir -p "$TMP/logs-$n"
  # The backends (simulators) get their own GPU ledger per sidecar: two VMs, two GPUs.
  "$ROOT/bin/vllm-factory-serve" bench-model --num-instances "$INSTANCES" --max-batch-size 8 \
    --backend-command "$ROOT/bin/vllm-sim serve" --host "$HOST" --port "${PORT[$n]}" \
    --admin-port "${ADMIN[$n]}" --port-start "${BACKENDS[$n]}" --log-dir "$TMP/logs-$n" --backend-output file \
    -- --sim-startup-delay 0 --sim-service-time-ms "$SERVICE_MS" --sim-gpu-ledger "$TMP/gpu-$n.ledger" \
    >>"$TMP/sidecar-$n.log" 2>&1 </dev/null &
  PID[$n]=$!
  wait_until "sidecar $n serving" 120 serving "$n"
}

declare -A PORT=() ADMIN=() BACKENDS=()
read -r PORT[vm1] PORT[vm2] ADMIN[vm1] ADMIN[vm2] HPORT SPORT BACKENDS[vm1] BACKENDS[vm2] \
  <<<"$(free_blocks 1 1 1 1 1 1 "$INSTANCES" "$INSTANCES")"
STATS="$HOST:$SPORT"
log "sidecars vm1 :${PORT[vm1]} and vm2 :${PORT[vm2]} ($INSTANCES simulated backends each, ${SERVICE_MS} ms per request)"
start_sidecar vm1
start_sidecar vm2

VFS_BIND="$HOST:$HPORT" VFS_VM1="$HOST:${PORT[vm1]}" VFS_VM2="$HOST:${PORT[vm2]}" VFS_STATS_BIND="$STATS" \
  VFS_ADMIN_SOCKET="$TMP/haproxy.sock" haproxy -db -f "$ROOT/config/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 </dev/null &
PID[haproxy]=$!
wait_until "HAProxy sees vm1 and vm2 up" 30 both_up
log "HAProxy :$HPORT (config/haproxy.cfg), both VMs up; load: $CONCURRENCY connections"

printf '%s' '{"model":"bench-model","input":"Apple was founded by Steve Jobs in Cupertino.","labels":["person","organization","location"],"threshold":0.5}' >"$TMP/body.json"
hey -z 3600s -c "$CONCURRENCY" -m POST -T application/json -D "$TMP/body.json" "http://$HOST:$HPORT/pooling" \
  >"$TMP/hey.txt" 2>&1 </dev/null &
PID[load]=$!
wait_until "load reaches vm1 and vm2" 30 both_served

for n in vm1 vm2; do
  before=$(served "$n")
  t0=$SECONDS
  log "$n: SIGTERM (it served $before requests since its start)"
  kill -TERM "${PID[$n]}"
  wait_until "$n exits" 90 gone "$n"
  wait "${PID[$n]}" && rc=0 || rc=$?
  [ "$rc" = 0 ] || die "$n exited with status $rc (see $TMP/sidecar-$n.log)"
  log "$n: drained and exited 0 after $((SECONDS - t0)) s; starting it again"
  start_sidecar "$n"
  wait_until "HAProxy puts $n back" 30 is_up "$n"
  wait_until "$n serves traffic again" 60 has_served "$n"
  log "$n: back in HAProxy after $((SECONDS - t0)) s, serving ($(served "$n") requests so far)"
done

kill -INT "${PID[load]}"
wait "${PID[load]}" || true
unset 'PID[load]'
after_vm1=$(served vm1)
after_vm2=$(served vm2)
retries=$(haproxy_field BACKEND wretr)
redispatches=$(haproxy_field BACKEND wredis)

# hey's report: "[200]<tab>N responses" under "Status code distribution:", "[N]<tab>message" under "Error distribution:".
read -r total ok errors <<<"$(awk '
  /^Status code distribution:/ {sec = "status"; next}
  /^Error distribution:/ {sec = "error"; next}
  match($0, /\[[0-9]+\]/) {
    v = substr($0, RSTART + 1, RLENGTH - 2) + 0
    if (sec == "status") {total += $2; if (v == 200) ok += $2}
    if (sec == "error") errors += v
  }
  END {print total + 0, ok + 0, errors + 0}' "$TMP/hey.txt")"
failed=$((total - ok + errors))
rps=$(awk '/Requests\/sec:/ {print $2}' "$TMP/hey.txt")
echo "requests: $total answered ($ok with 200), $failed failed (non-200: $((total - ok)), transport errors: $errors), ${rps} req/s"
echo "HAProxy: $retries retries, $redispatches redispatches"
echo "after both restarts: vm1 served $after_vm1, vm2 served $after_vm2"
sed -n '/^Status code distribution:/,$p' "$TMP/hey.txt"
if ((failed == 0 && total > 0 && after_vm1 > 0 && after_vm2 > 0)); then
  echo "VERDICT: PASS (no failed request through a rolling restart of both sidecars)"
else
  echo "VERDICT: FAIL"
  exit 1
fi
