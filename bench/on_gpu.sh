#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one go, most important first, each step under its own
# time limit and all of them under one deadline, so that a slow step cannot take the rest
# with it:
#   1. the CUDA tests (tests/test_gpu.py);
#   2. bench/train_speed.py on CUDA (the engine's loop against the notebook's);
#   3. the full evaluation of a defended RUN on all 10,000 test images, Square Attack
#      included, on the GPU;
#   4. bench/robust_eval.py on CUDA (training images/s per defence against standard; our
#      `worst` against torchattacks' AutoAttack);
#   5. a study of long FGSM-RS runs trained at once on the GPU, each then evaluated.
# Everything is appended to OUT/gpu.log; the home's studies and runs (without last.pt)
# are packed into OUT/runs.tar.
#
#   MNIST_TUI_HOME=HOME bash bench/on_gpu.sh OUT RUN [SECONDS]
#
# QUICK=1 DEVICE=cpu shrinks every step to seconds: a rehearsal on a machine without a GPU.
set -u
out=${1:?usage: bash bench/on_gpu.sh OUT_DIR RUN [SECONDS]}
run=${2:?usage: bash bench/on_gpu.sh OUT_DIR RUN [SECONDS]}
deadline=$((SECONDS + ${3:-560}))
device=${DEVICE:-cuda}
py=${PYTHON:-python3}
log="$out/gpu.log"
mkdir -p "$out"
export PYTHONUNBUFFERED=1

if [ "${QUICK:-0}" = 1 ]; then
    images=2000 rounds=1 limit=50 batches=3 epochs=2 few=(--limit 20) square=(--queries 50)
    study=(--subset 2000)
else
    images=20000 rounds=3 limit=500 batches=60 epochs=60 few=() square=() study=()
fi

step() {  # step NAME SECONDS COMMAND...: at most SECONDS, and never past the deadline
    local name=$1 limit=$2
    shift 2
    local left=$((deadline - SECONDS - 10))
    if [ "$left" -lt 20 ]; then
        echo "== $name: skipped, the deadline is near" | tee -a "$log"
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name ($(date +%T), at most $limit s): $*" | tee -a "$log"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$log"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s" | tee -a "$log"
}

{
    nvidia-smi -L 2>/dev/null
    $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    echo "cores: $(nproc)"
} 2>&1 | tee -a "$log"

step tests 120 env MNIST_TUI_TEST_DEVICE="$device" $py -m pytest tests/test_gpu.py -q \
    -p no:cacheprovider
step train_speed 90 $py bench/train_speed.py --images $images --rounds $rounds --device "$device"
step worst_10k 200 $py -m tui.cli robustness "$run" --attack worst --eps 0.3 --targets 3 \
    --steps 40 --random-start --batch-size 10000 --device "$device" "${few[@]}" "${square[@]}"
step robust_eval 120 $py bench/robust_eval.py "$run" --limit $limit --train-batches $batches \
    --device "$device"
step study 240 $py -m tui.cli study fgsm-long --adversarial fgsm-rs --epochs $epochs \
    --seeds 0-1 --device "$device" "${study[@]}"
ids=$($py -c "from engine.studies import load_study; from engine.locations import app_home
print(*load_study(app_home(), 'fgsm-long').runs.values())" 2>>"$log")
for id in $ids; do
    step "worst_$id" 90 $py -m tui.cli robustness "$id" --attack worst --eps 0.3 --targets 3 \
        --steps 40 --random-start --queries 0 --batch-size 10000 --device "$device" "${few[@]}"
done
home=$($py -c "from engine.locations import app_home; print(app_home())")
tar -C "$home" -cf "$out/runs.tar" --exclude=last.pt --exclude=lock studies runs 2>>"$log"
echo "== done ($(date +%T))" | tee -a "$log"
