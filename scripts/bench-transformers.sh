#!/bin/bash
# transformers' own speculative decoding on the shipped pair, for docs/benchmarks.md: assisted generation (target +
# drafter) and prompt lookup, each against transformers' plain greedy decoding of the same prompt, through the
# shared hf-reference tool (float32, 2 threads, EOS ignored).
#
#   scripts/bench-transformers.sh [N_TOKENS] [REPS] [PROMPTS]
#       default: 128 tokens, 3 repetitions per prompt (medians), all 12 prompts (about 1.8 minutes each on a quiet 2-core
#       machine: transformers decodes this pair at ~47 tokens/s, and every mode runs REPS+2 times)
#
# Prompts: samples/models/bench-prompts.txt, tokenized by transformers (`tokenize`, with BOS, as `specula bench`
# does). Writes one JSON line per prompt and mode to target/bench-transformers/results.jsonl and prints totals.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${HF_REFERENCE:-$(cd .. && pwd)/shared/tools/hf-reference/run.sh}
N=${1:-128}; REPS=${2:-3}; PROMPTS=${3:-12}
T=samples/models/target; D=samples/models/drafter
OUT=target/bench-transformers; mkdir -p "$OUT"; : > "$OUT/results.jsonl"
i=0
while IFS= read -r line; do
  i=$((i + 1))
  [ "$i" -le "$PROMPTS" ] || break
  ids=$("$TOOL" tokenize "$T" --text "$line" | jq -r '.ids | map(tostring) | join(",")')
  "$TOOL" assisted "$T" "$D" --prompt-ids "$ids" --n "$N" --reps "$REPS" --json \
    | sed -n 's/^JSON //p' | jq -c --argjson p "$i" '. + {prompt: $p}' >> "$OUT/results.jsonl"
  "$TOOL" lookup "$T" --prompt-ids "$ids" --n "$N" --reps "$REPS" --json \
    | sed -n 's/^JSON //p' | jq -c --argjson p "$i" '. + {prompt: $p}' >> "$OUT/results.jsonl"
  echo "prompt $i done" >&2
done < samples/models/bench-prompts.txt
# Totals over prompts: tokens / summed median times, so every prompt weighs by its time.
jq -s -r 'group_by(.mode)[] | . as $g |
  ($g | map(.n / .plain_tok_s) | add) as $tp | ($g | map(.n / .spec_tok_s) | add) as $ts |
  ($g | map(.n) | add) as $n |
  "\($g[0].mode): prompts \($g | length), plain \($n / $tp * 10 | round / 10) tok/s, \($g[0].mode) \($n / $ts * 10 | round / 10) tok/s, speedup \($tp / $ts * 1000 | round / 1000)x, target forwards \($g | map(.spec_target_forwards) | add) vs \($g | map(.plain_target_forwards) | add) plain (\($n / ($g | map(.spec_target_forwards) | add) * 100 | round / 100) tokens per forward), accepted \($g | map(.accepted) | add) of \($n), identical \($g | all(.identical))"' \
  "$OUT/results.jsonl"
