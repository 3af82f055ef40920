#!/usr/bin/env bash
# The paper's study on fast-simulation samples, on CPU: pretrain on CLICdet, fine-tune on few CLD
# events, compare with training from scratch on the same and on all CLD events; evaluate against
# the rule-based baseline PF on held-out CLD events. Inputs: data/ made by fastsim (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-data/study}
MODEL=${MODEL:-small}
EPOCHS=${EPOCHS:-6}
FT_EVENTS=${FT_EVENTS:-500}
FT_EPOCHS=${FT_EPOCHS:-10}
mkdir -p "$OUT"
[ -f data/cld_ttbar_val.edm4hep.root ] || $PY -m fastsim generate --detector CLD --process ttbar --ecm 365 \
    --events 500 --seed 41 --jobs 2 --output data/cld_ttbar_val.edm4hep.root
$PY -m python_trainer prepare data/cld_ttbar_val.edm4hep.root --output data/shards/cld_val --pf-collection BaselinePFOs --quiet
time $PY -m python_trainer pretrain data/shards/clic --output "$OUT/clic_pretrain" --model "$MODEL" \
    --epochs "$EPOCHS" --batch-size 16 --lr 1e-3 --quiet
time $PY -m python_trainer finetune data/shards/cld_train --from "$OUT/clic_pretrain/best.pt" --val data/shards/cld_val \
    --train-events "$FT_EVENTS" --output "$OUT/cld_finetune_$FT_EVENTS" --epochs "$FT_EPOCHS" --batch-size 16 --quiet
time $PY -m python_trainer finetune data/shards/cld_train --from "$OUT/clic_pretrain/best.pt" --val data/shards/cld_val \
    --train-events "$FT_EVENTS" --output "$OUT/cld_scratch_$FT_EVENTS" --epochs "$FT_EPOCHS" --batch-size 16 \
    --strategy scratch --lr 1e-3 --quiet
time $PY -m python_trainer pretrain data/shards/cld_train --val data/shards/cld_val --output "$OUT/cld_scratch_all" \
    --model "$MODEL" --epochs "$EPOCHS" --batch-size 16 --lr 1e-3 --quiet
for run in clic_pretrain cld_finetune_$FT_EVENTS cld_scratch_$FT_EVENTS cld_scratch_all; do
    $PY -m python_trainer evaluate "$OUT/$run/best.pt" data/shards/cld_test --output "$OUT/eval_$run" \
        --pf-name Baseline --quiet
done
echo study finished
