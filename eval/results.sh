#!/usr/bin/env bash
# Regenerate the raw numbers behind eval/RESULTS.md: every dataset in ../shared/datasets ×
# every embedding backend × all three modes. Writes eval/out/<set>.json (results) and
# eval/out/<set>.tests.md (paired tests) and eval/out/<set>.commit (code state); eval/out/ is not versioned.
# Summarise with: .venv/bin/kbassist eval summary eval/out
set -euo pipefail
cd "$(dirname "$0")/.."
DATASETS=${DATASETS:-../shared/datasets}
mkdir -p eval/out
for name in ${SETS:-banking77 clinc150 stackfaq tianchi_covid_qq bq_intents baoxianzhidao}; do
    dir="$DATASETS/$name"
    { git rev-parse --short HEAD; git status --short indexer/; } >"eval/out/$name.commit"
    .venv/bin/kbassist eval run --dataset "$dir" --backend "${BACKENDS:-use-multilingual,sentence-transformers,ensemble}" \
        --modes dense,lexical,hybrid --limit 1000 --seed 13 --json \
        --plot "eval/out/$name.png" >"eval/out/$name.json" 2>"eval/out/$name.tests.md"
    echo "$name done"
done
