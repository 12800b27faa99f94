# Shared by bench/workload.sh and bench/scaling.sh: start named processes, free ports, wait for a 200.
# The caller defines TMP (logs go there), the associative array PID and die().

# start NAME CMD...: runs CMD in its own session, output to $TMP/NAME.log, pid in PID[NAME]
start() { local name=$1; shift; setsid "$@" >"$TMP/$name.log" 2>&1 </dev/null & PID[$name]=$!; }

# free_ports N: N distinct free loopback TCP ports
free_ports() {
  python3 -c 'import socket,sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# wait_200 URL TIMEOUT_S: polls until URL answers 200, or dies
wait_200() {
  local deadline=$((SECONDS + $2))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" = 200 ]; do
    ((SECONDS < deadline)) || die "no 200 from $1 within $2 s"
    sleep 0.3
  done
}
