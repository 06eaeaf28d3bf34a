#!/usr/bin/env bash
# Makes target v2 and v3 for `specula adapt-bench --target-update`: the shipped target (samples/models/target),
# fine-tuned with the project's own `specula pretrain --init-from` on a shifted domain it never saw, legal text
# (Debian's /usr/share/common-licenses, present on every Debian/Ubuntu machine):
#   v2: the shipped target fine-tuned on the GNU licences (GPL-1/2/3, LGPL-2/2.1, GFDL-1.2/1.3)
#   v3: v2 fine-tuned further on the other licences (Apache-2.0, MPL-1.1/2.0, Artistic, CC0-1.0)
# The last fifth of each licence is left out of training: the bench's stream prompts come from it.
# Usage: samples/adaptive/make_target_updates.sh OUT_DIR [STEPS]   (run from the repository root, CLI built)
# Not shipped: two 50 MB models; about STEPS x 0.5 s each on an idle 2-core machine (a few minutes at load ~20).
set -euo pipefail
OUT=${1:?usage: make_target_updates.sh OUT_DIR [STEPS]}
STEPS=${2:-60}
LIC=/usr/share/common-licenses
R=$PWD
specula() { java --add-modules jdk.incubator.vector -Dai.djl.offline=true -Xmx6g -jar "${SPECULA_JAR:-$R/cli/target/specula-cli.jar}" "$@"; }
mkdir -p "$OUT"/{gnu,other}/{train,valid,stream}
split() { # licence file, domain folder: first 4/5 train (last 200 lines of it as validation), last 1/5 stream
  local f=$1 d=$2 n
  n=$(wc -l < "$LIC/$f"); local cut=$(( n * 4 / 5 ))
  head -n "$cut" "$LIC/$f" > "$d/train/$f.txt"
  head -n "$cut" "$LIC/$f" | tail -n 40 > "$d/valid/$f.txt"
  tail -n +"$(( cut + 1 ))" "$LIC/$f" > "$d/stream/$f.txt"
}
for f in GPL-1 GPL-2 GPL-3 LGPL-2 LGPL-2.1 GFDL-1.2 GFDL-1.3; do split "$f" "$OUT/gnu"; done
for f in Apache-2.0 MPL-1.1 MPL-2.0 Artistic CC0-1.0; do split "$f" "$OUT/other"; done
cat "$OUT"/gnu/stream/*.txt > "$OUT/stream-gnu.txt"
cat "$OUT"/other/stream/*.txt > "$OUT/stream-other.txt"
common=(--tokenizer samples/models/tokenizer --layers 8 --hidden 512 --intermediate 1408 --heads 8 --kv-heads 4
  --max-positions 512 --seq-len 128 --batch-size 4 --steps "$STEPS" --warmup 5 --lr 3e-4 --min-lr-ratio 0.3
  --weight-decay 0.1 --dropout 0 --clip 1.0 --seed 7 --eval-every 1000 --checkpoint-every 1000 --eval-windows 8
  --dtype float16 --export-last --threads 1)
[ -f "$OUT/target-v2/model.safetensors" ] || specula pretrain "${common[@]}" --init-from samples/models/target \
  --train "$OUT/gnu/train" --valid "$OUT/gnu/valid" --out "$OUT/target-v2"
[ -f "$OUT/target-v3/model.safetensors" ] || specula pretrain "${common[@]}" --init-from "$OUT/target-v2" \
  --train "$OUT/other/train" --valid "$OUT/other/valid" --out "$OUT/target-v3"
