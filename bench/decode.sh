#!/usr/bin/env bash
# Benchmark: dictaflow's decode + 16 kHz mono resample against ffmpeg doing the same job
# (`ffmpeg -nostdin -v error -i X -ac 1 -ar 16000 -f f32le -`), on one representative corpus
# file per format (first file of each manifest `format_key`) plus the long m4a dictation.
# Both commands write 16 kHz f32le to stdout (discarded); best of N runs each, same run.
#
# Usage: bench/decode.sh [RUNS]        (default 5)
# Env:   DICTAFLOW_DECODE_CMD  decode command, called as `$CMD FILE --output -`
#                              (default: target/release/dictaflow audio decode)
#        DICTAFLOW_CORPUS      corpus directory (default: ../shared/corpus from the repo root)
# Uses hyperfine when installed, else bash timing with `date +%s%N`.
# Prints a markdown table: format, file, dictaflow ms, ffmpeg ms, ratio (dictaflow / ffmpeg),
# and the output length in 16 kHz samples of each (a sanity check that both did the same work).
# A command that exits non-zero shows FAIL instead of a time, is left out of the total, and
# makes the script exit 1.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS="${1:-5}"
CORPUS="${DICTAFLOW_CORPUS:-../shared/corpus}"
read -r -a DECODE <<< "${DICTAFLOW_DECODE_CMD:-target/release/dictaflow audio decode}"

[[ -f "$CORPUS/manifest.json" ]] || { echo "corpus not found at $CORPUS (set DICTAFLOW_CORPUS)" >&2; exit 1; }
command -v ffmpeg > /dev/null || { echo "ffmpeg is not installed" >&2; exit 1; }
[[ -x "${DECODE[0]}" ]] || command -v "${DECODE[0]}" > /dev/null \
    || { echo "decode command not found: ${DECODE[0]} (build it, or set DICTAFLOW_DECODE_CMD)" >&2; exit 1; }

# "format_key<TAB>path" for the first good file of each format, then the long dictations.
list_files() {
    if command -v jq > /dev/null; then
        jq -r '[.files[] | select(.kind != "bad_input" and .kind != "long_dictation")]
               | unique_by(.format_key) | .[] | "\(.format_key)\t\(.path)"' "$CORPUS/manifest.json"
        jq -r '.files[] | select(.kind == "long_dictation") | "\(.format_key) (long)\t\(.path)"' \
            "$CORPUS/manifest.json"
    else
        python3 - "$CORPUS/manifest.json" <<'EOF'
import json, sys
files = json.load(open(sys.argv[1]))["files"]
seen = {}
for f in files:
    if f["kind"] not in ("bad_input", "long_dictation"):
        seen.setdefault(f["format_key"], f["path"])
for key in sorted(seen):
    print(f"{key}\t{seen[key]}")
for f in files:
    if f["kind"] == "long_dictation":
        print(f"{f['format_key']} (long)\t{f['path']}")
EOF
    fi
}

# best_ms CMD... : best wall-clock time in ms over $RUNS runs (stdout discarded).
best_ms() {
    if command -v hyperfine > /dev/null; then
        local json
        json="$(mktemp)"
        if ! hyperfine --runs "$RUNS" --warmup 1 --style none --export-json "$json" \
            -- "$(printf '%q ' "$@")" > /dev/null 2>&1; then
            rm -f "$json"
            echo FAIL
            return
        fi
        python3 -c 'import json,sys; print(round(min(json.load(open(sys.argv[1]))["results"][0]["times"])*1000))' "$json"
        rm -f "$json"
        return
    fi
    # Warm the page cache; a command that fails is reported as FAIL, not timed.
    "$@" > /dev/null 2>&1 || { echo FAIL; return; }
    local best=-1 t0 t1 ms
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        "$@" > /dev/null 2>&1 || { echo FAIL; return; }
        t1=$(date +%s%N)
        ms=$(((t1 - t0) / 1000000))
        if ((best < 0 || ms < best)); then best=$ms; fi
    done
    echo "$best"
}

samples() { echo $(($("$@" 2> /dev/null | wc -c) / 4)); }

echo "| format | file | dictaflow ms | ffmpeg ms | ratio | samples dictaflow / ffmpeg |"
echo "| --- | --- | ---: | ---: | ---: | --- |"
total_d=0
total_f=0
failed=0
while IFS=$'\t' read -r key path; do
    file="$CORPUS/$path"
    # Both under the same `timeout` wrapper, so neither pays for an extra exec the other does not.
    ours=(timeout 600 "${DECODE[@]}" "$file" --output -)
    theirs=(timeout 600 ffmpeg -nostdin -v error -i "$file" -ac 1 -ar 16000 -f f32le -)
    d=$(best_ms "${ours[@]}")
    f=$(best_ms "${theirs[@]}")
    if [[ "$d" == FAIL || "$f" == FAIL ]]; then
        failed=$((failed + 1))
        ratio="n/a"
    else
        total_d=$((total_d + d))
        total_f=$((total_f + f))
        ratio=$(awk -v d="$d" -v f="$f" 'BEGIN { printf "%.2f", (f > 0 ? d / f : 0) }')
    fi
    echo "| $key | $(basename "$path") | $d | $f | $ratio | $(samples "${ours[@]}") / $(samples "${theirs[@]}") |"
done < <(list_files)
ratio=$(awk -v d="$total_d" -v f="$total_f" 'BEGIN { printf "%.2f", (f > 0 ? d / f : 0) }')
echo "| **total** | | **$total_d** | **$total_f** | **$ratio** | |"
if ((failed > 0)); then
    echo
    echo "$failed file(s) failed to decode (FAIL rows are left out of the total)"
    exit 1
fi
