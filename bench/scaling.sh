#!/usr/bin/env bash
# Scaling on a simulated GPU: the seed's table (req/s at 1, 2 and 4 instances on one GPU), with the
# simulator's GPU presets standing in for the RTX A5000. For each model and instance count: the seed's
# method (32 warm-up requests, then 200 timed at concurrency 32 x N, GLiNER bodies of varied lengths and
# label sets) once through the dispatcher and once straight to the backends (each driven by its own
# 32 clients: the ideal), REPEAT rounds alternating the two (median req/s; p50/p99 over all timed
# requests).
# Run by hand (not in CI):   bash bench/scaling.sh        (see bench/README.md)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

# ---- knobs (env) ----------------------------------------------------------------------------------
MODELS=${MODELS:-"deberta-gliner2:deberta_gliner2_io modernbert-gliner:mmbert_gliner_io mt5-gliner:mt5_gliner_io"}
INSTANCES=${INSTANCES:-"1 2 4"}
BATCH=${BATCH:-32}                    # --max-num-seqs of each backend, the dispatcher's --max-batch-size
WARMUP=${WARMUP:-32}
REQUESTS=${REQUESTS:-200}
REPEAT=${REPEAT:-5}
PREWARM=${PREWARM:-400}               # untimed requests to each target first (JIT warm-up)
DISPATCHER_CMD=${DISPATCHER_CMD:-"$ROOT/bin/vllm-factory-serve"}
HOST=127.0.0.1

log() { printf '[scaling %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

command -v curl >/dev/null 2>&1 || die "curl is needed"
command -v python3 >/dev/null 2>&1 || die "python3 is needed (free ports)"
source "$ROOT/bin/lib/find-java.sh"
source "$ROOT/bin/lib/build.sh"
ensure_built "$ROOT/server/target/vllm-factory-serve.jar" server
ensure_built "$ROOT/simulator/target/vllm-simulator.jar" simulator

TMP=$(mktemp -d /tmp/vfs-scaling.XXXXXX)
declare -A PID=()
stop() { # NAME...
  local n
  for n in "$@"; do kill -TERM -- "-${PID[$n]}" 2>/dev/null || true; done
  for n in "$@"; do
    for _ in $(seq 50); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-${PID[$n]}" 2>/dev/null || true
    unset "PID[$n]"
  done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  ((${#PID[@]})) && stop "${!PID[@]}"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

source "$BENCH_DIR/lib/procs.sh"
load() { # DISPATCHER_URL BACKEND_URL... -> a "straight rps=... p50_ms=..." and a "dispatcher ..." line
  "$JAVA_HOME/bin/java" -XX:+UseSerialGC "$BENCH_DIR/ScalingLoad.java" --model bench-model --clients "$BATCH" \
    --warmup "$WARMUP" --requests "$REQUESTS" --repeat "$REPEAT" --prewarm "$PREWARM" --through "$@"
}
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

MAX_N=0
for n in $INSTANCES; do ((n > MAX_N)) && MAX_N=$n; done
printf 'model\tN\tstraight_rps\tdispatcher_rps\tshare\tp50_straight\tp50_dispatcher\tp99_straight\tp99_dispatcher\n' \
  >"$TMP/results.tsv"
for entry in $MODELS; do
  preset=${entry%%:*} plugin=${entry#*:}
  # MAX_N simulators on one pretend GPU; a run with N uses the first N (idle ones do not load the GPU).
  read -r -a BPORTS <<<"$(free_ports "$MAX_N")"
  sims=()
  for i in "${!BPORTS[@]}"; do
    start "sim$i" env CUDA_VISIBLE_DEVICES=0 "$ROOT/bin/vllm-sim" serve bench-model --host "$HOST" \
      --port "${BPORTS[$i]}" --max-num-seqs "$BATCH" --gpu-memory-utilization "$(awk -v n="$MAX_N" 'BEGIN {print 0.9 / n}')" \
      --sim-startup-delay 0 --io-processor-plugin "$plugin" --sim-gpu-preset "$preset" \
      --sim-gpu-ledger "$TMP/gpu-{device}.ledger"
    sims+=("sim$i")
  done
  for p in "${BPORTS[@]}"; do wait_200 "http://$HOST:$p/health" 120; done
  for n in $INSTANCES; do
    read -r DPORT <<<"$(free_ports 1)"
    flags=(--host "$HOST" --port "$DPORT" --admin-port 0 --max-batch-size "$BATCH")
    urls=()
    for ((i = 0; i < n; i++)); do
      flags+=(--backend-url "http://$HOST:${BPORTS[$i]}")
      urls+=("http://$HOST:${BPORTS[$i]}")
    done
    start dispatcher bash -c "cd \"\$0\" && exec $DISPATCHER_CMD \"\$@\"" "$ROOT" "${flags[@]}"
    wait_200 "http://$HOST:$DPORT/health" 60
    out=$(load "http://$HOST:$DPORT" "${urls[@]}")
    straight=$(grep '^straight ' <<<"$out") through=$(grep '^dispatcher ' <<<"$out")
    stop dispatcher
    log "$preset N=$n straight: $straight"
    log "$preset N=$n dispatcher: $through"
    s=$(field rps <<<"$straight") d=$(field rps <<<"$through")
    printf '%s\t%d\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\n' "$preset" "$n" "$s" "$d" "$(awk -v d="$d" -v s="$s" 'BEGIN {print d / s}')" \
      "$(field p50_ms <<<"$straight")" "$(field p50_ms <<<"$through")" \
      "$(field p99_ms <<<"$straight")" "$(field p99_ms <<<"$through")" >>"$TMP/results.tsv"
  done
  stop "${sims[@]}"
done

echo "== $REQUESTS requests after $WARMUP warm-up, concurrency $BATCH x N, median of $REPEAT rounds; p50/p99 in ms =="
column -t -s $'\t' "$TMP/results.tsv"
echo
echo "== req/s through the dispatcher by instance count (the seed's table; gain over 1 instance) =="
awk -F'\t' -v instances="$INSTANCES" 'NR > 1 {rps[$1, $2] = $4; if (!($1 in seen)) {seen[$1] = 1; order[++m] = $1}}
  END {
    k = split(instances, cols, " ")
    printf "model"; for (i = 1; i <= k; i++) printf "\t%d", cols[i]; printf "\n"
    for (j = 1; j <= m; j++) {
      printf "%s", order[j]; base = rps[order[j], cols[1]]
      for (i = 1; i <= k; i++) printf "\t%.0f (%.2fx)", rps[order[j], cols[i]], rps[order[j], cols[i]] / base
      printf "\n"
    }
  }' "$TMP/results.tsv" | column -t -s $'\t'
echo
awk -F'\t' 'NR > 1 {n++; if ($5 < min || n == 1) min = $5; add += $7 - $6; if ($7 - $6 > maxadd || n == 1) maxadd = $7 - $6}
  END {printf "dispatcher / straight: lowest share %.3f (goal >= 0.99); p50 added: mean %.3f ms, most %.3f ms (goal <= 0.2)\n",
       min, add / n, maxadd}' "$TMP/results.tsv"
