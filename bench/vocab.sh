#!/usr/bin/env bash
# Vocabulary effect on the corpus key terms: every speech file (clean and noisy) decoded
# with no vocabulary, its department's list, and another department's list (control).
# Prints one JSON line per file and condition, then a summary table (stderr).
#
# Env: THREADS (2), DICTAFLOW_CORPUS, MODEL (models/ggml-tiny.en.bin).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
CORPUS=${DICTAFLOW_CORPUS:-../shared/corpus}
[ -f "$CORPUS/scripts.json" ] || { echo "corpus not found at $CORPUS (set DICTAFLOW_CORPUS)"; exit 1; }
MODEL=${MODEL:-models/ggml-tiny.en.bin}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
nice -n 10 cargo build --release --quiet --example vocab_bench --bin dictaflow
[ -f "$MODEL" ] || "$CARGO_TARGET_DIR/release/dictaflow" models fetch tiny.en
mkdir -p bench/out
"$CARGO_TARGET_DIR/release/examples/vocab_bench" --model "$MODEL" --corpus "$CORPUS" --threads "$THREADS" \
  > bench/out/vocab.jsonl
echo "per-file results: bench/out/vocab.jsonl"
