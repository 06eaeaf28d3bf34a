#!/bin/bash
# The weights benchmark of docs/benchmarks.md: Specula in each weight format against llama.cpp at the nearest
# format, on the models of scripts/make-bench-models.sh, alternating within each round so that a shared machine's
# drift hits both alike. Both sides on the same 2 cores (taskset -c 0,1; llama.cpp with -t 2, Specula's kernel
# pool is sized to the 2 cores it sees).
#
#   scripts/bench-weights.sh [ROOT] [ROUNDS] [MODELS]      # defaults: /tmp/specula-bench 3 "llama1b m768"
#
# Environment: THREADS (default 2: llama.cpp -t THREADS, Specula -XX:ActiveProcessorCount=THREADS, which sizes its
# kernel pool), TOKENS (decoded tokens per plain run, default 64), REPS (pass-cost repetitions, default 5), PARTS
# (default "plain passes speculative"). On a
# busy machine use THREADS=1: llama.cpp's spin-waiting threads collapse when other processes take the cores.
#
# Per round and model, for (Specula none = BF16 as stored, q8_0, q4_1) vs (llama.cpp BF16, Q8_0, Q4_K_M):
#   plain decoding: `specula generate --bench` (load time, decode tokens/s, RSS) and `llama-bench -n 64` (tokens/s,
#   peak RSS from /usr/bin/time); pass cost over 1/2/5/9/16 positions: `specula bench-forward` and
#   `llama-bench -p 1,2,5,9,16 -n 0`; then speculative decoding of the pair with both quantized (`specula bench`).
# Every measurement line starts with the load average. Needs a built checkout (./mvnw -DskipTests package) and the
# llama.cpp chroot (../shared/tools/llama-cpp).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
ROOT=$(realpath -m "${1:-/tmp/specula-bench}")
ROUNDS=${2:-3}
MODELS=${3:-llama1b m768}
LLAMA_CPP=${LLAMA_CPP:-$(realpath -m "$repo/../shared/tools/llama-cpp")}
CPUS=${CPUS:-0,1}
THREADS=${THREADS:-2}
TOKENS=${TOKENS:-64}
PARTS=${PARTS:-plain passes speculative}
export SPECULA_JAVA_OPTS="-XX:ActiveProcessorCount=$THREADS ${SPECULA_JAVA_OPTS:-}"
part() { [[ " $PARTS " == *" $1 "* ]]; }
specula() { taskset -c "$CPUS" "$repo/cli/specula" "$@" 2>/dev/null; }
llama() { taskset -c "$CPUS" "$LLAMA_CPP/run.sh" "$@" 2>/dev/null; }
load() { cut -d' ' -f1 /proc/loadavg; }
PROMPT="It was a bright cold day in April, and the clocks were striking thirteen."

declare -A GGUF=([none]=bf16 [q8_0]=q8_0 [q4_1]=q4_k_m)
echo "load $(load) threads $THREADS, $TOKENS tokens, cpus $CPUS, parts: $PARTS"
part plain && for round in $(seq 1 "$ROUNDS"); do
  for m in $MODELS; do
    for q in none q8_0 q4_1; do
      g="$ROOT/gguf/$m-target-${GGUF[$q]}.gguf"
      out=$( { /usr/bin/time -f "maxrss_kb %M" taskset -c "$CPUS" "$repo/cli/specula" generate --model "$ROOT/$m-target" \
        --prompt "$PROMPT" --max-tokens "$TOKENS" --quantize "$q" --bench --repeat 3; } 2>&1)
      echo "load $(load) round $round $m specula $q: $(echo "$out" | grep -E '^(load|decode):|maxrss' | tr '\n' ' ')"
      res=$( { /usr/bin/time -f "maxrss_kb %M" taskset -c "$CPUS" "$LLAMA_CPP/run.sh" llama-bench -m "$g" -p 0 -n "$TOKENS" \
        -t "$THREADS" -r 3 -o md; } 2>&1 | grep -E "tg$TOKENS|maxrss" | tr -s ' ' | tr '\n' ' ')
      echo "load $(load) round $round $m llama.cpp ${GGUF[$q]}: $res"
    done
  done
done

part passes && for m in $MODELS; do
  for q in none q8_0 q4_1; do
    g="$ROOT/gguf/$m-target-${GGUF[$q]}.gguf"
    echo "load $(load) passes $m specula $q:"
    specula bench-forward --model "$ROOT/$m-target" --quantize "$q" --positions 1,2,5,9,16 --reps "${REPS:-5}" --context 32 \
      --decode 8 | tail -1
    echo "load $(load) passes $m llama.cpp ${GGUF[$q]}:"
    llama llama-bench -m "$g" -p 1,2,5,9,16 -n 0 -t "$THREADS" -r "${REPS:-5}" -o md | grep -E 'pp[0-9]' | tr -s ' ' 
  done
done

part speculative && for m in $MODELS; do
  for q in q4_1 q8_0; do
    echo "load $(load) speculative $m specula target $q drafter $q:"
    specula bench --target "$ROOT/$m-target" --drafter "$ROOT/$m-drafter" --quantize "$q" --drafter-quantize "$q" \
      --max-tokens "$TOKENS" --repeat 2 --policy fixed --draft-tokens 4 | grep -vE '^(alpha|c =|theoretical)'
  done
done
echo "load $(load) done"
