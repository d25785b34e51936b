#!/bin/sh
# Serve tilbudskart in production: N replicas of the app behind nginx, in the foreground.
#
#   scripts/serve.sh [REPLICAS]        (default 2; 0 = one server, no nginx)
#
# Environment (all optional):
#   TILBUDSKART_LISTEN        address:port nginx listens on        (127.0.0.1:8080)
#   TILBUDSKART_REPLICA_PORT  first replica's loopback port         (8501, then 8502, …)
#   TILBUDSKART_RUN_DIR       folder for nginx's config, pid, temp  (a new temporary folder)
#   PYTHON                    the Python with tilbudskart installed (python)
#   TILBUDSKART_DATA_DIR, STREAMLIT_BROWSER_SERVER_ADDRESS, … are passed on to the app.
#
# Replicas listen on 127.0.0.1 only; people reach them through nginx. With 0 replicas the
# one server listens on TILBUDSKART_LISTEN itself. The script supervises what it started:
# a replica or nginx that ends is started again (within a second), while the others keep
# serving; pids are in the run folder (replica-PORT.pid, nginx-main.pid). Stops everything
# on SIGINT/SIGTERM. For systemd instead, see deploy/systemd/.
# The Dockerfile runs exactly this script.
set -eu

replicas=${1:-${TILBUDSKART_REPLICAS:-2}}
listen=${TILBUDSKART_LISTEN:-127.0.0.1:8080}
first_port=${TILBUDSKART_REPLICA_PORT:-8501}
python=${PYTHON:-python}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The package's bytecode, written once (pip compiles what it installs into site-packages,
# not an editable install's source; with PYTHONDONTWRITEBYTECODE set, every start would
# compile it again, ~0.1 s). A read-only tree is fine: then it is compiled in memory.
"$python" -m compileall -q src >/dev/null 2>&1 || true

pids=""
stop() {
    trap - INT TERM EXIT
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

if [ "$replicas" -eq 0 ]; then
    "$python" -m streamlit run serve.py --server.address "${listen%:*}" \
        --server.port "${listen##*:}" &
    pids="$!"
    wait "$pids"
    exit $?
fi

run=${TILBUDSKART_RUN_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/tilbudskart-serve.XXXXXX")}
mkdir -p "$run"

# One replica on a loopback port; its pid in $run/replica-PORT.pid (for operators and tests).
start_replica() {
    "$python" -m streamlit run serve.py --server.address 127.0.0.1 --server.port "$1" &
    echo "$!" > "$run/replica-$1.pid"
}
start_nginx() {
    nginx -e stderr -c "$run/nginx.conf" -p "$run" &
    echo "$!" > "$run/nginx-main.pid"
}
all_pids() {
    for file in "$run"/replica-*.pid "$run/nginx-main.pid"; do
        [ -f "$file" ] && cat "$file"
    done
}

upstreams=""
i=0
while [ "$i" -lt "$replicas" ]; do
    port=$((first_port + i))
    start_replica "$port"
    # A replica that fails a request is skipped for 5 s (nginx then tries the next one).
    upstreams="$upstreams        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;\\n"
    i=$((i + 1))
done
sed -e "s|@RUN@|$run|g" -e "s|@LISTEN@|$listen|g" -e "s|@UPSTREAMS@|$upstreams|" \
    deploy/nginx.conf > "$run/nginx.conf"
nginx -e stderr -t -q -c "$run/nginx.conf" -p "$run"
start_nginx
stop() {
    trap - INT TERM EXIT
    for pid in $(all_pids); do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
echo "tilbudskart: $replicas replicas behind nginx on http://$listen (run folder $run)"
# Supervise: a replica (or nginx) that ends is started again; the others keep serving, and
# nginx sends the dead one's requests to the next replica meanwhile.
while :; do
    i=0
    while [ "$i" -lt "$replicas" ]; do
        port=$((first_port + i))
        if ! kill -0 "$(cat "$run/replica-$port.pid")" 2>/dev/null; then
            echo "tilbudskart: replica on port $port ended; starting it again" >&2
            start_replica "$port"
        fi
        i=$((i + 1))
    done
    if ! kill -0 "$(cat "$run/nginx-main.pid")" 2>/dev/null; then
        echo "tilbudskart: nginx ended; starting it again" >&2
        start_nginx
    fi
    sleep 0.5
done
