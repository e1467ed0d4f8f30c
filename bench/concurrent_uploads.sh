#!/usr/bin/env bash
# Benchmark: N (default 50) corpus uploads at once against one `dictaflow serve`.
#
# Same file choice as the integration test `fifty_concurrent_uploads`: the corpus files of kind
# `speech` and `speech_noisy`, cycled in manifest order. All N `curl -F audio=@FILE` processes
# are started together; the wall time runs from the first start to the last answer. Each answer
# must be 201 with `audio.duration_seconds` within 0.05 s of the manifest's `duration_s`.
# For scale, the same N uploads are then sent one after another (serial) to a fresh server.
#
# Usage: bench/concurrent_uploads.sh [N]     (default 50)
# Env:   DICTAFLOW_CORPUS  corpus directory (default: ../shared/corpus from the repo root)
#        SERIAL=0          skip the serial run
#        DICTAFLOW_BIN, BENCH_TMP, BENCH_KEEP (see bench/server_common.sh)
# Exits non-zero when any upload fails or has a wrong duration.
set -euo pipefail

cd "$(dirname "$0")/.."
N="${1:-50}"
CORPUS="${DICTAFLOW_CORPUS:-../shared/corpus}"
[[ -f "$CORPUS/manifest.json" ]] || { echo "corpus not found at $CORPUS (set DICTAFLOW_CORPUS)" >&2; exit 1; }
command -v jq > /dev/null || { echo "jq is not installed" >&2; exit 1; }
# shellcheck source=bench/server_common.sh
source bench/server_common.sh
set_if_key stt.enabled false

mapfile -t GOOD < <(jq -r '.files[] | select(.kind == "speech" or .kind == "speech_noisy")
                           | "\(.path)\t\(.duration_s)"' "$CORPUS/manifest.json")
((${#GOOD[@]} > 0)) || { echo "no speech files in the manifest" >&2; exit 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

upload() { # upload I DIR: one upload, writes DIR/I.json and DIR/I.meta ("path want status time_s")
    local i=$1 dir=$2 path want meta
    IFS=$'\t' read -r path want <<< "${GOOD[$((i % ${#GOOD[@]}))]}"
    meta=$(curl -sS -o "$dir/$i.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
        -F "audio=@$CORPUS/$path" "$BASE_URL/api/v1/dictations" 2> "$dir/$i.err") || meta="000 0"
    echo "$path $want $meta" > "$dir/$i.meta"
}

# check DIR: prints "ok bad audio_seconds p50 p95 max" and the failures on stderr
check() {
    local dir=$1 ok=0 bad=0 audio=0 i path want status t got
    local times=()
    for ((i = 0; i < N; i++)); do
        read -r path want status t < "$dir/$i.meta"
        times+=("$t")
        got=$(jq -r '.audio.duration_seconds // empty' "$dir/$i.json" 2> /dev/null || true)
        if [[ "$status" == 201 && -n "$got" ]] \
            && awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.05) }'; then
            ok=$((ok + 1))
            audio=$(awk -v a="$audio" -v g="$got" 'BEGIN { print a + g }')
        else
            bad=$((bad + 1))
            echo "FAIL #$i $path: status $status, duration ${got:-none} (want $want): $(head -c 300 "$dir/$i.json" 2> /dev/null) $(cat "$dir/$i.err")" >&2
        fi
    done
    local stats
    stats=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END {
        p50 = v[int((NR + 1) * 0.50)]; p95 = v[int(NR * 0.95 + 0.5)]; if (p95 == "") p95 = v[NR]
        printf "%.2f %.2f %.2f", p50, p95, v[NR] }')
    echo "$ok $bad $audio $stats"
}

run_concurrent() {
    local dir="$WORK/concurrent" pids=() i t0 t1
    mkdir -p "$dir"
    t0=$(now_ms)
    for ((i = 0; i < N; i++)); do
        upload "$i" "$dir" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    t1=$(now_ms)
    echo "$((t1 - t0)) $(check "$dir")"
}

run_serial() {
    local dir="$WORK/serial" i t0 t1
    mkdir -p "$dir"
    t0=$(now_ms)
    for ((i = 0; i < N; i++)); do upload "$i" "$dir"; done
    t1=$(now_ms)
    echo "$((t1 - t0)) $(check "$dir")"
}

start_server
read -r C_MS C_OK C_BAD C_AUDIO C_P50 C_P95 C_MAX < <(run_concurrent)
LISTED=$(curl -sS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/v1/dictations?limit=100" | jq '.items | length')

S_LINE=""
if [[ "${SERIAL:-1}" != 0 ]]; then
    # A fresh server and data directory, so the serial run does not find the first run's rows.
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2> /dev/null || true
    SERVER_PID=""
    rm -rf "$DATA"
    start_server
    read -r S_MS S_OK S_BAD S_AUDIO S_P50 S_P95 S_MAX < <(run_serial)
    S_LINE="| serial (one at a time) | $N | $S_OK | $S_BAD | $(awk -v m="$S_MS" 'BEGIN { printf "%.2f", m / 1000 }') | $S_P50 | $S_P95 | $S_MAX | $(awk -v a="$S_AUDIO" -v m="$S_MS" 'BEGIN { printf "%.0f", a / (m / 1000) }') |"
fi

machine_notes
echo "binary: $DICTAFLOW_BIN; ${#GOOD[@]} distinct corpus files cycled; ${SERVER_ENV[*]}"
echo
echo "| run | uploads | 201 + duration ok | failed | wall s | p50 s | p95 s | max s | audio s per wall s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
echo "| concurrent (all at once) | $N | $C_OK | $C_BAD | $(awk -v m="$C_MS" 'BEGIN { printf "%.2f", m / 1000 }') | $C_P50 | $C_P95 | $C_MAX | $(awk -v a="$C_AUDIO" -v m="$C_MS" 'BEGIN { printf "%.0f", a / (m / 1000) }') |"
[[ -n "$S_LINE" ]] && echo "$S_LINE"
echo
echo "dictations listed after the concurrent run: $LISTED (want $N)"
if [[ -n "$S_LINE" ]]; then
    echo "concurrent / serial wall time: $(awk -v c="$C_MS" -v s="$S_MS" 'BEGIN { printf "%.2f", c / s }')"
fi
((C_BAD == 0)) && [[ "$LISTED" == "$N" ]] && [[ -z "$S_LINE" || "$S_BAD" == 0 ]]
