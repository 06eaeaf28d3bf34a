#!/bin/bash
# Makes the Gemma 3 and Phi-3 GGUF fixtures under core/src/test/resources/gguf/ with llama.cpp's own converter
# (committed: CI does not run llama.cpp).
#
#   scripts/make-converted-gguf-fixtures.sh
#
# 1. compiles core's tests; io.specula.gguf.ConvertedGgufFixtures writes each fixture's tiny seeded Hugging Face
#    directory under core/target/converted-gguf-fixtures/;
# 2. scripts/gguf-fixtures/sentencepiece_model.py writes a tokenizer.model with the pieces of its tokenizer.json: the
#    converter's Gemma 3 and Phi-3 classes read the vocabulary from tokenizer.model (or, for a GPT2Tokenizer, hash
#    the BPE pre-tokenizer and refuse one it does not know, as any tiny test tokenizer); for the same reason the
#    Phi-4-mini copy's tokenizer_config.json names LlamaTokenizer. Only the vocabulary the converter writes sees
#    these; tensors and hyperparameters are converted from the directory as it is;
# 3. llama.cpp's convert_hf_to_gguf.py (shared/tools/llama-cpp, `run.sh convert`) writes NAME.gguf at the
#    checkpoint's precision (--outtype f16/bf16);
# 4. for the fixtures llama.cpp computes as transformers does (Gemma 3), scripts/gguf-fixtures/llamacpp_record.py
#    (as make-gguf-fixtures.sh runs it, on an id-vocabulary copy) records llama-server's greedy ids on the fixture's
#    prompt with its top-2 log-probability gaps, and gguf-py's tensor hashes, in NAME.llamacpp.json.
#
# Needs the llama-cpp chroot (its setup.sh, once; root). LLAMA_CPP may point at another copy of its run.sh.
# Takes about a minute. See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${LLAMA_CPP:-$(cd .. && pwd)/shared/tools/llama-cpp/run.sh}
if [ ! -x "$TOOL" ]; then
  echo "llama-cpp run.sh not found (set LLAMA_CPP=/path/to/llama-cpp/run.sh)" >&2; exit 1
fi
work=$PWD/core/target/converted-gguf-fixtures
out=$PWD/core/src/test/resources/gguf
mkdir -p "$work" "$out"

./mvnw -B -q -pl core -am test-compile
cp_file=core/target/gguf-classpath.txt
./mvnw -B -q -pl core dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test
java -cp "core/target/test-classes:core/target/classes:$(cat "$cp_file")" io.specula.gguf.ConvertedGgufFixtures \
  "$work" > "$work/fixtures.txt"

cp scripts/gguf-fixtures/sentencepiece_model.py scripts/gguf-fixtures/llamacpp_record.py "$work/"
while read -r name outtype prompt banned; do
  echo "== $name ($outtype)"
  "$TOOL" python3 "$work/sentencepiece_model.py" "$work/$name"
  sed -i -E 's/"tokenizer_class": ?"GPT2Tokenizer"/"tokenizer_class":"LlamaTokenizer"/' "$work/$name/tokenizer_config.json"
  "$TOOL" convert "$work/$name" --outtype "$outtype" --outfile "$out/$name.gguf" > "$work/$name.convert.log" 2>&1 \
    || { tail -20 "$work/$name.convert.log"; exit 1; }
  if [ "$banned" != - ]; then
    java -cp "core/target/test-classes:core/target/classes:$(cat "$cp_file")" io.specula.gguf.GgufFixtures ids \
      "$out/$name.gguf" "$work/$name-ids.gguf" > /dev/null
    "$TOOL" python3 "$work/llamacpp_record.py" "$out/$name.gguf" "$work/$name-ids.gguf" "$out/$name.llamacpp.json" \
      "[$prompt]" 40 1 "$banned"
  fi
  ls -l "$out/$name".*
done < "$work/fixtures.txt"
