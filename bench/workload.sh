#!/usr/bin/env bash
# Workload benchmark: the dispatcher in front of GPU-like backends (simulators that answer in
# milliseconds, a few requests at a time), against driving the same backends straight, in the same
# run. Also: time to the first server-sent event through HAProxy and through the dispatcher, and the
# dispatcher's memory with many idle client connections (HAProxy's beside it).
# Run by hand (not in CI):   bash bench/workload.sh        (see bench/README.md)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

# ---- knobs (env) ----------------------------------------------------------------------------------
BACKENDS=${BACKENDS:-2}               # simulated GPU backends
SLOTS=${SLOTS:-8}                     # --max-num-seqs of each, and the dispatcher's --max-batch-size
SERVICE_MS=${SERVICE_MS:-50}          # time per request on a backend
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-10s}
SSE_REQUESTS=${SSE_REQUESTS:-200}     # streamed requests timed per target
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
DISPATCHER_CMD=${DISPATCHER_CMD:-"$ROOT/bin/vllm-factory-serve"}
BASELINE_CMD=${BASELINE_CMD:-}        # another build, measured beside the dispatcher (capacity part)
PARTS=${PARTS:-"capacity sse idle"}
HOST=127.0.0.1
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# HAProxy needs two descriptors per proxied connection: its idle-connection count is bounded by the limit.
HAPROXY_MAXCONN=$(( ($(ulimit -n) - 1000) / 2 ))
HAPROXY_IDLE=$(( IDLE_CONNECTIONS < HAPROXY_MAXCONN - 100 ? IDLE_CONNECTIONS : HAPROXY_MAXCONN - 100 ))

log() { printf '[workload %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

need=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v curl >/dev/null 2>&1 || need+=(curl)
if ((${#need[@]})); then
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (load helpers)"
source "$ROOT/bin/lib/find-java.sh"
source "$ROOT/bin/lib/build.sh"
ensure_built "$ROOT/server/target/vllm-factory-serve.jar" server
ensure_built "$ROOT/simulator/target/vllm-simulator.jar" simulator

TMP=$(mktemp -d /tmp/vfs-workload.XXXXXX)
declare -A PID=()
cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  for n in "${!PID[@]}"; do kill -TERM -- "-${PID[$n]}" 2>/dev/null || kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  sleep 1
  for n in "${!PID[@]}"; do kill -KILL -- "-${PID[$n]}" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

source "$BENCH_DIR/lib/procs.sh"
pid_on_port() { ss -ltnpH "sport = :$1" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# ---- backends, HAProxy, dispatcher --------------------------------------------------------------
read -r -a BPORTS <<<"$(free_ports "$BACKENDS")"
read -r DPORT HPORT BPORT <<<"$(free_ports 3)"
for i in "${!BPORTS[@]}"; do
  start "sim$i" "$ROOT/bin/vllm-sim" serve bench-model --host "$HOST" --port "${BPORTS[$i]}" \
    --max-num-seqs "$SLOTS" --gpu-memory-utilization 0.1 --sim-startup-delay 0 \
    --sim-service-time-ms "$SERVICE_MS" --sim-token-delay-ms 20 --sim-gpu-ledger "$TMP/gpu.ledger"
done
for p in "${BPORTS[@]}"; do wait_200 "http://$HOST:$p/health" 60; done
flags=(--host "$HOST" --port "$DPORT" --admin-port 0 --max-batch-size "$SLOTS")
for p in "${BPORTS[@]}"; do flags+=(--backend-url "http://$HOST:$p"); done
start dispatcher bash -c "cd \"\$0\" && exec $DISPATCHER_CMD \"\$@\"" "$ROOT" "${flags[@]}"
wait_200 "http://$HOST:$DPORT/health" 60
if [ -n "$BASELINE_CMD" ]; then
  bflags=("${flags[@]}")
  bflags[3]=$BPORT # --port
  start baseline bash -c "cd \"\$0\" && exec $BASELINE_CMD \"\$@\"" "$ROOT" "${bflags[@]}"
  wait_200 "http://$HOST:$BPORT/health" 60
fi
{
  echo "global"; echo "  maxconn $HAPROXY_MAXCONN"
  echo "defaults"; echo "  mode http"; echo "  option http-keep-alive"; echo "  http-reuse always"
  echo "  option http-no-delay" # streamed events leave at once, as the dispatcher sends them
  echo "  timeout connect 5s"; echo "  timeout client 600s"; echo "  timeout server 600s"; echo "  timeout queue 600s"
  echo "frontend fe"; echo "  bind $HOST:$HPORT"; echo "  default_backend be"
  echo "backend be"; echo "  balance roundrobin"
  for i in "${!BPORTS[@]}"; do echo "  server b$i $HOST:${BPORTS[$i]} maxconn $SLOTS"; done
} >"$TMP/haproxy.cfg"
start haproxy haproxy -db -f "$TMP/haproxy.cfg"
wait_200 "http://$HOST:$HPORT/health" 10
DPID=$(pid_on_port "$DPORT"); HPID=$(pid_on_port "$HPORT")
log "backends ${BPORTS[*]} ($SLOTS slots, ${SERVICE_MS} ms each), dispatcher :$DPORT (pid $DPID), haproxy :$HPORT"

BODY='{"model":"bench-model","input":"Apple was founded by Steve Jobs in Cupertino.","labels":["person","organization","location"],"threshold":0.5}'
cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
EOF

wrk_run() { # URL CONNECTIONS DURATION -> "rps p50_ms"
  wrk -t1 -c "$2" -d "$3" --latency -s "$TMP/post.lua" "$1" 2>/dev/null | awk '
    /Requests\/sec:/ {rps=$2}
    /^ +50%/ {v=$2; u=v; sub(/[0-9.]+/,"",u); sub(/[a-z]+$/,"",v); p50=(u=="us"?v/1000:(u=="s"?v*1000:v))}
    END {printf "%s %s\n", rps, p50}'
}

# ---- 1. capacity: straight vs through the dispatcher --------------------------------------------------
if [[ " $PARTS " == *" capacity "* ]]; then
  CONNS=$((BACKENDS * SLOTS))
  if [ "$WARMUP" != 0 ]; then wrk_run "http://$HOST:$DPORT/pooling" "$CONNS" "$WARMUP" >/dev/null; fi
  : >"$TMP/capacity.tsv"
  for ((r = 1; r <= ROUNDS; r++)); do
    # Straight: each backend driven by its own client with exactly its slots, all at once.
    jobs_=()
    for i in "${!BPORTS[@]}"; do
      wrk_run "http://$HOST:${BPORTS[$i]}/pooling" "$SLOTS" "$DURATION" >"$TMP/direct$i" &
      jobs_+=($!)
    done
    wait "${jobs_[@]}" # only the load: the servers are background jobs too
    awk -v r="$r" '{rps+=$1; p+=$2; n++} END {printf "straight\t%d\t%.1f\t%.3f\n", r, rps, p/n}' "$TMP"/direct* >>"$TMP/capacity.tsv"
    for target in "dispatcher:$DPORT" "haproxy:$HPORT" ${BASELINE_CMD:+"baseline:$BPORT"}; do
      read -r rps p50 <<<"$(wrk_run "http://$HOST:${target#*:}/pooling" "$CONNS" "$DURATION")"
      printf '%s\t%d\t%s\t%s\n' "${target%%:*}" "$r" "$rps" "$p50" >>"$TMP/capacity.tsv"
    done
  done
  echo "== capacity: $BACKENDS backends x $SLOTS slots x ${SERVICE_MS} ms, $CONNS clients, $ROUNDS x $DURATION =="
  column -t "$TMP/capacity.tsv"
  for t in dispatcher haproxy baseline; do
    awk -F'\t' -v t="$t" '$1=="straight"{s[$2]=$3; sp[$2]=$4} $1==t{d[$2]=$3; dp[$2]=$4}
      END {for (r in d) {ratio+=d[r]/s[r]; add+=dp[r]-sp[r]; n++}
           if (n) printf "%-10s / straight: throughput %.4f (goal >= 0.99), p50 added %.3f ms (goal <= 0.2)\n", t, ratio/n, add/n}' \
      "$TMP/capacity.tsv"
  done
fi

# ---- 2. time to the first server-sent event ----------------------------------------------------------
if [[ " $PARTS " == *" sse "* ]]; then
  echo "== time to first event, $SSE_REQUESTS streamed chat completions each (ms) =="
  for target in "straight:${BPORTS[0]}" "haproxy:$HPORT" "dispatcher:$DPORT"; do
    python3 - "${target#*:}" "$SSE_REQUESTS" "${target%%:*}" <<'EOF'
import socket, statistics, sys, time
port, n, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = b'{"model":"bench-model","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"hi"}]}'
req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
       + str(len(body)).encode() + b"\r\n\r\n" + body)
samples = []
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(n):
    t0 = time.perf_counter()
    s.sendall(req)
    got = b""
    while b"data:" not in got:
        got += s.recv(65536)
    samples.append((time.perf_counter() - t0) * 1000)
    while b"data: [DONE]" not in got or not got.endswith(b"0\r\n\r\n"):
        got += s.recv(65536)
samples.sort()
print(f"{name:<11} p50 {statistics.median(samples):7.2f}  p99 {samples[int(len(samples)*0.99)-1]:7.2f}")
EOF
  done
fi

# ---- 3. idle client connections: memory ---------------------------------------------------------------
if [[ " $PARTS " == *" idle "* ]]; then
  echo "== $IDLE_CONNECTIONS idle client connections (each sent nothing yet) =="
  for target in "dispatcher:$DPORT:$DPID:$IDLE_CONNECTIONS" "haproxy:$HPORT:$HPID:$HAPROXY_IDLE"; do
    IFS=: read -r name port pid count <<<"$target"
    before=$(rss_kib "$pid")
    python3 - "$port" "$count" "$pid" "$name" "$before" <<'EOF'
import resource, socket, sys, time
port, n, pid, name, before = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
socks = []
for i in range(n):
    s = socket.socket(); s.connect(("127.0.0.1", port)); socks.append(s)
time.sleep(3)
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"): return int(line.split()[1])
after = rss()
ok = socket.create_connection(("127.0.0.1", port), timeout=30)
ok.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
status = ok.recv(100).split(b"\r\n")[0].decode()
print(f"{name:<11} RSS {before/1024:6.1f} MiB -> {after/1024:6.1f} MiB with {n} idle connections "
      f"({(after-before)*1024/n/1024:5.1f} KiB each); a new client still gets: {status}")
for s in socks: s.close()
EOF
  done
fi
