#!/bin/bash
# The same Q8_0 and Q4_K_M files run by Specula and by llama.cpp, plain and speculative, alternating, in one run
# (docs/benchmarks.md, "GGUF files"). Not a test.
#
#   scripts/bench-gguf.sh [ROUNDS]        (default 3)
#
# The pair is the shipped one (samples/models/target, 8 x 512, and its distilled drafter, 2 x 192): exported to F32
# GGUF by `specula export-gguf`, quantized by llama.cpp's llama-quantize, both engines reading the same files.
# Per round and type: llama-bench (tg64, 2 threads, 3 repetitions), `specula generate --bench` (64 tokens, median of
# 3, load time), llama-speculative-simple (draft-simple, 4 drafts, greedy) and `specula bench` (plain and fixed
# gamma = 4, the 4 built-in prompts, 64 tokens). Needs the llama-cpp chroot and `./mvnw -DskipTests package`.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${LLAMA_CPP:-$(cd .. && pwd)/shared/tools/llama-cpp/run.sh}
rounds=${1:-3}
# llama.cpp's threads spin while they wait for each other (--poll 50 by default); on a machine shared with other jobs
# a descheduled thread stalls the other: LLAMA_POLL=0 makes them sleep instead.
poll=${LLAMA_POLL:-50}
work=${BENCH_WORK:-/tmp/bench-gguf}
mkdir -p "$work"
prompt=$(head -1 samples/models/bench-prompts.txt)
if [ ! -f "$work/target-Q4_K_M.gguf" ]; then
  cli/specula export-gguf --model samples/models/target --out "$work/target-f32.gguf" --type f32 2>/dev/null
  cli/specula export-gguf --model samples/models/drafter --out "$work/drafter-f32.gguf" --type f32 2>/dev/null
  for t in Q8_0 Q4_K_M; do
    "$TOOL" llama-quantize "$work/target-f32.gguf" "$work/target-$t.gguf" "$t" > "$work/quantize-target-$t.log" 2>&1
    "$TOOL" llama-quantize "$work/drafter-f32.gguf" "$work/drafter-$t.gguf" "$t" > "$work/quantize-drafter-$t.log" 2>&1
  done
fi
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); llama.cpp --poll $poll"
for t in Q8_0 Q4_K_M; do
  echo "$t target tensor types: $(grep -oE 'converting to [A-Za-z0-9_]+' "$work/quantize-target-$t.log" | sort | uniq -c \
    | awk '{printf "%s %s, ", $1, $4}')"
done
for r in $(seq 1 "$rounds"); do
  for t in Q8_0 Q4_K_M; do
    ll=$("$TOOL" llama-bench -m "$work/target-$t.gguf" -t 2 --poll "$poll" -p 0 -n 64 -r 3 -o csv 2>/dev/null | tail -1 \
      | awk -F'","' '{print $(NF-1)}')
    ours=$(cli/specula generate --model "$work/target-$t.gguf" --prompt "$prompt" --max-tokens 64 --bench --repeat 3 \
      2>/dev/null)
    ours_tps=$(echo "$ours" | sed -nE 's/^decode: .* ([0-9.]+) tokens\/s.*/\1/p')
    ours_load=$(echo "$ours" | sed -nE 's/^load: ([0-9.]+) s.*/\1/p')
    spec=$("$TOOL" llama-speculative-simple -m "$work/target-$t.gguf" -md "$work/drafter-$t.gguf" -p "$prompt" -n 64 \
      --spec-type draft-simple --spec-draft-n-max 4 -t 2 -td 2 --poll "$poll" --temp 0 -c 512 2>&1)
    ll_spec=$(echo "$spec" | sed -nE 's/.*decoded .* speed: *([0-9.]+) t\/s.*/\1/p' | tail -1)
    ll_acc=$(echo "$spec" | sed -nE 's/.*accept *= *([0-9.]+%).*/\1/p' | tail -1)
    ll_load=$(echo "$spec" | sed -nE 's/.*load time = *([0-9.]+) ms.*/\1/p' | tail -1)
    b=$(cli/specula bench --target "$work/target-$t.gguf" --drafter "$work/drafter-$t.gguf" --max-tokens 64 \
      --repeat 1 --policy fixed --draft-tokens 4 2>/dev/null)
    b_plain=$(echo "$b" | awk '$1 == "plain" {print $2}')
    b_spec=$(echo "$b" | awk '$1 == "fixed" {print $3 " (alpha " $5 ")"}')
    echo "round $r $t: llama.cpp plain ${ll} t/s, speculative ${ll_spec} t/s (accept ${ll_acc}, target load ${ll_load} ms) |" \
      "Specula generate ${ours_tps} t/s (load ${ours_load} s), bench plain ${b_plain} t/s, speculative ${b_spec} t/s" \
      "| load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
