#!/usr/bin/env bash
# Set up (idempotent), then run the workflow on the embedded default config, offline on CPU.
# Extra arguments go to snakemake, e.g. a single target: scripts/run.sh results/corpora/qc.json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/snakemake --cores "${CORES:-2}" "$@"
