#!/bin/bash
# Makes the quantized GGUF fixtures under core/src/test/resources/gguf/ (committed: CI does not run llama.cpp).
#
#   scripts/make-gguf-fixtures.sh
#
# 1. compiles core's tests; io.specula.gguf.GgufFixtures writes each fixture's tiny seeded model directory and its F32
#    GGUF (export-gguf's exporter) under core/target/gguf-fixtures/;
# 2. llama.cpp's llama-quantize (shared/tools/llama-cpp) quantizes each to NAME.gguf (Q8_0, Q4_0, Q4_K_M);
# 3. inside the same tool's chroot, scripts/gguf-fixtures/llamacpp_record.py writes NAME.llamacpp.json: gguf-py's
#    dequantized values of every tensor (SHA-256) and llama-server's greedy ids on GgufFixtures.PROMPTS with its
#    top-2 log-probability gaps (on a copy with an id vocabulary, so that every step reports its probabilities,
#    with the end-of-generation ids banned).
#
# Needs the llama-cpp chroot (its setup.sh, once; root). LLAMA_CPP may point at another copy of its run.sh.
# Takes about a minute. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${LLAMA_CPP:-$(cd .. && pwd)/shared/tools/llama-cpp/run.sh}
if [ ! -x "$TOOL" ]; then
  echo "llama-cpp run.sh not found (set LLAMA_CPP=/path/to/llama-cpp/run.sh)" >&2; exit 1
fi
work=$PWD/core/target/gguf-fixtures
out=$PWD/core/src/test/resources/gguf
mkdir -p "$work" "$out"

./mvnw -B -q -pl core -am test-compile
cp_file=core/target/gguf-classpath.txt
./mvnw -B -q -pl core dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test
java -cp "core/target/test-classes:core/target/classes:$(cat "$cp_file")" io.specula.gguf.GgufFixtures "$work" \
  > "$work/fixtures.txt"

prompts='[[17,101,42,250,8,199],[3,77,5,140,61]]'   # GgufFixtures.PROMPTS
tokens=32                                            # GgufFixtures.TOKENS
while read -r name type _; do
  echo "== $name ($type)"
  "$TOOL" llama-quantize "$work/$name-f32.gguf" "$out/$name.gguf" "$type" > "$work/$name.quantize.log" 2>&1 \
    || { cat "$work/$name.quantize.log"; exit 1; }
  grep -E "^\[ *[0-9]+/ *[0-9]+\]" "$work/$name.quantize.log" | sed -E 's/ +/ /g' | cut -c1-110 || true
  banned=$(java -cp "core/target/test-classes:core/target/classes:$(cat "$cp_file")" io.specula.gguf.GgufFixtures \
    ids "$out/$name.gguf" "$work/$name-ids.gguf" 2>/dev/null | tail -1)
  cp scripts/gguf-fixtures/llamacpp_record.py "$work/llamacpp_record.py"
  "$TOOL" python3 "$work/llamacpp_record.py" "$out/$name.gguf" "$work/$name-ids.gguf" "$out/$name.llamacpp.json" \
    "$prompts" "$tokens" 2 "$banned"
  ls -l "$out/$name.gguf" "$out/$name.llamacpp.json"
done < "$work/fixtures.txt"
