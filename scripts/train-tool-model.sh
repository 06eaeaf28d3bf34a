#!/bin/bash
# Retrains the tiny tool-calling model the auto-configuration's ToolCallingIntegrationTests use, and writes it to
# autoconfigure/src/test/resources/tool-model/ (committed; ~400 KB in float32).
#
#   scripts/train-tool-model.sh
#
# The model learns two short conversations of a compact Hermes-style template (io.specula.autoconfigure.tools.ToolModel):
# asked for the weather in Paris with the weather tool offered, it calls the tool; given the tool's answer, it answers.
# Retrain it when WeatherTools' definition, ToolModel's template or the trainer's export changes. 250 steps of DJL
# training: a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cp_file=autoconfigure/target/tool-model-classpath.txt
# One reactor run: compiled there, core's classes and test fixtures resolve for autoconfigure (nothing installed).
./mvnw -B -q -pl core,autoconfigure test-compile dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file" \
  -Dmdep.includeScope=test
rm -rf autoconfigure/target/tool-model-work   # a fresh run, never a resumed checkpoint
java --add-modules jdk.incubator.vector -Dai.djl.offline=true \
  -cp "autoconfigure/target/test-classes:autoconfigure/target/classes:core/target/classes:core/target/test-classes:$(cat "$cp_file")" \
  io.specula.autoconfigure.tools.ToolModel autoconfigure/target/tool-model-work autoconfigure/src/test/resources/tool-model
