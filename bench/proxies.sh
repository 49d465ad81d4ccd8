# Sourced by bench/router-vs-nginx and bench/router-vs-nginx-latency (after timing.sh,
# from the repository's root, with BENCH_NAME set): builds the router, and starts on
# 127.0.0.1 the common upstream, nginx as a reverse proxy in front of it and the router in
# front of it, both stripping the prefix /up and both logging one line per request to
# /dev/null. Sets UPSTREAM_PORT, NGINX_PORT, ROUTER_PORT, NGINX_PID, ROUTER_PID and WORK;
# everything it starts is stopped, and WORK removed, when the script exits.
#
#   upstream  nginx, 1 worker, `return 200 'ok\n'`: far cheaper per request than either proxy
#   router    HTTP_PORT=P ROUTES=/up=http://127.0.0.1:U (one worker thread per core, each
#             with its own keep-alive upstream pool)
#   nginx     location /up/ { proxy_pass http://pool/; } with upstream pool { keepalive 32; },
#             proxy_http_version 1.1, worker_processes auto (= the router's worker threads)

for tool in nginx curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y nginx curl" >&2; exit 1; }
done

WORK=$(mktemp -d "/tmp/bench-$BENCH_NAME.XXXXXX")
PIDS=()
cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building the router (release)"
cargo build --release --locked -p router --bin router 2>&1 | tail -1

UPSTREAM_PORT=$(free_port)
NGINX_PORT=$(free_port)
ROUTER_PORT=$(free_port)

# One nginx configuration per instance, everything under $WORK; run in the foreground
# (daemon off) so the PID we hold is the master's.
nginx_conf() {
    local name=$1 workers=$2 server=$3
    mkdir -p "$WORK/$name"
    cat >"$WORK/$name/nginx.conf" <<EOF
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
EOF
}

nginx_conf upstream 1 "access_log off;
    server { listen 127.0.0.1:$UPSTREAM_PORT; location / { return 200 'ok\n'; } }"
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

nginx -e "$WORK/upstream/error.log" -p "$WORK/upstream" -c "$WORK/upstream/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
nginx -e "$WORK/proxy/error.log" -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
NGINX_PID=$!
HTTP_PORT=$ROUTER_PORT ROUTES=/up=http://127.0.0.1:$UPSTREAM_PORT RUST_LOG=info \
    target/release/router >/dev/null 2>"$WORK/router.err" &
PIDS+=($!)
ROUTER_PID=$!

wait_for() {
    for _ in $(seq 1 100); do
        if curl -sf -o /dev/null "$1"; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers at $1" >&2
    return 1
}
wait_for "http://127.0.0.1:$UPSTREAM_PORT/"
wait_for "http://127.0.0.1:$NGINX_PORT/up/"
wait_for "http://127.0.0.1:$ROUTER_PORT/up/"
# Both proxies must hand back the upstream's own answer.
for port in "$NGINX_PORT" "$ROUTER_PORT"; do
    [ "$(curl -sf "http://127.0.0.1:$port/up/")" = ok ] || { echo "proxy on $port does not pass the upstream's answer" >&2; exit 1; }
done

# CPU time (user + system, clock ticks) used so far by the proxy NAME: the router, or
# nginx's master and workers. Per request, it is the cost that other load on the machine
# disturbs least (throughput drops when someone else takes a core; ticks per request do not).
cpu_ticks() {
    local pids
    case $1 in
        router) pids=$ROUTER_PID ;;
        nginx) pids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
    esac
    # shellcheck disable=SC2086
    for pid in $pids; do cat "/proc/$pid/stat"; done |
        awk '{ sub(/^.*\) /, ""); ticks += $12 + $13 } END { print ticks }'
}
