#!/usr/bin/env bash
# Companion to bench/decode.sh: the same comparison on long recordings, where process start-up
# (ffmpeg's is ~50 ms, dictaflow's a few ms) no longer dominates and the decode + resample
# throughput is what is compared. Also times both on the 0.2 s corpus file (start-up cost).
#
# Builds a scratch corpus: one file per corpus format_key (the same pick as decode.sh), each
# looped with `ffmpeg -stream_loop N` to about MINUTES minutes (stream copy for WAV/MP3/M4A,
# re-encoded with the corpus settings for FLAC/Vorbis/Opus/WebM; same rate and channels),
# writes its manifest.json, and runs bench/decode.sh on it.
#
# Usage: bench/decode_long.sh [MINUTES] [RUNS]     (defaults 10 and 3)
# Env:   DICTAFLOW_DECODE_CMD, DICTAFLOW_CORPUS as for decode.sh; BENCH_TMP for the scratch dir.
set -euo pipefail

cd "$(dirname "$0")/.."
MINUTES="${1:-10}"
RUNS="${2:-3}"
CORPUS="${DICTAFLOW_CORPUS:-../shared/corpus}"
read -r -a DECODE <<< "${DICTAFLOW_DECODE_CMD:-target/release/dictaflow audio decode}"
[[ -f "$CORPUS/manifest.json" ]] || { echo "corpus not found at $CORPUS (set DICTAFLOW_CORPUS)" >&2; exit 1; }
command -v jq > /dev/null || { echo "jq is not installed" >&2; exit 1; }

WORK="$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/dictaflow-decode-long.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/audio"

entries=()
while IFS=$'\t' read -r key path dur; do
    ext="${path##*.}"
    loops=$(awk -v m="$MINUTES" -v d="$dur" 'BEGIN { n = int(m * 60 / d + 0.5) - 1; print (n < 0 ? 0 : n) }')
    out="audio/$key.$ext"
    # Stream copy where the container stays consistent (WAV, MP3, MP4). Copied FLAC and Ogg
    # keep the first loop's STREAMINFO / granule positions and are malformed, so those are
    # re-encoded with the corpus settings (FLAC is lossless; the lossy ones differ slightly).
    case "$key" in
        flac*) codec=(-c:a flac) ;;
        ogg_vorbis*) codec=(-c:a libvorbis -q:a 1) ;;
        opus*) codec=(-c:a libopus -b:a 24k -application voip) ;;
        webm*) codec=(-c:a libopus -b:a 32k -f webm) ;;
        *) codec=(-c copy) ;;
    esac
    if [[ "$key" == webm* ]]; then
        # Written to a pipe like MediaRecorder output: no duration, no cues.
        ffmpeg -nostdin -v error -stream_loop "$loops" -i "$CORPUS/$path" -map 0:a "${codec[@]}" - > "$WORK/$out"
    else
        ffmpeg -nostdin -v error -stream_loop "$loops" -i "$CORPUS/$path" -map 0:a "${codec[@]}" "$WORK/$out"
    fi
    entries+=("$(jq -n --arg k "$key" --arg p "$out" '{kind: "speech", format_key: $k, path: $p}')")
done < <(jq -r '[.files[] | select(.kind != "bad_input" and .kind != "long_dictation")]
                | unique_by(.format_key) | .[] | "\(.format_key)\t\(.path)\t\(.duration_s)"' "$CORPUS/manifest.json")
printf '%s\n' "${entries[@]}" | jq -s '{files: .}' > "$WORK/manifest.json"

echo "Each file looped to ~$MINUTES min; best of $RUNS runs."
echo
DICTAFLOW_CORPUS="$WORK" bash bench/decode.sh "$RUNS"

# Start-up cost: the 0.2 s corpus file.
short="$CORPUS/bad/very_short_0p2s.wav"
if [[ -f "$short" ]]; then
    best() {
        local b=-1 t0 t1 ms
        "$@" > /dev/null 2>&1
        for ((i = 0; i < 7; i++)); do
            t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N)
            ms=$(((t1 - t0) / 1000000)); if ((b < 0 || ms < b)); then b=$ms; fi
        done
        echo "$b"
    }
    echo
    echo "Start-up (bad/very_short_0p2s.wav, best of 7): dictaflow $(best timeout 600 "${DECODE[@]}" "$short" --output -) ms," \
        "ffmpeg $(best timeout 600 ffmpeg -nostdin -v error -i "$short" -ac 1 -ar 16000 -f f32le -) ms"
fi
