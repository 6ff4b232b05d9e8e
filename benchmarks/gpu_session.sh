#!/usr/bin/env bash
# The GPU measurements BENCHMARKS.md lacks, as one script that fits a short device lease
# (about 10 minutes of commands on one GPU). Run from the repository root with the project's
# environment built (make test or make demo did it):
#
#     bash benchmarks/gpu_session.sh [OUT_DIR] [PEAK_BF16_TFLOPS]
#
# OUT_DIR (default $OUT, else gpu_results) receives one JSON file per measurement and the
# environment: GPU, driver, torch, NCCL. PEAK_BF16_TFLOPS is the GPU's dense bf16 peak for the
# fraction-of-peak column (989 for an H100/H200 SXM; 383 per MI250X GCD). Each step has its own
# time limit, so one that hangs costs only its share; later steps still run. STEPS (a
# space-separated list of step names) runs only those, to split the session over commands
# shorter than a lease's per-command limit:
#
#     STEPS="frozen_bf16 decode vitl_ddp_fsdp" bash benchmarks/gpu_session.sh "$OUT" 989
#     STEPS="vith_ddp_fsdp vit3b_fsdp probe_heads" bash benchmarks/gpu_session.sh "$OUT" 989
set -u
OUT_DIR=${1:-${OUT:-gpu_results}}
PEAK=${2:-989}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT_DIR"

"$PY" - > "$OUT_DIR/environment.json" <<'EOF'
import json, torch
print(json.dumps({"gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                  "devices": torch.cuda.device_count(), "torch": torch.__version__,
                  "cuda": torch.version.cuda, "hip": torch.version.hip,
                  "nccl": ".".join(map(str, torch.cuda.nccl.version())) if torch.cuda.is_available() else None}))
EOF

step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2; shift 2
    if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then return; fi
    echo "== $name (limit ${limit}s)"
    timeout "$limit" "$@" > "$OUT_DIR/$name.log" 2>&1
    echo "   exit $? ($(tail -c 300 "$OUT_DIR/$name.log" | tr '\n' ' ' | cut -c1-200))"
}

# bf16 frozen feature pass: images/s, TFLOP/s and the fraction of the peak (ViT-L, 1B, 3B).
step frozen_bf16 150 "$PY" benchmarks/loader_throughput.py --no-decode --batches 5 \
    --arch vit_large_patch16 vit_1b_patch14 vit_3b_patch14 --peak-tflops "$PEAK"
# Decode throughput of this node's CPUs against those rates.
step decode 90 "$PY" benchmarks/loader_throughput.py --workers 0 4 8 --arch vit_large_patch16 \
    --peak-tflops "$PEAK"
# DDP vs FSDP2 fine-tune throughput and memory, ViT-L and ViT-H (one GPU: the plan replicates).
step vitl_ddp_fsdp 150 "$PY" benchmarks/fsdp_throughput.py --arch vit_large_patch16 \
    --warmup 3 --steps 10 --out "$OUT_DIR/vitl.json"
step vith_ddp_fsdp 180 "$PY" benchmarks/fsdp_throughput.py --arch vit_huge_patch14 \
    --warmup 3 --steps 10 --out "$OUT_DIR/vith.json"
# A ViT-3B fine-tune step under FSDP2 with activation checkpointing (batch 8).
step vit3b_fsdp 180 "$PY" benchmarks/fsdp_throughput.py --arch vit_3b_patch14 --strategies fsdp \
    --batch-size 8 --activation-checkpointing --warmup 2 --steps 5 --out "$OUT_DIR/vit3b.json"
# The probe heads on this node's CPU cores: the 6-value grid over 31,500 x 1,024 features for
# 90 epochs (one lane per head), on 2 cores as BENCHMARKS.md's target states, and every seed's
# heads at once against one seed after another (3 seeds, with refits).
step probe_heads 150 bash -c "taskset -c 0,1 $PY benchmarks/suite_cost.py heads --threads 2 \
    && $PY benchmarks/suite_cost.py heads \
    && $PY benchmarks/probe_heads.py --epochs 90 --seeds 3 --refit --modes batched per_seed"
echo "results in $OUT_DIR"
