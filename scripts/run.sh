#!/usr/bin/env bash
# Set up (idempotent), then run the workflow on the embedded default config, offline on CPU.
# Extra arguments go to snakemake, e.g. a single target: scripts/run.sh results/corpora/qc.json
#
# Recovery after a killed run is automatic: the lock a killed Snakemake leaves is removed when no
# Snakemake runs in this directory any more, and jobs it left incomplete are run again
# (--rerun-incomplete). Config files given with --configfile are checked first, so a YAML
# syntax error names its file and line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/python -m blendtalk.config "$@"
if .venv/bin/python -m blendtalk.workdir stale-lock; then
  echo "run.sh: removing the lock left by a killed run (no snakemake runs here)"
  .venv/bin/snakemake --unlock
fi
exec .venv/bin/snakemake --cores "${CORES:-2}" --rerun-incomplete "$@"
