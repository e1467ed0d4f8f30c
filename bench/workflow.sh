#!/usr/bin/env bash
# Benchmark: the workflow engine on SQLite with N seeded dictations (default 100000).
#
#   1. `dictaflow dev seed --dictations N` into a fresh data directory (timed).
#   2. Scheduler tick cost: `dictaflow dev tick --due 10 --runs R` (R ticks in one process,
#      each with exactly 10 more timers due) on a copy of that database and on a small one
#      (1000 dictations): the cost must follow the timers due, not the timers stored.
#   3. The release server on it (speech recognition off, warnings-only logs), then with
#      32 concurrent clients:
#      - queue listing: `oha` GET /api/v1/queue as a secretary (p50/p99, requests/s), as fast
#        as the 32 clients can go (saturation), then at QUEUE_RATE requests/s in all;
#      - transitions: `dictaflow dev transitions` (claim then release on distinct letters,
#        4 secretaries; oha cannot chain two requests per letter) (transitions/s, p99);
#      - the turnaround report over the last 30 days as the super-user (`oha`, 1 client);
#      - oversight (issue 20): the at-risk view (first page of 50, most late first, with its
#        totals) and the load per person, as a team lead and as the super-user, 32 clients
#        as fast as they go (target p99 < 50 ms), after the server's first notification
#        schedule run (a minute after the start). Skipped, with a note, on a build without
#        the endpoints, so the same script measures an older head side by side.
#
# Usage: bench/workflow.sh [N]
# Env:   DICTAFLOW_BIN (default target/release/dictaflow, or $CARGO_TARGET_DIR/release/...),
#        OHA (default oha; without it the GET loads run on `dictaflow dev reads`, a closed loop
#        like `oha -c N -z T`, and the fixed-rate queue run is skipped), CLIENT_BIN (the
#        binary whose `dev transitions` / `dev reads` drive the load, default DICTAFLOW_BIN:
#        set it to a newer build to measure an older server), DURATION (run length, default
#        20s), PAIRS (default 5000),
#        TICK_RUNS (default 10), QUEUE_RATE (default 100), BENCH_TMP, BENCH_KEEP=1
#        (see bench/server_common.sh)
set -euo pipefail

cd "$(dirname "$0")/.."
N="${1:-100000}"
OHA="${OHA:-oha}"
DURATION="${DURATION:-20s}"
PAIRS="${PAIRS:-5000}"
TICK_RUNS="${TICK_RUNS:-10}"
HAVE_OHA=1
command -v "$OHA" > /dev/null || { HAVE_OHA=0; echo "oha is not installed: GET loads use dictaflow dev reads" >&2; }
command -v jq > /dev/null || { echo "jq is not installed" >&2; exit 1; }
# shellcheck source=bench/server_common.sh
source bench/server_common.sh

machine_notes
echo "binary: $DICTAFLOW_BIN ($(git rev-parse --short HEAD 2> /dev/null || echo unknown commit))"
CLIENT_BIN="${CLIENT_BIN:-$DICTAFLOW_BIN}"

# --- 1. seed --------------------------------------------------------------------------
mkdir -p "$DATA"
"$DICTAFLOW_BIN" --data-dir "$DATA" dev seed --dictations "$N" > "$WORK/seed.txt" 2>> "$WORK/server.log"
tail -1 "$WORK/seed.txt"
token_of() { awk -v u="$1" '$1 == "token" && $2 == u { print $5 }' "$WORK/seed.txt"; }
SECRETARY="$(token_of seed.sec.ent.1)"
ADMIN="$(token_of seed.admin)"
LEAD="$(token_of seed.lead.ent)"
SECRETARIES=()
for team in ent cardiology orthopaedics gastro; do SECRETARIES+=(--token "$(token_of "seed.sec.$team.1")"); done

# --- 2. scheduler tick: 10 due among the big database's timers vs a 1000-letter one ---
SMALL="$WORK/small"
"$DICTAFLOW_BIN" --data-dir "$SMALL" dev seed --dictations 1000 > /dev/null 2>> "$WORK/server.log"
tick() { # tick DIR: TICK_RUNS ticks in one process on a copy, each with exactly 10 more timers due
    local dir=$1
    rm -rf "$WORK/tick" && cp -r "$dir" "$WORK/tick"
    "$DICTAFLOW_BIN" --data-dir "$WORK/tick" dev tick --due 10 --runs "$TICK_RUNS" 2>> "$WORK/server.log" \
        | tee "$WORK/tick.txt" | tail -1
    sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' "$WORK/tick.txt" | sort -g | awk '{ v[NR] = $1 } END {
        printf "  tick ms over %d ticks: min %.2f median %.2f max %.2f\n", NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
}
echo "scheduler tick, $N letters:"
tick "$DATA"
echo "scheduler tick, 1000 letters:"
tick "$SMALL"
rm -rf "$WORK/tick"

# --- 3. the server under load ----------------------------------------------------------
set_if_key stt.enabled false
SERVER_ENV+=(DICTAFLOW_LOG__FILTER=warn)
PORT="$(free_port)"
BASE_URL="http://127.0.0.1:$PORT"
env "${SERVER_ENV[@]}" "$DICTAFLOW_BIN" --data-dir "$DATA" serve --bind "127.0.0.1:$PORT" >> "$WORK/server.log" 2>&1 &
SERVER_PID=$!
SERVER_STARTED=$(date +%s)
for _ in $(seq 300); do
    curl -fsS -o /dev/null "$BASE_URL/healthz" 2> /dev/null && break
    kill -0 "$SERVER_PID" 2> /dev/null || { echo "server exited:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done

oha_summary() { # oha_summary NAME JSON: one line with the figures that matter
    jq -r --arg n "$1" '"\($n): \(.summary.requestsPerSec | floor) req/s, success \(.summary.successRate * 100 | floor)%, "
        + "latency ms p50 \(.latencyPercentiles.p50 * 1000 * 100 | round / 100) "
        + "p90 \(.latencyPercentiles.p90 * 1000 * 100 | round / 100) "
        + "p99 \(.latencyPercentiles.p99 * 1000 * 100 | round / 100) "
        + "max \(.summary.slowest * 1000 * 100 | round / 100); statuses \(.statusCodeDistribution)"' "$2"
}

server_cpu_ms() { # CPU time (user + system) the server has used so far, in ms
    awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$SERVER_PID/stat"
}

# Each load line is followed by the CPU the server and the load client used in it: both
# share the machine's cores, so a client's CPU is taken from the server.
CLIENT_TIME=()
[[ -x /usr/bin/time ]] && CLIENT_TIME=(/usr/bin/time -f "  load client CPU: %U s user + %S s system" -a -o "$WORK/client_cpu.txt")
get_load() { # get_load NAME CLIENTS TOKEN PATH: CLIENTS clients, each one GET after the other, for DURATION
    local cpu_before requests
    cpu_before="$(server_cpu_ms)"
    : > "$WORK/client_cpu.txt"
    if [[ "$HAVE_OHA" == 1 ]]; then
        "${CLIENT_TIME[@]}" "$OHA" --no-tui --output-format json -c "$2" -z "$DURATION" -H "Authorization: Bearer $3" \
            "$BASE_URL$4" > "$WORK/load.json"
        oha_summary "$1 ($2 clients, $DURATION)" "$WORK/load.json"
        requests="$(jq '.statusCodeDistribution | add' "$WORK/load.json")"
    else
        echo -n "$1 ($2 clients, $DURATION): "
        "${CLIENT_TIME[@]}" "$CLIENT_BIN" dev reads --url "$BASE_URL" --token "$3" --path "$4" --concurrency "$2" \
            --seconds "${DURATION%s}" 2>> "$WORK/server.log" | tee "$WORK/reads.txt"
        requests="$(sed -n 's/.*: \([0-9]*\) in .*/\1/p' "$WORK/reads.txt")"
    fi
    awk -v ms="$(($(server_cpu_ms) - cpu_before))" -v n="${requests:-0}" 'BEGIN {
        if (n > 0) printf "  server CPU: %.2f ms per request (%d requests)\n", ms / n, n }'
    cat "$WORK/client_cpu.txt"
}

get_load "queue listing" 32 "$SECRETARY" /api/v1/queue
# The same 32 clients at a fixed total rate (open loop): the latency a secretary sees when
# the server is busy but not saturated (the web app polls each queue every 10 s, so
# QUEUE_RATE=100 is 32 clients each listing three times a second).
if [[ "$HAVE_OHA" == 1 ]]; then
    "$OHA" --no-tui --output-format json -c 32 -q "${QUEUE_RATE:-100}" -z "$DURATION" -H "Authorization: Bearer $SECRETARY" \
        "$BASE_URL/api/v1/queue" > "$WORK/queue_rate.json"
    oha_summary "queue listing (32 clients, ${QUEUE_RATE:-100} req/s in all, $DURATION)" "$WORK/queue_rate.json"
fi

"$CLIENT_BIN" dev transitions --url "$BASE_URL" "${SECRETARIES[@]}" --concurrency 32 --pairs "$PAIRS" \
    2>> "$WORK/server.log"

FROM="$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)"
TO="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
get_load "turnaround report, 30 days, all teams" 1 "$ADMIN" \
    "/api/v1/reports/turnaround?from=$FROM&to=$TO&group_by=secretary"
curl -fsS -H "Authorization: Bearer $ADMIN" "$BASE_URL/api/v1/reports/turnaround?from=$FROM&to=$TO&group_by=secretary" \
    | jq -r '"  report covers \([.groups[].received] | add) letters in \(.groups | length) groups"'

oversight() { # oversight NAME TOKEN PATH: 32 clients on one oversight view
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$BASE_URL$3")"
    if [[ "$code" != 200 ]]; then
        echo "$1: not in this build (HTTP $code)"
        return
    fi
    get_load "$1" 32 "$2" "$3"
}
# The server's notification schedule first runs a minute after the start and then makes the
# week's reports (a fresh database has none): about a second of CPU that would land inside
# one of the loads below. Each view is measured on its own, after that run.
SCHEDULE_AFTER=65
waited=$(($(date +%s) - SERVER_STARTED))
if ((waited < SCHEDULE_AFTER)); then
    echo "waiting $((SCHEDULE_AFTER - waited)) s for the server's first notification schedule run (weekly reports)"
    sleep $((SCHEDULE_AFTER - waited))
fi
oversight "at-risk view, team lead" "$LEAD" /api/v1/oversight/at-risk
oversight "at-risk view, super-user" "$ADMIN" /api/v1/oversight/at-risk
oversight "load per person, team lead" "$LEAD" /api/v1/oversight/load
oversight "load per person, super-user" "$ADMIN" /api/v1/oversight/load
curl -fsS -H "Authorization: Bearer $ADMIN" "$BASE_URL/api/v1/oversight/at-risk?limit=1" 2> /dev/null \
    | jq -r '"  at-risk view covers \(.total) letters (\(.breached) breached, \(.at_risk) at risk)"' 2> /dev/null || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
