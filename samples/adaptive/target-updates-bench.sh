#!/usr/bin/env bash
# The evidence runs of docs/adaptive.md on the shipped pair (samples/models): target updates while serving, traffic
# drift, and what the background trainer costs serving. Run from the repository root with the CLI built; make the
# targets first:
#   samples/adaptive/make_target_updates.sh /tmp/target-updates
#   samples/adaptive/target-updates-bench.sh /tmp/target-updates updates|updates-runs|drift|cost
#
#   updates       one run (prompts shuffled within each segment with SHUFFLE, default 1; trainer seed SEED, default 5)
#   updates-runs  the recovery measure as docs/adaptive.md states it: three runs (shuffles 1, 2, 3; seeds 5, 6, 7);
#                 per update the median of the three "recovered" figures decides the 80% goal
#   drift         the shipped target throughout; the traffic moves from Austen to licence text
#   cost          the trainer's cost on serving: the shipped target on the GNU stream, the static engine alone and the
#                 adaptive engine (with its background trainer) alone, in separate JVMs, alternating, PAIRS times
#                 (default 3); compare the median tokens/s lines (at load 5-9 two such runs differed by up to 50%)
#   cost-blocks   the same in one JVM: the adaptive engine alone, its trainer paused in every other block of 20
#                 requests; prints the "trainer cost" line (two runs, shuffles 1 and 2)
set -euo pipefail
U=${1:?usage: target-updates-bench.sh UPDATES_DIR updates|updates-runs|drift|cost|cost-blocks}
WHAT=${2:-updates}
R=$PWD
specula() { java --add-modules jdk.incubator.vector -Dai.djl.offline=true -Xmx6g -jar "${SPECULA_JAR:-$R/cli/target/specula-cli.jar}" "$@"; }
# Judged on at least 128 held-out positions (8 requests of 16 tokens), 48-request windows for the recovery lines:
# both chosen before the runs that report them (the earlier runs used 48 positions and 24-request windows, too few).
common=(--target samples/models/target --drafter samples/models/drafter --words 8 --max-tokens 16 --draft-tokens 4
  --background-share 0.25 --update-interval PT3S --update-every 16 --steps-per-update 30 --lr 3e-4 --batch-size 8
  --window 64 --held-out 0.2 --min-held-out 128 --recovery-window 48 --recovery-requests 200)
updates() { # v1 on GNU licence text, then v2 (fine-tuned on it) at request 60, then v3 on the other licences at 260
  specula adapt-bench "${common[@]}" --shuffle "$1" --seed "$2" --segment "$U/stream-gnu.txt:260" \
    --segment "$U/stream-other.txt:240" --target-update "60:$U/target-v2" --target-update "260:$U/target-v3" \
    --svg "$U/adaptive-target-updates-$1.svg"
}
case "$WHAT" in
  updates) updates "${SHUFFLE:-1}" "${SEED:-5}" ;;
  updates-runs)
    for k in 1 2 3; do echo "== run $k: --shuffle $k --seed $((4 + k)); $(uptime)"; updates "$k" "$((4 + k))"; done
    echo "== end: $(uptime)" ;;
  drift)    # the shipped target throughout; the traffic moves from Austen to licence text, which neither model saw
    python3 - "$U" <<'PY'
import sys
u = sys.argv[1]
s = open("samples/models/corpus/valid/austen-emma.txt").read()
open(u + "/stream-austen.txt", "w").write(s)
PY
    specula adapt-bench "${common[@]}" --shuffle 1 --segment "$U/stream-austen.txt:60" \
      --segment "$U/stream-gnu.txt:200" --svg "$U/adaptive-drift.svg" ;;
  cost)
    for k in $(seq 1 "${PAIRS:-3}"); do
      for e in static adaptive; do
        echo "== pair $k, $e engine alone: $(uptime)"
        specula adapt-bench "${common[@]}" --shuffle 1 --engines "$e" --segment "$U/stream-gnu.txt:200" \
          | grep -E '^(target |stream-gnu|all )'
      done
    done
    echo "== end: $(uptime)" ;;
  cost-blocks)
    for k in 1 2; do
      echo "== run $k: $(uptime)"
      # the common options with updates every 0.2 s instead of 3 s (picocli refuses an option given twice)
      specula adapt-bench "${common[@]/PT3S/PT0.2S}" --shuffle "$k" --engines adaptive \
        --pause-blocks 20 --segment "$U/stream-gnu.txt:260" | grep -E '^(target |all |trainer cost)'
    done
    echo "== end: $(uptime)" ;;
  *) echo "expected updates, updates-runs, drift, cost or cost-blocks" >&2; exit 2 ;;
esac
