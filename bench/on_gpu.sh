#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one go, most important first, each step under its own
# time limit and all of them under one deadline, so that a slow step cannot take the rest
# with it:
#   1. a one-epoch run on real MNIST (the CUDA-graph training path, end to end);
#   2. the CUDA tests (tests/test_gpu.py);
#   3. bench/train_speed.py on CUDA: the notebook's loop against the engine's, with and
#      without CUDA graphs;
#   4. bench/time_to_accuracy.py on CUDA: the fast recipe (fastnet with Adam, not graphed)
#      over 5 seeds beside the notebook-style loop, the short recipe (the study's network in
#      two epochs of graphed SGD steps) over 5 seeds, then the study's recipe over 3 seeds;
#   5. smallcnn trained with TRADES (Zhang et al.'s MNIST settings: momentum 0.9, no weight
#      decay, eps 0.3, 40 steps of 0.01, beta 1; to fit a short lease, 9 epochs instead of
#      their 100, and batches of 512 at lr 0.04 instead of 128 at 0.01, the same rate per
#      image: each of the 41 passes of a batch is launch-bound), then the worst-case
#      evaluation at eps 0.3 on all 10,000 test images.
# Everything is appended to OUT/gpu.log; the home's runs (without last.pt and snapshots)
# are packed into OUT/runs.tar.
#
#   MNIST_TUI_HOME=HOME bash bench/on_gpu.sh OUT [SECONDS]
#
# PART="tests tta_fast ..." runs the steps named (smoke tests train_speed tta_fast tta_short
# tta_study study_cli trades worst); PART=speed the first seven, PART=robust the last two.
# QUICK=1 DEVICE=cpu shrinks every step to seconds: a rehearsal on a machine without a GPU.
set -u
out=${1:?usage: bash bench/on_gpu.sh OUT_DIR [SECONDS]}
deadline=$((SECONDS + ${2:-540}))
device=${DEVICE:-cuda}
py=${PYTHON:-python3}
log="$out/gpu.log"
mkdir -p "$out"
export PYTHONUNBUFFERED=1

if [ "${QUICK:-0}" = 1 ]; then
    subset=(--subset 2000) images=2000 rounds=1 seeds=0 study_seeds=0 epochs=(--epochs 1)
    ref_epochs=1 trades_epochs=1 limit=(--limit 50) queries=50 study_epochs=(--epochs 1)
else
    subset=() images=20000 rounds=3 seeds=0-4 study_seeds=0-2 epochs=() ref_epochs=4
    trades_epochs=9 limit=() queries=1000 study_epochs=()
fi

parts=${PART:-all}
case $parts in
    all) parts="smoke tests train_speed tta_fast tta_short tta_study study_cli trades worst" ;;
    speed) parts="smoke tests train_speed tta_fast tta_short tta_study study_cli" ;;
    robust) parts="trades worst" ;;
esac

step() {  # step NAME SECONDS COMMAND...: at most SECONDS, and never past the deadline
    local name=$1 limit=$2
    shift 2
    [[ " $parts " == *" ${name%_eager} "* ]] || return 0
    local left=$((deadline - SECONDS - 10))
    if [ "$left" -lt 15 ]; then
        echo "== $name: skipped, the deadline is near" | tee -a "$log"
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name ($(date +%T), at most $limit s): $*" | tee -a "$log"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$log"
    local code=${PIPESTATUS[0]}
    echo "== $name: exit $code after $((SECONDS - start)) s" | tee -a "$log"
    return "$code"
}

{
    nvidia-smi -L 2>/dev/null
    $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    echo "cores: $(nproc)"
} 2>&1 | tee -a "$log"

graphs=()
if ! step smoke 60 $py -m tui.cli train --epochs 1 "${subset[@]}" --device "$device"; then
    graphs=(--no-cuda-graphs)  # measure the rest without, and say so
    step smoke_eager 60 $py -m tui.cli train --epochs 1 "${subset[@]}" --device "$device" \
        "${graphs[@]}"
fi
step tests 120 env MNIST_TUI_TEST_DEVICE="$device" $py -m pytest tests/test_gpu.py -q \
    -p no:cacheprovider
step train_speed 80 $py bench/train_speed.py --images $images --rounds $rounds --device "$device"
step tta_fast 100 $py bench/time_to_accuracy.py --recipe fast --seeds $seeds --reference \
    --reference-epochs $ref_epochs --device "$device" "${epochs[@]}" "${graphs[@]}"
step tta_short 40 $py bench/time_to_accuracy.py --recipe short --seeds $seeds \
    --device "$device" "${epochs[@]}" "${graphs[@]}"
step tta_study 60 $py bench/time_to_accuracy.py --recipe study --seeds $study_seeds \
    --device "$device" "${epochs[@]}" "${graphs[@]}"
step study_cli 60 $py -m tui.cli train --device "$device" "${study_epochs[@]}" "${graphs[@]}"
step trades 200 $py -m tui.cli train --model smallcnn --adversarial trades --eps 0.3 \
    --adv-steps 40 --adv-step-size 0.01 --trades-beta 1 --lr 0.04 --momentum 0.9 \
    --weight-decay 0 --batch-size 512 --epochs $trades_epochs --snapshots epochs \
    --device "$device" "${subset[@]}"
step worst 80 $py -m tui.cli robustness latest --attack worst --eps 0.3 \
    --targets 3 --steps 40 --random-start --queries $queries --batch-size 10000 \
    --device "$device" "${limit[@]}"
home=$($py -c "from engine.locations import app_home; print(app_home())")
tar -C "$home" -cf "$out/runs.tar" --exclude=last.pt --exclude=snapshots --exclude=lock runs \
    2>>"$log"
echo "== done ($(date +%T))" | tee -a "$log"
