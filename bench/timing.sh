# Sourced by the bench/ scripts: clock, medians, ratios, a free loopback port, and the
# machine/load line every result is printed with (figures mean little without the load).

# Wall clock in nanoseconds.
now_ns() { date +%s%N; }

# Runs a command with its output sent to LOG, and prints the seconds it took (3 decimals).
# Fails (and says so on stderr) when the command fails: a timing of a failed run is no
# figure.
time_it() {
    local log=$1
    shift
    local start end
    start=$(now_ns)
    if ! "$@" >>"$log" 2>&1; then
        echo "failed: $* (see $log)" >&2
        tail -20 "$log" >&2
        return 1
    fi
    end=$(now_ns)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }'
}

# The median of the numbers given as arguments.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) { print "n/a"; exit }
              if (NR % 2) { print v[(NR + 1) / 2] } else { printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 } }'
}

# A / B with two decimals, "n/a" when either is missing or B is zero.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# A TCP port nothing listens on at 127.0.0.1, from the top of the ephemeral-free range.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 20000))
        if ! ss -Hltn "sport = :$port" | grep -q .; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# One line about the machine and one about its load right now.
machine_summary() {
    local server
    server=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo unknown)
    echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB, Docker server $server"
    echo "load:    $(uptime | sed 's/.*load average/load average/')"
}

# Which sources were measured: the commit, and any uncommitted change under the given
# paths (the tree is shared, and a benchmark builds what is there).
source_summary() {
    local dirty
    dirty=$(git status --porcelain -- "$@" | awk '{ print $2 }' | tr '\n' ' ')
    echo "source:  commit $(git rev-parse --short HEAD)${dirty:+, uncommitted changes in: $dirty}"
}
