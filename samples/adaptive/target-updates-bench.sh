#!/usr/bin/env bash
# The evidence runs of docs/adaptive.md on the shipped pair (samples/models): target updates while serving, and
# traffic drift. Run from the repository root with the CLI built; make the targets first:
#   samples/adaptive/make_target_updates.sh /tmp/target-updates
#   samples/adaptive/target-updates-bench.sh /tmp/target-updates updates|drift
set -euo pipefail
U=${1:?usage: target-updates-bench.sh UPDATES_DIR updates|drift}
WHAT=${2:-updates}
R=$PWD
specula() { java --add-modules jdk.incubator.vector -Dai.djl.offline=true -Xmx6g -jar "${SPECULA_JAR:-$R/cli/target/specula-cli.jar}" "$@"; }
common=(--target samples/models/target --drafter samples/models/drafter --words 8 --max-tokens 16 --draft-tokens 4
  --background-share 0.25 --update-interval PT3S --update-every 16 --steps-per-update 30 --lr 3e-4 --batch-size 8
  --window 64 --held-out 0.2 --min-held-out 48 --recovery-window 24 --recovery-requests 200)
case "$WHAT" in
  updates)  # v1 on GNU licence text, then v2 (fine-tuned on it) at request 60, then v3 on the other licences at 260
    specula adapt-bench "${common[@]}" --segment "$U/stream-gnu.txt:260" --segment "$U/stream-other.txt:240" \
      --target-update "60:$U/target-v2" --target-update "260:$U/target-v3" --svg "$U/adaptive-target-updates.svg" ;;
  drift)    # the shipped target throughout; the traffic moves from Austen to licence text, which neither model saw
    python3 - "$U" <<'PY'
import sys
u = sys.argv[1]
s = open("samples/models/corpus/valid/austen-emma.txt").read()
open(u + "/stream-austen.txt", "w").write(s)
PY
    specula adapt-bench "${common[@]}" --segment "$U/stream-austen.txt:60" --segment "$U/stream-gnu.txt:200" \
      --svg "$U/adaptive-drift.svg" ;;
  *) echo "expected updates or drift" >&2; exit 2 ;;
esac
