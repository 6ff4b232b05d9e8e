#!/bin/bash
# Cron entry point: plan tonight's refresh of a suite and submit it (array + leaderboard job).
#   crontab: 0 1 * * *  /path/to/rsbench/slurm/nightly.sh >> $HOME/rsbench-nightly.log 2>&1
# Settings (environment, with defaults): RSBENCH_SUITE (classification), RSBENCH_MODELS (models/),
# RSBENCH_RESULTS (results/), RSBENCH_TEMPLATE (cuda | frontier), RSBENCH_WORK (slurm_runs/),
# RSBENCH_DATA_ROOT (data/), RSBENCH_CACHE_DIR (.rsbench_cache/), RSBENCH (rsbench executable).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
RSBENCH=${RSBENCH:-$root/.venv/bin/rsbench}
suite=${RSBENCH_SUITE:-classification}
out=${RSBENCH_WORK:-$root/slurm_runs}/$suite/$(date -u +%Y%m%dT%H%M%SZ)
exec "$RSBENCH" slurm plan --suite "$suite" --models "${RSBENCH_MODELS:-$root/models}" \
  --results "${RSBENCH_RESULTS:-$root/results}" --out "$out" \
  --template "${RSBENCH_TEMPLATE:-cuda}" --data-root "${RSBENCH_DATA_ROOT:-$root/data}" \
  --cache-dir "${RSBENCH_CACHE_DIR:-$root/.rsbench_cache}" \
  --leaderboard-out "${RSBENCH_LEADERBOARD_OUT:-$root/leaderboards/$suite}" \
  --rsbench "$RSBENCH" --submit
