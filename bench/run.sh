#!/usr/bin/env bash
# Benchmark: our dispatcher vs HAProxy vs a direct hit (and optionally a second "baseline"
# dispatcher build), all in front of local nginx backends, driven by wrk with the same load
# in the same run. Loopback only.
# Run by hand (not in CI):   bash bench/run.sh        (see bench/README.md for knobs)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

# ---- knobs (env) ----------------------------------------------------------------
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-10s}                 # per target, not counted; "0" disables
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}       # wrk's per-request timeout
MAX_BATCH=${MAX_BATCH:-32}            # haproxy maxconn per server == dispatcher --max-batch-size
BACKENDS=${BACKENDS:-4}
NGINX_WORKERS=${NGINX_WORKERS:-1}
TARGETS=${TARGETS:-"direct haproxy dispatcher"}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-60} # seconds to wait for the dispatcher's /health
COOLDOWN=${COOLDOWN:-1}               # seconds of idle between wrk runs
DISPATCHER_CMD=${DISPATCHER_CMD:-"$ROOT/bin/vllm-factory-serve"}
BASELINE_CMD=${BASELINE_CMD:-}        # a second dispatcher build to compare against ("baseline" target)
RESULTS_DIR=${RESULTS_DIR:-"$BENCH_DIR/results"}
KEEP_TMP=${KEEP_TMP:-0}
BODY_SIZE=${BODY_SIZE:-0}            # request body bytes; 0 = the ~300-byte GLiNER-style JSON
# Verdict floors (the one-path dispatcher's): req/s >= RPS_MIN x haproxy, p99 <= P99_MAX x haproxy,
# CPU per request <= CPU_MAX x haproxy's.
RPS_MIN=${RPS_MIN:-0.5}
P99_MAX=${P99_MAX:-3.0}
CPU_MAX=${CPU_MAX:-2.0}

HOST=127.0.0.1   # never anything else

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

for v in ROUNDS CONNECTIONS THREADS MAX_BATCH BACKENDS NGINX_WORKERS STARTUP_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for t in $TARGETS; do
  case $t in direct|haproxy|dispatcher|baseline) ;; *) die "unknown target '$t' in TARGETS (direct haproxy dispatcher baseline)";; esac
done
if [ -n "${BASELINE_CMD// /}" ]; then
  [[ " $TARGETS " == *" baseline "* ]] || TARGETS="$TARGETS baseline"
elif [[ " $TARGETS " == *" baseline "* ]]; then
  die "TARGETS lists 'baseline' but BASELINE_CMD is empty (set BASELINE_CMD to the other build's launcher)"
fi

# ---- tools ----------------------------------------------------------------------------
need_install=()
command -v nginx   >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]   || need_install+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_install+=(haproxy)
command -v wrk     >/dev/null 2>&1 || need_install+=(wrk)
command -v curl    >/dev/null 2>&1 || need_install+=(curl)
if ((${#need_install[@]})); then
  log "installing missing tools: ${need_install[*]}"
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${need_install[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (free-port helper)"
command -v ss >/dev/null 2>&1 || die "ss (iproute2) is needed"

# ---- temp dir, process bookkeeping, cleanup ----------------------------------------------------
TMP=$(mktemp -d /tmp/vfs-bench.XXXXXX)
declare -A SVC_PID=()   # name -> pid (each started in its own session/process group)

stop_pid() { # pid: TERM its process group (and itself), wait up to 5 s, then KILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? name
  trap - EXIT INT TERM
  for name in baseline dispatcher haproxy nginx; do
    [ -n "${SVC_PID[$name]:-}" ] && stop_pid "${SVC_PID[$name]}"
  done
  if [ "$KEEP_TMP" = 1 ]; then log "kept temp dir $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# start NAME LOGFILE CMD...: background, own process group (setsid), pid in SVC_PID[NAME]
start_svc() {
  local name=$1 logf=$2; shift 2
  setsid "$@" >"$logf" 2>&1 </dev/null &
  SVC_PID[$name]=$!
}

free_ports() { # N distinct free loopback TCP ports
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
EOF
}

http_code() { # METHOD URL -> prints HTTP status code (000 if no answer)
  local method=$1 url=$2
  if [ "$method" = POST ]; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
      -H 'Content-Type: application/json' --data-binary "@$TMP/body.json" "$url" || true
  else
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true
  fi
}

WAIT_FAIL=""
wait_http_200() { # NAME METHOD URL TIMEOUT_S: poll until 200; 1 (reason in WAIT_FAIL) on timeout or if the process died
  local name=$1 method=$2 url=$3 timeout=$4 deadline code=000 rc
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if ! kill -0 "${SVC_PID[$name]}" 2>/dev/null; then
      rc=0; wait "${SVC_PID[$name]}" 2>/dev/null || rc=$?
      WAIT_FAIL="exited during startup (exit status $rc) before $method ${url#http://$HOST} answered 200"
      log "$name: $WAIT_FAIL"; return 1
    fi
    code=$(http_code "$method" "$url")
    [ "$code" = 200 ] && return 0
    sleep 0.5
  done
  WAIT_FAIL="no 200 from $method ${url#http://$HOST} within ${timeout}s (last status $code)"
  log "$name: $WAIT_FAIL"
  return 1
}

# ---- request body + wrk script ----------------------------------------------------------------------
python3 - "$TMP/body.json" "$BODY_SIZE" <<'EOF'
import json, sys
text = ("Apple Inc. announced on Tuesday that Tim Cook will travel to Berlin to meet "
        "representatives of Siemens and the European Commission about supply chains.")
req = {"model": "urchade/gliner_multi-v2.1", "input": text,
       "labels": ["person", "organization", "location"], "threshold": 0.5}
# pad the input text to ~300 bytes of JSON
while len(json.dumps(req, separators=(",", ":"))) < 300:
    req["input"] += " Lorem ipsum dolor sit amet."
size = int(sys.argv[2])
if size > 0:  # one long input text: a large request
    req["input"] = ""
    req["input"] = "x" * (size - len(json.dumps(req, separators=(",", ":"))))
open(sys.argv[1], "w").write(json.dumps(req, separators=(",", ":")))
EOF
BODY_BYTES=$(wc -c <"$TMP/body.json")
cat >"$TMP/post.lua" <<EOF
local f = io.open("$TMP/body.json", "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF

# ---- nginx backends ------------------------------------------------------------------------
read -r -a BACKEND_PORTS <<<"$(free_ports "$BACKENDS")"
NGX="$TMP/nginx"
mkdir -p "$NGX/logs" "$NGX/tmp"
# ~200-byte fixed JSON answer (shaped like a pooling response)
RESP='{"id":"pool-bench","object":"list","created":1700000000,"model":"urchade/gliner_multi-v2.1","data":[{"index":0,"object":"pooling","data":[[0,5,0,0.97],[50,57,2,0.93]]}],"usage":{"prompt_tokens":64,"total_tokens":64}}'
{
  echo "worker_processes $NGINX_WORKERS;"
  echo "pid $NGX/nginx.pid;"
  echo "error_log $NGX/logs/error.log warn;"
  echo "events { worker_connections 4096; }"
  echo "http {"
  echo "  access_log off;"
  echo "  client_body_temp_path $NGX/tmp/body; proxy_temp_path $NGX/tmp/proxy;"
  echo "  fastcgi_temp_path $NGX/tmp/fcgi; uwsgi_temp_path $NGX/tmp/uwsgi; scgi_temp_path $NGX/tmp/scgi;"
  echo "  keepalive_requests 100000; keepalive_timeout 300s; client_max_body_size 0;"
  echo "  default_type application/json;"
  for p in "${BACKEND_PORTS[@]}"; do
    echo "  server {"
    echo "    listen $HOST:$p;"
    echo "    location = /pooling { default_type application/json; return 200 '$RESP'; }"
    echo "    location = /health  { default_type application/json; return 200 '{\"status\":\"ok\"}'; }"
    echo "    location / { default_type application/json; return 200 '$RESP'; }"
    echo "  }"
  done
  echo "}"
} >"$NGX/nginx.conf"
nginx -t -p "$NGX" -c "$NGX/nginx.conf" >"$NGX/logs/test.log" 2>&1 || { cat "$NGX/logs/test.log" >&2; die "nginx config test failed"; }
start_svc nginx "$NGX/logs/stdout.log" nginx -p "$NGX" -c "$NGX/nginx.conf" -g 'daemon off;'
for p in "${BACKEND_PORTS[@]}"; do
  wait_http_200 nginx POST "http://$HOST:$p/pooling" 10 || { cat "$NGX/logs/"*.log >&2; die "nginx backend on port $p did not come up"; }
done
log "nginx: $BACKENDS backends on ports ${BACKEND_PORTS[*]} ($NGINX_WORKERS worker(s)), response $(printf %s "$RESP" | wc -c) bytes"

declare -A URL=()     # target -> URL of /pooling
declare -A SKIPPED=() # target -> reason
URL[direct]="http://$HOST:${BACKEND_PORTS[0]}/pooling"

want() { [[ " $TARGETS " == *" $1 "* ]]; }

# ---- haproxy ------------------------------------------------------------------------------------
if want haproxy; then
  read -r HAP_PORT <<<"$(free_ports 1)"
  HAP="$TMP/haproxy"; mkdir -p "$HAP"
  {
    echo "global"
    echo "  maxconn 4096"
    echo "defaults"
    echo "  mode http"
    echo "  option http-keep-alive"
    echo "  http-reuse always"
    echo "  timeout connect 5s"
    echo "  timeout client 60s"
    echo "  timeout server 60s"
    echo "  timeout queue 60s"
    echo "  timeout http-keep-alive 300s"
    echo "frontend fe"
    echo "  bind $HOST:$HAP_PORT"
    echo "  default_backend be"
    echo "backend be"
    echo "  balance roundrobin"
    i=0
    for p in "${BACKEND_PORTS[@]}"; do
      i=$((i + 1)); echo "  server b$i $HOST:$p maxconn $MAX_BATCH"
    done
  } >"$HAP/haproxy.cfg"
  haproxy -c -q -f "$HAP/haproxy.cfg" || die "haproxy config check failed ($HAP/haproxy.cfg)"
  start_svc haproxy "$HAP/haproxy.log" haproxy -db -f "$HAP/haproxy.cfg"
  if wait_http_200 haproxy POST "http://$HOST:$HAP_PORT/pooling" 10; then
    URL[haproxy]="http://$HOST:$HAP_PORT/pooling"
    log "haproxy $(haproxy -v | head -n1 | awk '{print $3}') on port $HAP_PORT (roundrobin, maxconn $MAX_BATCH/server, http-reuse always)"
  else
    tail -n 20 "$HAP/haproxy.log" >&2 || true
    SKIPPED[haproxy]="did not come up: $WAIT_FAIL"
    stop_pid "${SVC_PID[haproxy]}"; unset 'SVC_PID[haproxy]'
  fi
fi

# ---- dispatcher (and baseline) ----------------------------------------------------------------------
declare -A PORT=() SVC_LOG=()   # dispatcher/baseline -> its port, its log file

# start_dispatcher NAME CMD: start one dispatcher build (CMD is a shell command line, run from the
# repo root, the flags are appended) on a free port. Up = GET /health 200 within STARTUP_TIMEOUT,
# then POST /pooling 200. Sets URL[NAME], or SKIPPED[NAME] (and stops it) if it did not come up.
start_dispatcher() {
  local name=$1 cmd=$2 port logf first_word code p flags=()
  read -r port <<<"$(free_ports 1)"
  logf="$TMP/$name.log"
  PORT[$name]=$port; SVC_LOG[$name]=$logf
  for p in "${BACKEND_PORTS[@]}"; do flags+=(--backend-url "http://$HOST:$p"); done
  # The admin listener (which builds open in this mode) on a free port: two builds never collide.
  flags+=(--host "$HOST" --port "$port" --admin-port 0 --max-batch-size "$MAX_BATCH")
  first_word=${cmd%% *}
  if [ -z "${cmd// /}" ]; then
    SKIPPED[$name]="${name^^}_CMD is empty"
    return 0
  elif [[ $first_word == */* && ! -x $first_word ]] || { [[ $first_word != */* ]] && ! command -v "$first_word" >/dev/null 2>&1; }; then
    SKIPPED[$name]="launcher '$first_word' not found or not executable"
    return 0
  fi
  log "$name: starting '$cmd ${flags[*]}' (JAVA_OPTS='${JAVA_OPTS:-}')"
  start_svc "$name" "$logf" bash -c "cd \"\$0\" && exec $cmd \"\$@\"" "$ROOT" "${flags[@]}"
  if ! wait_http_200 "$name" GET "http://$HOST:$port/health" "$STARTUP_TIMEOUT"; then
    SKIPPED[$name]="did not come up: $WAIT_FAIL"
  else
    code=$(http_code POST "http://$HOST:$port/pooling")
    if [ "$code" = 200 ]; then
      URL[$name]="http://$HOST:$port/pooling"
      log "$name up on port $port"
    else
      SKIPPED[$name]="up, but POST /pooling through it returned HTTP $code"
    fi
  fi
  if [ -n "${SKIPPED[$name]:-}" ]; then
    log "$name log (last 20 lines):"
    tail -n 20 "$logf" 2>/dev/null | sed 's/^/    | /' >&2 || true
    stop_pid "${SVC_PID[$name]}"; unset "SVC_PID[$name]"
  fi
}

# The baseline starts first: two identical JVMs measured by turns differed by up to a few per cent,
# in favour of the one started first, so that order never flatters the build under test.
if want baseline; then start_dispatcher baseline "$BASELINE_CMD"; fi
if want dispatcher; then start_dispatcher dispatcher "$DISPATCHER_CMD"; fi

ACTIVE=()
for t in $TARGETS; do
  if [ -n "${URL[$t]:-}" ]; then ACTIVE+=("$t"); else
    log "SKIP $t: ${SKIPPED[$t]:-not available}"
  fi
done
((${#ACTIVE[@]})) || die "no target came up"

# ---- wrk runs ----------------------------------------------------------------------------------
to_ms() { # "1.23ms" | "456.00us" | "1.02s" | "1.50m" -> ms
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "nan" }'
}

RAW="$TMP/raw"; mkdir -p "$RAW"
ROWS="$TMP/rows.tsv"   # target round rps p50_ms p99_ms requests non2xx sockerr cpu_us
: >"$ROWS"

# ---- server CPU time per request ------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

java_pid() { # NAME (dispatcher|baseline) -> pid of its java process (the one listening on its port)
  local name=$1 pid
  pid=$(ss -Hltnp "sport = :${PORT[$name]}" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)
  if [ -z "$pid" ]; then # fall back: a java process in its session (setsid)
    pid=$(ps -o pid=,comm= -s "${SVC_PID[$name]}" 2>/dev/null | awk '$2 == "java" {print $1; exit}' || true)
  fi
  echo "${pid:-${SVC_PID[$name]}}"
}

server_pids() { # TARGET -> the pid(s) whose CPU time is the server side of that target
  case $1 in
    direct)  ps -o pid= -s "${SVC_PID[nginx]}" 2>/dev/null || true ;;  # nginx master + workers (own session)
    haproxy) echo "${SVC_PID[haproxy]:-}" ;;
    dispatcher|baseline) java_pid "$1" ;;
  esac
}

cpu_ticks() { # PID... -> utime+stime (fields 14, 15 of /proc/PID/stat) summed, in clock ticks; 1 if any is unreadable
  local pid stat total=0 fld
  (($#)) || return 1
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    read -r -a fld <<<"${stat##*) }"   # fields from 3 on (comm, field 2, may hold spaces): 14 -> [11]
    [[ ${fld[11]:-} =~ ^[0-9]+$ && ${fld[12]:-} =~ ^[0-9]+$ ]] || return 1
    total=$((total + fld[11] + fld[12]))
  done
  echo "$total"
}

cpu_us_per_req() { # TICKS_BEFORE TICKS_AFTER REQUESTS -> microseconds of CPU per request, or nan
  awk -v a="$1" -v b="$2" -v n="$3" -v hz="$CLK_TCK" 'BEGIN {
    if (a !~ /^[0-9]+$/ || b !~ /^[0-9]+$/ || n !~ /^[0-9]+$/ || n == 0 || b < a) print "nan"
    else printf "%.2f\n", (b - a) / hz * 1e6 / n }'
}

declare -A BROKEN=()  # target -> why it was dropped mid-run
run_wrk() { # TARGET DURATION OUTFILE LABEL: 1 (and BROKEN[TARGET] set) if wrk failed or the target died
  local t=$1 rc=0
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$2" --timeout "$WRK_TIMEOUT" --latency \
    -s "$TMP/post.lua" "${URL[$t]}" >"$3" 2>&1 || rc=$?
  if [ -n "${SVC_PID[$t]:-}" ] && ! kill -0 "${SVC_PID[$t]}" 2>/dev/null; then
    BROKEN[$t]="process exited during $4; not measured further"
  elif ((rc != 0)); then
    BROKEN[$t]="wrk failed during $4 (exit $rc: $(head -n1 "$3")); not measured further"
  else
    return 0
  fi
  log "WARNING: $t: ${BROKEN[$t]}"
  return 1
}

parse_wrk() { # OUTFILE -> "rps p50_ms p99_ms requests non2xx sockerr"
  local f=$1 rps p50 p99 reqs non2xx sockerr
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
  p50=$(awk '$1 == "50%" {print $2}' "$f")
  p99=$(awk '$1 == "99%" {print $2}' "$f")
  reqs=$(awk '/requests in/ {print $1}' "$f")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$f")
  sockerr=$(awk '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$f")
  [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || { log "could not parse wrk output $f"; cat "$f" >&2; return 1; }
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${reqs:-0} ${non2xx:-0} ${sockerr:-0}"
}

log "load: wrk -t$THREADS -c$CONNECTIONS, POST /pooling with a $BODY_BYTES-byte JSON body; warm-up $WARMUP/target, $ROUNDS round(s) x $DURATION"
if [ "$WARMUP" != 0 ] && [ "$WARMUP" != 0s ]; then
  for t in "${ACTIVE[@]}"; do
    log "warm-up $t ($WARMUP)"
    run_wrk "$t" "$WARMUP" "$RAW/warmup-$t.txt" warm-up || true
    sleep "$COOLDOWN"
  done
fi

n=${#ACTIVE[@]}
for ((r = 1; r <= ROUNDS; r++)); do
  for ((k = 0; k < n; k++)); do
    t=${ACTIVE[$(((k + r - 1) % n))]}   # rotate the order each round to spread drift
    [ -n "${BROKEN[$t]:-}" ] && continue
    f="$RAW/round$r-$t.txt"
    read -r -a pids <<<"$(server_pids "$t" | xargs)"
    ticks0=$(cpu_ticks "${pids[@]}" || true)
    if ! run_wrk "$t" "$DURATION" "$f" "round $r"; then sleep "$COOLDOWN"; continue; fi
    ticks1=$(cpu_ticks "${pids[@]}" || true)
    read -r rps p50 p99 reqs non2xx sockerr <<<"$(parse_wrk "$f")"
    cpu_us=$(cpu_us_per_req "$ticks0" "$ticks1" "$reqs")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$r" "$rps" "$p50" "$p99" "$reqs" "$non2xx" "$sockerr" "$cpu_us" >>"$ROWS"
    log "$(printf 'round %d %-10s %10.0f req/s  p50 %8.3f ms  p99 %8.3f ms  cpu %7.2f us/req  non2xx %s  sock-err %s' \
      "$r" "$t" "$rps" "$p50" "$p99" "$cpu_us" "$non2xx" "$sockerr")"
    sleep "$COOLDOWN"
  done
done

# ---- dispatcher/baseline peak RSS (before they are stopped) ---------------------------------------
declare -A RSS=()   # dispatcher/baseline -> its RSS line
rss_report() { # NAME: RSS[NAME] = peak and current RSS of its java process, if it was measured
  local name=$1 pid hwm rss comm
  if [ -z "${URL[$name]:-}" ] || [ -n "${BROKEN[$name]:-}" ]; then return 0; fi
  pid=$(java_pid "$name")
  if [ -r "/proc/$pid/status" ]; then
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || echo '?')
    RSS[$name]=$(awk -v h="$hwm" -v r="$rss" -v p="$pid" -v c="$comm" \
      'BEGIN { printf "peak RSS (VmHWM) %.1f MiB, current RSS %.1f MiB  [pid %s, %s]", h / 1024, r / 1024, p, c }')
  else
    RSS[$name]="unavailable (no /proc/$pid/status)"
  fi
}
rss_report dispatcher
rss_report baseline

# ---- summary ------------------------------------------------------------------------------------
median() { # ignores "nan" values; "nan" if none is left
  sort -g | awk '$1 != "nan" { a[++n] = $1 } END { if (n == 0) print "nan"; else if (n % 2) print a[(n + 1) / 2]; else printf "%.3f\n", (a[n / 2] + a[n / 2 + 1]) / 2 }'
}
col() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t { print $c }' "$ROWS"; }
sumcol() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t { s += $c } END { print s + 0 }' "$ROWS"; }

git_desc() { # DIR -> short HEAD of the git tree holding DIR (+ " (dirty)"), or "no commit"
  local rev
  rev=$(git -C "$1" rev-parse --short HEAD 2>/dev/null) || { echo 'no commit'; return 0; }
  if git -C "$1" diff --quiet 2>/dev/null; then echo "$rev"; else echo "$rev (dirty)"; fi
}

declare -A MED_RPS=() MED_P50=() MED_P99=() MED_CPU=() ERRS=()
SUMMARY="$TMP/summary.txt"
{
  echo "vllm-factory-serve benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  host $(hostname)  $(nproc) cores"
  echo "git: $(git_desc "$ROOT")"
  echo "load: wrk -t$THREADS -c$CONNECTIONS --latency, POST /pooling, $BODY_BYTES-byte JSON body; warm-up $WARMUP/target; $ROUNDS round(s) x $DURATION"
  echo "backends: $BACKENDS nginx server blocks ($NGINX_WORKERS worker(s)), fixed ~200-byte JSON; max-batch $MAX_BATCH"
  echo "JAVA_OPTS='${JAVA_OPTS:-}'  DISPATCHER_CMD='$DISPATCHER_CMD'"
  if [ -n "${BASELINE_CMD// /}" ]; then
    echo "BASELINE_CMD='$BASELINE_CMD'  baseline git: $(git_desc "$(dirname -- "${BASELINE_CMD%% *}")")"
  fi
  echo
  echo "per round:"
  printf '  %-10s %5s %12s %10s %10s %10s %10s %8s %8s\n' target round req/s p50_ms p99_ms cpu_us requests non2xx sockerr
  sort -t$'\t' -k2,2n -k1,1 "$ROWS" | while IFS=$'\t' read -r t r rps p50 p99 reqs non2xx sockerr cpu_us; do
    printf '  %-10s %5s %12.0f %10.3f %10.3f %10.2f %10s %8s %8s\n' "$t" "$r" "$rps" "$p50" "$p99" "$cpu_us" "$reqs" "$non2xx" "$sockerr"
  done
  echo
  echo "median over $ROUNDS round(s):"
  printf '  %-10s %12s %10s %10s %10s %12s\n' target req/s p50_ms p99_ms cpu_us errors
  for t in $TARGETS; do
    if [ -z "${URL[$t]:-}" ]; then printf '  %-10s SKIPPED: %s\n' "$t" "${SKIPPED[$t]:-not available}"; continue; fi
    if [ -z "$(col "$t" 3)" ]; then printf '  %-10s no completed round: %s\n' "$t" "${BROKEN[$t]:-?}"; continue; fi
    MED_RPS[$t]=$(col "$t" 3 | median); MED_P50[$t]=$(col "$t" 4 | median); MED_P99[$t]=$(col "$t" 5 | median)
    MED_CPU[$t]=$(col "$t" 9 | median)
    ERRS[$t]=$(( $(sumcol "$t" 7) + $(sumcol "$t" 8) ))
    printf '  %-10s %12.0f %10.3f %10.3f %10.2f %12s\n' "$t" "${MED_RPS[$t]}" "${MED_P50[$t]}" "${MED_P99[$t]}" "${MED_CPU[$t]}" "${ERRS[$t]}"
  done
  for t in $TARGETS; do
    if [ -n "${BROKEN[$t]:-}" ]; then echo "  WARNING: $t: ${BROKEN[$t]}"; fi
    if [ -n "${ERRS[$t]:-}" ] && [ "${ERRS[$t]}" != 0 ]; then
      echo "  WARNING: $t had ${ERRS[$t]} non-2xx responses / socket errors in total (see per-round table)"
    fi
  done
  echo
  for t in dispatcher baseline; do
    if [ -n "${RSS[$t]:-}" ]; then echo "$t ${RSS[$t]}"; fi
  done
  if [ -n "${RSS[dispatcher]:-}${RSS[baseline]:-}" ]; then echo; fi
  if [ -n "${MED_RPS[dispatcher]:-}" ] && [ -n "${MED_RPS[baseline]:-}" ]; then
    awk -v dr="${MED_RPS[dispatcher]}" -v br="${MED_RPS[baseline]}" -v dp="${MED_P99[dispatcher]}" -v bp="${MED_P99[baseline]}" \
        -v dc="${MED_CPU[dispatcher]}" -v bc="${MED_CPU[baseline]}" '
      function ratio(a, b) { return (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) ? sprintf("%.3fx", a / b) : "nan" }
      BEGIN { printf "dispatcher/baseline: req/s %s, p99 %s, cpu/req %s\n", ratio(dr, br), ratio(dp, bp), ratio(dc, bc) }'
  fi
  if [ -n "${MED_RPS[dispatcher]:-}" ] && [ -n "${MED_RPS[haproxy]:-}" ]; then
    # Round by round, for a feel of the spread: this VM's neighbours move every target by +-20 %.
    awk -F'\t' -v rmin="$RPS_MIN" '$1 == "dispatcher" { d[$2] = $3 } $1 == "haproxy" { h[$2] = $3 }
      END {
        out = ""; n = 0; ok = 0
        for (r = 1; r <= 1000; r++) {
          if (!(r in d) || !(r in h) || h[r] <= 0) { continue }
          n++; x = d[r] / h[r]; if (x >= rmin) { ok++ }
          out = out sprintf("%s%.2f", n > 1 ? " " : "", x)
        }
        if (n > 0) { printf "dispatcher/haproxy req/s by round: %s (%d of %d at or above %.2fx)\n", out, ok, n, rmin }
      }' "$ROWS"
    awk -v dr="${MED_RPS[dispatcher]}" -v hr="${MED_RPS[haproxy]}" -v dp="${MED_P99[dispatcher]}" -v hp="${MED_P99[haproxy]}" \
        -v dc="${MED_CPU[dispatcher]}" -v hc="${MED_CPU[haproxy]}" -v cmax="$CPU_MAX" \
        -v de="${ERRS[dispatcher]}" -v died="${BROKEN[dispatcher]:-}" -v rmin="$RPS_MIN" -v pmax="$P99_MAX" 'BEGIN {
      rr = dr / hr; pr = (hp > 0) ? dp / hp : 999; cr = (hc > 0) ? dc / hc : 999
      printf "dispatcher/haproxy: req/s %.3fx (floor >= %.2fx), p99 %.3fx (ceiling <= %.2fx), cpu/req %.3fx (ceiling <= %.2fx)\n", rr, rmin, pr, pmax, cr, cmax
      ok = (rr >= rmin) && (pr <= pmax) && (cr <= cmax) && (de == 0) && (died == "")
      printf "VERDICT: %s", ok ? "PASS" : "FAIL"
      if (!ok) {
        printf " ("; sep = ""
        if (rr < rmin) { printf "%sreq/s below target", sep; sep = "; " }
        if (pr > pmax) { printf "%sp99 above target", sep; sep = "; " }
        if (cr > cmax) { printf "%sCPU per request above target", sep; sep = "; " }
        if (de != 0)   { printf "%s%d errors", sep, de; sep = "; " }
        if (died != "") { printf "%sdispatcher died", sep }
        printf ")"
      }
      printf "\n" }'
  elif [ -n "${BROKEN[dispatcher]:-}" ]; then
    echo "VERDICT: FAIL (dispatcher: ${BROKEN[dispatcher]})"
  else
    echo "VERDICT: N/A (needs both haproxy and dispatcher measured)"
  fi
} >"$SUMMARY"

echo
cat "$SUMMARY"
mkdir -p "$RESULTS_DIR"
cp "$SUMMARY" "$RESULTS_DIR/latest.txt"
rm -rf "$RESULTS_DIR/latest-raw"; cp -r "$RAW" "$RESULTS_DIR/latest-raw"
for t in dispatcher baseline; do
  if [ -s "${SVC_LOG[$t]:-}" ]; then cp "${SVC_LOG[$t]}" "$RESULTS_DIR/latest-raw/$t.log"; fi
done
log "summary written to ${RESULTS_DIR#"$ROOT"/}/latest.txt (raw wrk output in ${RESULTS_DIR#"$ROOT"/}/latest-raw/)"

case $(tail -n1 "$SUMMARY") in
  "VERDICT: PASS"*) exit 0 ;;
  "VERDICT: FAIL"*) exit 1 ;;
  *) exit 3 ;;
esac
