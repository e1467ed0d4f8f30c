#!/usr/bin/env bash
# Benchmark: server memory while one ~500 MB recording is uploaded (target: RSS growth <= 32 MB).
#
# Starts `dictaflow serve` on a free loopback port with a scratch data directory, creates a
# clinician with an API token, makes a 48 kHz stereo 16-bit WAV (default 45 min = 518.4 MB,
# under the default 512 MiB upload limit and 2 h duration limit), warms the server with one
# small upload, then samples the server's VmRSS from /proc/PID/status every 50 ms while
# `curl -F audio=@big.wav` posts it to /api/v1/dictations. VmHWM (the kernel's own peak RSS,
# which catches spikes between samples) is read before and after as well.
#
# Usage: bench/upload_rss.sh [MINUTES]      (default 45)
# Env:   DICTAFLOW_BIN, BENCH_TMP, BENCH_KEEP (see bench/server_common.sh)
#        BIG_RATE, BIG_CHANNELS  format of the generated WAV (default 48000 and 2); e.g.
#                       BIG_RATE=16000 BIG_CHANNELS=1 bench/upload_rss.sh 260 makes 499 MB of
#                       4.3 h, over the default 2 h limit: the script raises
#                       limits.max_duration_seconds to 20000 for that
#        BIG_WAV=FILE   upload this file instead of generating one
# Prints a markdown table: file size, duration, HTTP status, server-side time, RSS cold /
# before / peak (sampled) / VmHWM, and growth in MB (1 MB = 10^6 bytes; MiB also shown).
set -euo pipefail

cd "$(dirname "$0")/.."
MINUTES="${1:-45}"
# shellcheck source=bench/server_common.sh
source bench/server_common.sh
command -v ffmpeg > /dev/null || { echo "ffmpeg is not installed" >&2; exit 1; }

# Keys the brief asks for, when this build has them: no recognition work in the background,
# and room for long recordings.
set_if_key stt.enabled false
set_if_key limits.max_duration_seconds 20000

BIG_RATE="${BIG_RATE:-48000}"
BIG_CHANNELS="${BIG_CHANNELS:-2}"
layout=$([[ "$BIG_CHANNELS" == 1 ]] && echo mono || echo stereo)
BIG="${BIG_WAV:-$WORK/big.wav}"
if [[ -z "${BIG_WAV:-}" ]]; then
    # A 440 Hz tone with a little noise, so the level statistics see real signal.
    ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:sample_rate=$BIG_RATE:duration=$((MINUTES * 60))" \
        -f lavfi -i "anoisesrc=color=pink:amplitude=0.05:sample_rate=$BIG_RATE:duration=$((MINUTES * 60)):seed=7" \
        -filter_complex "[0][1]amix=inputs=2:normalize=0,volume=0.5,aformat=channel_layouts=$layout" \
        -c:a pcm_s16le "$BIG"
fi
SMALL="$WORK/small.wav"
ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:sample_rate=16000:duration=5" -c:a pcm_s16le "$SMALL"
BYTES=$(stat -c %s "$BIG")

start_server
COLD_RSS=$(rss_kb VmRSS)

# Warm-up: one small upload so lazily built state (database pool, decoder tables) is counted
# in the baseline, not in the growth.
code=$(curl -sS -o "$WORK/warm.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -F "audio=@$SMALL;type=audio/wav" "$BASE_URL/api/v1/dictations")
[[ "$code" == 201 ]] || { echo "warm-up upload failed: $code $(cat "$WORK/warm.json")" >&2; exit 1; }
sleep 1

BEFORE_RSS=$(rss_kb VmRSS)
BEFORE_HWM=$(rss_kb VmHWM)

# Sampler: "ms_since_start rss_kb" every 50 ms until the server or the stop file goes away.
SAMPLES="$WORK/rss.tsv"
: > "$SAMPLES"
(
    t0=$(date +%s%N)
    while [[ ! -e "$WORK/stop" ]] && kill -0 "$SERVER_PID" 2> /dev/null; do
        echo "$((($(date +%s%N) - t0) / 1000000)) $(rss_kb VmRSS)" >> "$SAMPLES"
        sleep 0.05
    done
) &
SAMPLER_PID=$!
sleep 0.2

t0=$(date +%s%N)
code=$(curl -sS -o "$WORK/big.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -F "audio=@$BIG;type=audio/wav" "$BASE_URL/api/v1/dictations") || code="curl-error"
t1=$(date +%s%N)
sleep 0.5
touch "$WORK/stop"
wait "$SAMPLER_PID" 2> /dev/null || true

AFTER_RSS=$(rss_kb VmRSS)
AFTER_HWM=$(rss_kb VmHWM)
PEAK_RSS=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$SAMPLES")
NSAMPLES=$(wc -l < "$SAMPLES")
DURATION=$(jq -r '.audio.duration_seconds // .code // "?"' "$WORK/big.json" 2> /dev/null || echo "?")
SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
GROWTH=$((PEAK_RSS - BEFORE_RSS))
# VmHWM only says something about the upload when it moved during it.
HWM_GROWTH=$GROWTH
if ((AFTER_HWM > BEFORE_HWM && AFTER_HWM - BEFORE_RSS > GROWTH)); then HWM_GROWTH=$((AFTER_HWM - BEFORE_RSS)); fi

machine_notes
echo "binary: $DICTAFLOW_BIN; ${SERVER_ENV[*]}"
echo
echo "| what | value |"
echo "| --- | ---: |"
echo "| upload | $(awk -v b="$BYTES" 'BEGIN { printf "%.1f MB (%d bytes)", b / 1e6, b }'), $(ffprobe -v error -show_entries stream=codec_name,sample_rate,channels -of csv=p=0 "$BIG" 2> /dev/null || echo "?") |"
echo "| HTTP status | $code |"
echo "| duration_seconds in the answer | $DURATION |"
echo "| upload + ingest wall time | $SECS s ($NSAMPLES RSS samples) |"
echo "| RSS after start (cold) | $(mb "$COLD_RSS") MB |"
echo "| RSS before the upload (after warm-up) | $(mb "$BEFORE_RSS") MB |"
echo "| peak RSS sampled every 50 ms | $(mb "$PEAK_RSS") MB |"
echo "| VmHWM before / after | $(mb "$BEFORE_HWM") / $(mb "$AFTER_HWM") MB |"
echo "| RSS after the upload | $(mb "$AFTER_RSS") MB |"
echo "| **growth (sampled peak - before)** | **$(mb "$GROWTH") MB ($(mib "$GROWTH") MiB)** |"
echo "| growth incl. spikes between samples (VmHWM after - before, when VmHWM moved) | $(mb "$HWM_GROWTH") MB ($(mib "$HWM_GROWTH") MiB) |"
echo "| growth / 32 MB target | $(awk -v g="$HWM_GROWTH" 'BEGIN { printf "%.2f", g * 1024 / 32e6 }') |"
[[ "$code" == 201 ]] || { echo; echo "answer: $(head -c 600 "$WORK/big.json")"; }
