# Shared helpers for the server benchmarks (sourced by upload_rss.sh and concurrent_uploads.sh).
# Starts one `dictaflow serve` on a free loopback port with a throw-away data directory, creates
# a clinician with an API token, and stops the server (by its PID only) on exit.
#
# Env: DICTAFLOW_BIN   the dictaflow binary (default: target/release/dictaflow, or
#                      $CARGO_TARGET_DIR/release/dictaflow when CARGO_TARGET_DIR is set)
#      BENCH_TMP       parent of the scratch directory (default: $TMPDIR or /tmp)
#      BENCH_KEEP=1    keep the scratch directory (data dir, server log, responses)

# shellcheck shell=bash

if [[ -z "${DICTAFLOW_BIN:-}" ]]; then
    DICTAFLOW_BIN="${CARGO_TARGET_DIR:-target}/release/dictaflow"
fi
[[ -x "$DICTAFLOW_BIN" ]] || { echo "dictaflow binary not found at $DICTAFLOW_BIN (build it, or set DICTAFLOW_BIN)" >&2; exit 1; }
command -v curl > /dev/null || { echo "curl is not installed" >&2; exit 1; }

WORK="$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/dictaflow-bench.XXXXXX")"
DATA="$WORK/data"
SERVER_PID=""

bench_cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2> /dev/null; then
        kill "$SERVER_PID" 2> /dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2> /dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2> /dev/null || true
    fi
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Server environment: only keys that exist in this build's configuration are set, so the same
# script works before and after the speech-to-text section lands. Extra NAME=VALUE pairs for
# keys that may not exist are passed as "section.key=VALUE" arguments.
SERVER_ENV=(DICTAFLOW_LOG__FORMAT=json)
config_has_key() { # config_has_key SECTION KEY
    "$DICTAFLOW_BIN" --data-dir "$DATA" config 2> /dev/null | awk -v s="[$1]" -v k="$2" '
        /^\[/ { in_s = ($0 == s) } in_s && $1 == k { found = 1 } END { exit !found }'
}
set_if_key() { # set_if_key section.key VALUE
    local section="${1%%.*}" key="${1#*.}"
    if config_has_key "$section" "$key"; then
        local name="DICTAFLOW_${section^^}__${key^^}"
        SERVER_ENV+=("$name=$2")
        echo "config: $name=$2" >&2
    else
        echo "config: no key $1 in this build; not set" >&2
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server: creates the user (TOKEN), starts the server (SERVER_PID, BASE_URL), waits for /healthz (listening = migrated).
start_server() {
    mkdir -p "$DATA"
    local out
    out="$(env "${SERVER_ENV[@]}" "$DICTAFLOW_BIN" --data-dir "$DATA" user add --username bench --role clinician --token 2>> "$WORK/server.log")"
    TOKEN="$(sed -n 's/^api token: //p' <<< "$out")"
    [[ -n "$TOKEN" ]] || { echo "user add printed no token: $out" >&2; cat "$WORK/server.log" >&2; exit 1; }
    PORT="$(free_port)"
    BASE_URL="http://127.0.0.1:$PORT"
    env "${SERVER_ENV[@]}" "$DICTAFLOW_BIN" --data-dir "$DATA" serve --bind "127.0.0.1:$PORT" >> "$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do
        if curl -fsS -o /dev/null "$BASE_URL/healthz" 2> /dev/null; then return 0; fi
        kill -0 "$SERVER_PID" 2> /dev/null || { echo "server exited:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "server not ready after 30 s" >&2
    tail -20 "$WORK/server.log" >&2
    exit 1
}

rss_kb() { # rss_kb FIELD (VmRSS or VmHWM) of the server, in kB
    local k v _
    while read -r k v _; do
        if [[ "$k" == "$1:" ]]; then echo "$v"; return; fi
    done < "/proc/$SERVER_PID/status"
    echo 0
}

# load average and what else is busy, for the machine notes
machine_notes() {
    echo "machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
