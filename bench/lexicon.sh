#!/usr/bin/env bash
# The shipped clinical lexicon's effect on recognition with no vocabulary configured: every
# corpus speech file (clean, eSpeak, noisy, long) decoded as the previous release did
# (`none`), in British spelling (`british`), and with uncertain spans rescored against the
# lexicon (`rescore`, shipped). Key-term recall, WER per group, replacements right, wrong
# and harmful, and engine time, in one run. Per-file results: bench/out/lexicon.jsonl;
# the summary table on stderr.
#
# Env: THREADS (2), DICTAFLOW_CORPUS, MODEL (models/ggml-tiny.en.bin), CONFIGS
# (none,british,rescore; also `sound` and `prompt`, see examples/lexicon_bench.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
CORPUS=${DICTAFLOW_CORPUS:-../shared/corpus}
[ -f "$CORPUS/scripts.json" ] || { echo "corpus not found at $CORPUS (set DICTAFLOW_CORPUS)"; exit 1; }
MODEL=${MODEL:-models/ggml-tiny.en.bin}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
nice -n 10 cargo build --release --quiet --example lexicon_bench --bin dictaflow
[ -f "$MODEL" ] || "$CARGO_TARGET_DIR/release/dictaflow" models fetch tiny.en
mkdir -p bench/out
"$CARGO_TARGET_DIR/release/examples/lexicon_bench" --model "$MODEL" --corpus "$CORPUS" --threads "$THREADS" \
  --configs "${CONFIGS:-none,british,rescore}" > bench/out/lexicon.jsonl
echo "per-file results: bench/out/lexicon.jsonl"
