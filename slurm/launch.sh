# Shared body of the array templates (sourced by cuda/frontier/local.sbatch, not run alone).
# Picks this array task's line of the manifest, launches `rsbench run` with srun in the
# background and forwards SLURM's preemption warning (`#SBATCH --signal=B:USR1@N`, or
# `scancel --batch --signal=USR1`) to it: the fine-tune saves its state, requeues the job and
# stops; the requeued job resumes from that state (rsbench/engine/resume.py). No --quiet: the
# job log keeps rsbench's lines (what runs, each score, "resumed from", the requeue), and a log
# file is not a terminal, so no progress bar is drawn into it.
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$RSBENCH_MANIFEST")
if [ -z "$line" ]; then
  echo "[rsbench] no line $((SLURM_ARRAY_TASK_ID + 1)) in $RSBENCH_MANIFEST" >&2
  exit 2
fi
IFS=$'\t' read -r CARD TASK SEED <<< "$line"
# One intra-op thread per allocated core: srun leaves torch at its own default, while Lightning's
# launcher sets cores / processes, and CPU results depend on the thread count.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"
echo "[rsbench] job ${SLURM_JOB_ID} (restart ${SLURM_RESTART_COUNT:-0}): $CARD $TASK seed $SEED" >&2
srun --kill-on-bad-exit=1 "${SRUN_ARGS[@]}" "$RSBENCH" run --model "$CARD" --tasks "$TASK" \
  --seeds "$SEED" --out "$RSBENCH_RESULTS" --data-root "$RSBENCH_DATA_ROOT" \
  --cache-dir "$RSBENCH_CACHE_DIR" --precision "$RSBENCH_PRECISION" --accelerator "$ACCELERATOR" \
  --strategy "${RSBENCH_STRATEGY:-auto}" --devices "${SLURM_NTASKS_PER_NODE:-1}" \
  --num-nodes "${SLURM_NNODES:-1}" "${EXTRA_ARGS[@]}" &
pid=$!
warned=0
trap 'warned=1; echo "[rsbench] USR1 received: forwarding to srun $pid" >&2; kill -USR1 "$pid"' USR1
status=0
while true; do
  wait "$pid" && status=0 || status=$?
  kill -0 "$pid" 2>/dev/null || break  # still running: a trapped signal interrupted wait
done
# A fine-tune saves, requeues itself and exits 0; a protocol without checkpoints dies on USR1:
# requeue it here, and the seed runs again from the start.
if [ "$warned" = 1 ] && [ "$status" != 0 ]; then
  job=${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}
  echo "[rsbench] run ended by the warning (exit $status): scontrol requeue ${job:-$SLURM_JOB_ID}" >&2
  scontrol requeue "${job:-$SLURM_JOB_ID}"
fi
exit "$status"
