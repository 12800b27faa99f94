# The backend guard of vllm-factory-serve (POSIX sh, run as: setsid sh -c GUARD guard TENTHS COMMAND...).
# Runs COMMAND in a session and process group of its own and takes that whole group down, SIGTERM first and
# SIGKILL after TENTHS tenths of a second, as soon as standard input reaches end of file. Standard input is
# a pipe from the sidecar, which closes it to stop the backend; and when the sidecar dies, even by SIGKILL,
# the kernel closes it too, so no backend outlives the sidecar. Nothing here depends on which sidecar thread
# started us (unlike PR_SET_PDEATHSIG). Exits with COMMAND's status; when COMMAND ends by itself, whatever it
# left behind in its group goes with it.
ticks=$1
shift
exec 3<&0 </dev/null
# Background jobs of a non-interactive shell ignore SIGINT and SIGQUIT; give the backend the defaults back.
reset=
if env --default-signal=INT true 2>/dev/null; then reset='env --default-signal=INT,QUIT'; fi
# The marker comes first, then exec: the backend keeps this pid and leads its own session and group.
# shellcheck disable=SC2086
sh -c 'echo "vllm-factory-serve guard: backend pid $$"; exec "$@"' backend setsid $reset "$@" 3<&- &
backend=$!
stop() {
  kill -TERM -"$backend" 2>/dev/null || kill -TERM "$backend" 2>/dev/null
  i=0
  while [ "$i" -lt "$ticks" ] && kill -0 "$backend" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL -"$backend" 2>/dev/null || kill -KILL "$backend" 2>/dev/null
}
(
  while IFS= read -r _; do :; done <&3
  stop
) &
watcher=$!
exec 3<&-
# A guard told to stop (e.g. SIGTERM to every process of a service) takes its backend with it.
trap 'stop; kill "$watcher" 2>/dev/null; exit 143' TERM
trap 'stop; kill "$watcher" 2>/dev/null; exit 129' HUP
trap 'stop; kill "$watcher" 2>/dev/null; exit 130' INT
wait "$backend"
status=$?
stop
kill "$watcher" 2>/dev/null
exit "$status"
