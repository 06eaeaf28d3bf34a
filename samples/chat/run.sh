#!/usr/bin/env bash
# Builds what the chat sample needs (tests skipped) and starts it on http://localhost:8080/.
#   samples/chat/run.sh [--server.port=8081] [--spring.ai.specula.chat.temperature=0 ...]
# The model pair is read from samples/models/{target,drafter}; SPECULA_SAMPLE_MODELS=DIR points at another pair
# (DIR/target and DIR/drafter). JVM options: SPECULA_JAVA_OPTS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

models=${SPECULA_SAMPLE_MODELS:-$root/samples/models}
if [[ ! -f "$models/target/config.json" ]]; then
  echo "run.sh: no model in $models/target (config.json missing)." >&2
  echo "        Set SPECULA_SAMPLE_MODELS to a directory with target/ and drafter/, or pass" >&2
  echo "        --spring.ai.specula.target=DIR --spring.ai.specula.drafter=DIR|ngram" >&2
fi

# The adaptive drafter trains with DJL's PyTorch engine: with adaptation on, the jar is built with it (-Padaptive).
profile=()
for arg in "$@"; do
  if [[ $arg == --spring.ai.specula.adaptive.enabled=true ]]; then profile=(-Padaptive); fi
done
(cd "$root" && ./mvnw -B -q -pl samples/chat -am -DskipTests "${profile[@]}" package)

# application.yml resolves the pair relative to this directory (../models)
cd "$here"
export SPECULA_SAMPLE_MODELS="$models"
# glibc gives threads that allocate at the same time arenas of their own (up to 8 per core), each keeping memory freed
# in it; the JVM's compiler threads and the native tokenizer allocate that way. Two arenas bound that count on large
# machines; on 2 cores the soak measured the same drift either way (docs/operations.md, "Soak run").
# MALLOC_ARENA_MAX= (empty) leaves glibc's default.
arenas=${MALLOC_ARENA_MAX-2}
if [[ -n "$arenas" ]]; then export MALLOC_ARENA_MAX="$arenas"; else unset MALLOC_ARENA_MAX; fi
# The Vector API is an incubator module on Java 17 (fast CPU kernels); DJL must never download libtorch.
exec java --add-modules jdk.incubator.vector -Dai.djl.offline=true ${SPECULA_JAVA_OPTS:-} \
  -jar target/specula-sample-chat.jar "$@"
