#!/bin/bash
# Regenerates every golden file under core/src/test/resources/golden/ from Hugging Face transformers itself.
#
#   scripts/regenerate-golden.sh [FIXTURE...]        (all fixtures when none is named)
#
# 1. compiles core's tests and writes each GoldenFixtures model directory under core/target/golden-fixtures/;
# 2. runs transformers on each through the shared hf-reference tool (greedy, logits, tokenize, chat) and writes
#    model.json, tokenizer.json and chat.json per fixture (io.specula.testing.RegenerateGolden).
#
# Needs the hf-reference chroot (its setup.sh, once; root). HF_REFERENCE may point at another copy of the tool's
# run.sh. About 10 s per transformers call (mostly importing torch), ~110 calls: 15-20 minutes on 2 cores.
# See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${HF_REFERENCE:-$(cd .. && pwd)/shared/tools/hf-reference/run.sh}
if [ ! -x "$TOOL" ]; then
  echo "hf-reference run.sh not found (set HF_REFERENCE=/path/to/hf-reference/run.sh)" >&2; exit 1
fi
ROOT=${HF_ORACLE_ROOT:-$HOME/.cache/hf-oracle/sid}
versions=$(ls -d "$ROOT"/usr/lib/python3/dist-packages/{transformers,torch}-*-info 2>/dev/null \
  | sed -E 's|.*/([a-z]+)-([0-9][0-9.]*[0-9]).*|\1 \2|' | sort -r | paste -sd, - | sed 's/,/, /')
reference="${versions:-transformers (hf-reference)} (CPU), float32, via shared/tools/hf-reference"

./mvnw -B -q -pl core test-compile
cp_file=core/target/golden-classpath.txt
./mvnw -B -q -pl core dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test
java -cp "core/target/test-classes:core/target/classes:$(cat "$cp_file")" io.specula.testing.RegenerateGolden \
  --tool "$TOOL" --work core/target/golden-fixtures --out core/src/test/resources/golden --reference "$reference" "$@"
