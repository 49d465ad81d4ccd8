# Sourced by the bench/router-* scripts (after timing.sh, from the repository's root):
# the common upstream, nginx as a reverse proxy in front of it, and the router in front
# of it, all on 127.0.0.1. Both proxies strip the prefix /up and log one line per
# request to /dev/null (the cost of formatting it stays in).
#
#   upstream  nginx, 1 worker, `return 200 'ok\n'`: far cheaper per request than either proxy
#   router    HTTP_PORT=P ROUTES=/up=http://127.0.0.1:U (one worker thread per core, each
#             with its own keep-alive upstream pool)
#   nginx     location /up/ { proxy_pass http://pool/; } with upstream pool { keepalive 32; },
#             proxy_http_version 1.1, worker_processes auto (= the router's worker threads)
#
# `bench_workdir NAME` first (a work folder; everything started later is stopped, and the
# folder removed, when the script exits), then any of `start_upstream`, `start_nginx_proxy`,
# `start_router [WRAPPER...]`. They set UPSTREAM_PORT; NGINX_PORT and NGINX_PID;
# ROUTER_PORT and ROUTER_PID.

for tool in nginx curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y nginx curl" >&2; exit 1; }
done

bench_workdir() {
    WORK=$(mktemp -d "/tmp/bench-$1.XXXXXX")
    PIDS=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}

# One nginx configuration per instance, everything under $WORK; run in the foreground
# (daemon off) so the PID we hold is the master's.
nginx_conf() {
    local name=$1 workers=$2 server=$3
    mkdir -p "$WORK/$name"
    cat >"$WORK/$name/nginx.conf" <<CONF
worker_processes $workers;
pid $WORK/$name/nginx.pid;
error_log $WORK/$name/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $WORK/$name/body;
    proxy_temp_path $WORK/$name/proxy;
    fastcgi_temp_path $WORK/$name/fastcgi;
    uwsgi_temp_path $WORK/$name/uwsgi;
    scgi_temp_path $WORK/$name/scgi;
    keepalive_requests 1000000;
    $server
}
CONF
}

wait_for() {
    for _ in $(seq 1 100); do
        if curl -sf -o /dev/null "$1"; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers at $1" >&2
    return 1
}

start_upstream() {
    UPSTREAM_PORT=$(free_port)
    nginx_conf upstream 1 "access_log off;
    server { listen 127.0.0.1:$UPSTREAM_PORT; location / { return 200 'ok\n'; } }"
    nginx -e "$WORK/upstream/error.log" -p "$WORK/upstream" -c "$WORK/upstream/nginx.conf" -g 'daemon off;' &
    PIDS+=($!)
    wait_for "http://127.0.0.1:$UPSTREAM_PORT/"
}

start_nginx_proxy() {
    NGINX_PORT=$(free_port)
    nginx_conf proxy auto "access_log /dev/null;
    upstream pool { server 127.0.0.1:$UPSTREAM_PORT; keepalive 32; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location /up/ {
            proxy_pass http://pool/;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
    nginx -e "$WORK/proxy/error.log" -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf" -g 'daemon off;' &
    PIDS+=($!)
    NGINX_PID=$!
    wait_for "http://127.0.0.1:$NGINX_PORT/up/"
    check_answer "$NGINX_PORT"
}

# Builds the router (release, or what CARGO_TARGET_DIR and CARGO_PROFILE_* say) and starts
# it, under WRAPPER if one is given (e.g. valgrind).
start_router() {
    echo "== building the router (release)"
    cargo build --release --locked -p router --bin router 2>&1 | tail -1
    ROUTER_PORT=$(free_port)
    HTTP_PORT=$ROUTER_PORT ROUTES=/up=http://127.0.0.1:$UPSTREAM_PORT RUST_LOG=info \
        "$@" "${CARGO_TARGET_DIR:-target}/release/router" >/dev/null 2>"$WORK/router.err" &
    PIDS+=($!)
    ROUTER_PID=$!
    wait_for "http://127.0.0.1:$ROUTER_PORT/up/"
    check_answer "$ROUTER_PORT"
}

# A proxy must hand back the upstream's own answer.
check_answer() {
    [ "$(curl -sf "http://127.0.0.1:$1/up/")" = ok ] || { echo "proxy on $1 does not pass the upstream's answer" >&2; exit 1; }
}

# CPU time (nanoseconds, all threads) used so far by the proxy NAME: the router, or
# nginx's master and workers. Per request, it is the cost that other load on the machine
# disturbs least (throughput drops when someone else takes a core; CPU per request does
# not). Read from the scheduler's own accounting (/proc/PID/task/TID/schedstat), which is
# exact: utime and stime in /proc/PID/stat are sampled at each clock tick, and at a low
# request rate, where a proxy runs in short bursts, that sampling was off by a third.
cpu_ns() {
    local pids
    case $1 in
        router) pids=$ROUTER_PID ;;
        nginx) pids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
    esac
    # shellcheck disable=SC2086
    for pid in $pids; do cat /proc/"$pid"/task/*/schedstat; done |
        awk '{ ns += $1 } END { printf "%.0f\n", ns }'
}
