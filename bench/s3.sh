#!/usr/bin/env bash
# Benchmark: the audio in an S3 bucket against the local store, in the same run.
#
# An S3-compatible server (s3s-fs, as in the tests: target/tools/bin/s3s-fs, s3s-fs on PATH,
# or S3S_FS=...) runs on a free loopback port with a scratch directory. Then:
#   1. For each store (local, then s3), a fresh `dictaflow serve` with recognition off:
#      one warm-up upload, then one ~500 MB WAV (default 45 min 48 kHz stereo, 518 MB)
#      uploaded while the server's VmRSS is sampled every 50 ms (target: growth <= 32 MB),
#      then READS ranged GETs of 64 KiB at pseudo-random offsets of it and one full read;
#      then the server is restarted (a new process: the S3 store's read-through cache of
#      this node starts empty) and the same READS ranged GETs are timed again, the cold
#      path of a node that has never seen the recording.
#      Printed: growth, upload time, range-read times, full-read time, and s3 / local ratios
#      (target: at most 1.5x), and the S3 store's object-store time by operation. The S3
#      store runs twice: with kept connections (the default) and with
#      storage.s3.keep_alive = false, a connection per request: s3s-fs does not set
#      TCP_NODELAY, so on a kept connection its responses can wait for a delayed ACK.
#   2. Two API nodes (separate data directories and ports) on one database and one bucket:
#      N (default 50) distinct uploads at once, alternating between the nodes; every one
#      must be 201, and every recording is then read back whole from BOTH nodes and compared
#      byte for byte with what was sent. The database is a fresh PostgreSQL database when
#      BENCH_PG_URL (an admin URL, e.g. postgres://postgres@127.0.0.1:5432/postgres) is
#      set and psql is installed, else one SQLite file both nodes open.
#
# Usage: bench/s3.sh [MINUTES] [N]        (defaults 45 and 50)
# Env:   DICTAFLOW_BIN, BENCH_TMP, BENCH_KEEP (see bench/server_common.sh), READS (default 200),
#        S3S_FS, BENCH_PG_URL, BENCH_S3_EXTRA (more NAME=VALUE settings for every S3 store)
set -euo pipefail

cd "$(dirname "$0")/.."
MINUTES="${1:-45}"
N="${2:-50}"
READS="${READS:-200}"
# shellcheck source=bench/server_common.sh
source bench/server_common.sh
set_if_key stt.enabled false
set_if_key limits.max_duration_seconds 20000

S3S_FS="${S3S_FS:-}"
[[ -n "$S3S_FS" ]] || S3S_FS="$(ls target/tools/bin/s3s-fs 2> /dev/null || command -v s3s-fs || true)"
[[ -x "$S3S_FS" ]] || { echo "s3s-fs not found (cargo install s3s-fs --features binary, or set S3S_FS)" >&2; exit 1; }

EXTRA_PIDS=()
s3_cleanup() {
    for pid in "${EXTRA_PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
    bench_cleanup
}
trap s3_cleanup EXIT

# The S3 server.
mkdir -p "$WORK/s3/bench-audio"
S3_PORT="$(free_port)"
"$S3S_FS" --host 127.0.0.1 --port "$S3_PORT" --access-key bench-key --secret-key bench-secret "$WORK/s3" \
    > "$WORK/s3.log" 2>&1 &
EXTRA_PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break; sleep 0.05; done
S3_ENV=(DICTAFLOW_STORAGE__AUDIO_URL=s3://bench-audio/dictations
    DICTAFLOW_STORAGE__S3__ENDPOINT="http://127.0.0.1:$S3_PORT" DICTAFLOW_STORAGE__S3__ALLOW_HTTP=true
    DICTAFLOW_STORAGE__S3__REGION=us-east-1 DICTAFLOW_STORAGE__S3__ACCESS_KEY_ID=bench-key
    DICTAFLOW_STORAGE__S3__SECRET_ACCESS_KEY=bench-secret ${BENCH_S3_EXTRA:-})

# make_wav FILE SECONDS RATE CHANNELS SEED: a 16-bit WAV of a tone with noise (Python, no ffmpeg).
make_wav() {
    python3 - "$@" << 'EOF'
import math, random, struct, sys
path, seconds, rate, channels, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
freq = 300 + seed % 500
block = bytearray()
for i in range(rate):  # one second, repeated with a varying gain so blocks differ
    s = 0.4 * math.sin(2 * math.pi * freq * i / rate) + 0.05 * (rng.random() * 2 - 1)
    block += struct.pack('<h', int(s * 32767)) * channels
data_len = len(block) * seconds
with open(path, 'wb') as f:
    f.write(b'RIFF' + struct.pack('<I', 36 + data_len) + b'WAVEfmt ')
    f.write(struct.pack('<IHHIIHH', 16, 1, channels, rate, rate * channels * 2, channels * 2, 16))
    f.write(b'data' + struct.pack('<I', data_len))
    for sec in range(seconds):
        f.write(bytes(block[:-2]) + struct.pack('<h', sec % 32768))
EOF
}

BIG="$WORK/big.wav"
make_wav "$BIG" $((MINUTES * 60)) 48000 2 7
make_wav "$WORK/small.wav" 5 16000 1 1
BYTES=$(stat -c %s "$BIG")

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# restart_server: a new server process on the same data directory and user (TOKEN).
restart_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2> /dev/null || true
    PORT="$(free_port)"
    BASE_URL="http://127.0.0.1:$PORT"
    env "${SERVER_ENV[@]}" "$DICTAFLOW_BIN" --data-dir "$DATA" serve --bind "127.0.0.1:$PORT" >> "$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do curl -fsS -o /dev/null "$BASE_URL/healthz" 2> /dev/null && return 0; sleep 0.1; done
    echo "server not ready after a restart" >&2
    exit 1
}

# range_reads URL: READS ranged GETs of 64 KiB at spread offsets; prints the seconds.
range_reads() {
    local i off t0 t1
    t0=$(now_ns)
    for ((i = 0; i < READS; i++)); do
        off=$(((i * 2654435761) % (BYTES - 65536)))
        curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Range: bytes=$off-$((off + 65535))" "$1"
    done
    t1=$(now_ns)
    secs "$t0" "$t1"
}

# one_store NAME ENV...: upload RSS, upload time, range reads, full read, range reads after a
# restart. Sets R_* variables.
one_store() {
    local name=$1
    shift
    DATA="$WORK/data-$name"
    local saved=("${SERVER_ENV[@]}")
    SERVER_ENV+=("$@")
    start_server
    curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" -F "audio=@$WORK/small.wav;type=audio/wav" \
        "$BASE_URL/api/v1/dictations"
    sleep 1
    local before peak t0 t1 code id
    before=$(rss_kb VmRSS)
    : > "$WORK/rss-$name"
    rm -f "$WORK/stop"
    (while [[ ! -e "$WORK/stop" ]]; do rss_kb VmRSS >> "$WORK/rss-$name"; sleep 0.05; done) &
    local sampler=$!
    t0=$(now_ns)
    code=$(curl -sS -o "$WORK/big-$name.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -F "audio=@$BIG;type=audio/wav" "$BASE_URL/api/v1/dictations")
    t1=$(now_ns)
    sleep 0.3
    touch "$WORK/stop"
    wait "$sampler" || true
    [[ "$code" == 201 ]] || { echo "$name: big upload answered $code: $(head -c 300 "$WORK/big-$name.json")" >&2; exit 1; }
    peak=$(sort -n "$WORK/rss-$name" | tail -1)
    R_GROWTH=$(awk -v k=$((peak - before)) 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
    R_UPLOAD=$(secs "$t0" "$t1")
    id=$(jq -r .id "$WORK/big-$name.json")
    local path="/api/v1/dictations/$id/audio"
    local url="$BASE_URL$path"
    R_RANGES=$(range_reads "$url")
    t0=$(now_ns)
    curl -fsS -o "$WORK/back-$name.wav" -H "Authorization: Bearer $TOKEN" "$url"
    t1=$(now_ns)
    R_FULL=$(secs "$t0" "$t1")
    cmp -s "$BIG" "$WORK/back-$name.wav" || { echo "$name: the full read differs from the upload" >&2; exit 1; }
    rm -f "$WORK/back-$name.wav"
    curl -fsS -o "$WORK/metrics-$name" "$BASE_URL/metrics" || true
    restart_server
    R_COLD=$(range_reads "$BASE_URL$path")
    curl -fsS -o "$WORK/metrics-$name-cold" "$BASE_URL/metrics" || true
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2> /dev/null || true
    SERVER_PID=""
    SERVER_ENV=("${saved[@]}")
}

machine_notes
echo "binary: $DICTAFLOW_BIN; s3s-fs: $S3S_FS; upload $(awk -v b="$BYTES" 'BEGIN { printf "%.1f MB", b / 1e6 }'); $READS ranged reads of 64 KiB"
one_store local
L=("$R_GROWTH" "$R_UPLOAD" "$R_RANGES" "$R_FULL" "$R_COLD")
one_store s3 "${S3_ENV[@]}"
S=("$R_GROWTH" "$R_UPLOAD" "$R_RANGES" "$R_FULL" "$R_COLD")
# s3s-fs does not set TCP_NODELAY on its sockets: on a kept connection a response can wait
# for the client's delayed acknowledgement. The same store with a connection per request:
one_store s3-per-request "${S3_ENV[@]}" DICTAFLOW_STORAGE__S3__KEEP_ALIVE=false
F=("$R_GROWTH" "$R_UPLOAD" "$R_RANGES" "$R_FULL" "$R_COLD")
ratio() { awk -v s="$1" -v l="$2" 'BEGIN { printf "%.2fx", s / l }'; }
row() { # row NAME VALUES...
    echo "| $1 | $2 | $3 | $4 | $5 | $6 |"
}
ratios() { # ratios NAME VALUES...
    local name=$1
    shift
    echo "| **$name** | growth / 32 MB target: $(awk -v g="$1" 'BEGIN { printf "%.2f", g / 32 }') | **$(ratio "$2" "${L[1]}")** | **$(ratio "$3" "${L[2]}")** | $(ratio "$4" "${L[3]}") | **$(ratio "$5" "${L[4]}")** |"
}
echo
echo "| store | RSS growth, 500 MB upload (MB) | upload s | $READS range reads s | full read s | $READS range reads, new process s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row local "${L[@]}"
row "s3, kept connections (default)" "${S[@]}"
row "s3, keep_alive = false" "${F[@]}"
ratios "s3 kept / local" "${S[@]}"
ratios "s3 keep_alive = false / local" "${F[@]}"
echo
# store_calls FILE: the object-store calls in a /metrics text (op, calls, seconds in all) and
# the read-through cache's counters.
store_calls() {
    awk -F'[{}" ]+' '/^dictaflow_object_store_seconds_(sum|count)/ {
            split($0, a, " "); op = $0; sub(/.*op="/, "", op); sub(/".*/, "", op)
            if ($1 ~ /_sum$/) sum[op] = a[2]; else n[op] = a[2]
        }
        END { for (op in n) printf "  %-20s %6d %8.3f\n", op, n[op], sum[op] }' "$1" || true
    grep '^dictaflow_audio_cache' "$1" | sed 's/^/  /' || true
}
echo "S3 store (kept connections), object-store calls of the first process (upload, reads): op, calls, seconds in all"
store_calls "$WORK/metrics-s3"
echo "... of the new process (the cold range reads)"
store_calls "$WORK/metrics-s3-cold"
echo "S3 store (keep_alive = false), the first process"
store_calls "$WORK/metrics-s3-per-request"
echo "... the new process"
store_calls "$WORK/metrics-s3-per-request-cold"

# 2. Two API nodes, one database, one bucket.
DB_ENV=()
if [[ -n "${BENCH_PG_URL:-}" ]] && command -v psql > /dev/null; then
    PG_DB="dictaflow_bench_$$"
    psql "$BENCH_PG_URL" -qc "CREATE DATABASE $PG_DB" > /dev/null
    DB_URL="${BENCH_PG_URL%/*}/$PG_DB"
    DB_KIND=PostgreSQL
else
    DB_URL="sqlite://$WORK/shared.db?mode=rwc"
    DB_KIND="SQLite (one file)"
fi
DB_ENV=(DICTAFLOW_DATABASE_URL="$DB_URL")
SERVER_ENV+=("${S3_ENV[@]}" "${DB_ENV[@]}")
DATA="$WORK/node-a"
start_server # node A, and the user (the token works on both nodes: one database)
NODE_BASE=("$BASE_URL")
EXTRA_PIDS+=("$SERVER_PID")
SERVER_PID=""
mkdir -p "$WORK/node-b"
PORT_B="$(free_port)"
env "${SERVER_ENV[@]}" "$DICTAFLOW_BIN" --data-dir "$WORK/node-b" serve --bind "127.0.0.1:$PORT_B" \
    >> "$WORK/server-b.log" 2>&1 &
EXTRA_PIDS+=($!)
NODE_BASE+=("http://127.0.0.1:$PORT_B")
for _ in $(seq 300); do curl -fsS -o /dev/null "${NODE_BASE[1]}/healthz" 2> /dev/null && break; sleep 0.1; done
mkdir -p "$WORK/many"
# `wait` names its jobs: the S3 server and the nodes run in the background too.
JOBS=()
for ((i = 0; i < N; i++)); do
    make_wav "$WORK/many/$i.wav" 3 16000 1 $((100 + i)) &
    JOBS+=($!)
done
wait "${JOBS[@]}"
JOBS=()
t0=$(now_ns)
for ((i = 0; i < N; i++)); do
    (curl -sS -o "$WORK/many/$i.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -F "audio=@$WORK/many/$i.wav;type=audio/wav" "${NODE_BASE[$((i % 2))]}/api/v1/dictations" \
        > "$WORK/many/$i.code" 2> /dev/null || echo 000 > "$WORK/many/$i.code") &
    JOBS+=($!)
done
wait "${JOBS[@]}"
t1=$(now_ns)
accepted=0 readable=0
for ((i = 0; i < N; i++)); do
    [[ "$(cat "$WORK/many/$i.code")" == 201 ]] || continue
    accepted=$((accepted + 1))
    id=$(jq -r .id "$WORK/many/$i.json")
    both=1
    for base in "${NODE_BASE[@]}"; do
        curl -fsS -o "$WORK/many/$i.back" -H "Authorization: Bearer $TOKEN" "$base/api/v1/dictations/$id/audio" \
            && cmp -s "$WORK/many/$i.wav" "$WORK/many/$i.back" || both=0
    done
    readable=$((readable + both))
done
[[ -n "${PG_DB:-}" ]] && psql "$BENCH_PG_URL" -qc "DROP DATABASE $PG_DB WITH (FORCE)" > /dev/null 2>&1 || true
echo
echo "| two API nodes ($DB_KIND + one bucket) | value |"
echo "| --- | ---: |"
echo "| uploads sent at once, alternating nodes | $N |"
echo "| **accepted (201)** | **$accepted** |"
echo "| **readable byte for byte from both nodes** | **$readable** |"
echo "| wall time of the $N uploads | $(secs "$t0" "$t1") s |"
((accepted == N && readable == N)) || exit 1
