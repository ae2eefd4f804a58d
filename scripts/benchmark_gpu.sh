#!/usr/bin/env bash
# The GPU measurements of docs/PERFORMANCE.md on one GPU, in five parts of
# under 10 minutes each; every JSON goes to $OUT (default: bench_out/).
#
#   bash scripts/benchmark_gpu.sh baseline   # flops, roofline, latency, infer/train 32,64
#   bash scripts/benchmark_gpu.sh variants   # shifted upsampling; fp32
#   bash scripts/benchmark_gpu.sh inference  # BatchNorm folded; released config
#   bash scripts/benchmark_gpu.sh memory     # batch 128: plain, then model.remat
#   bash scripts/benchmark_gpu.sh profile    # trace of train steps at batch 64 + HLO
#
# Then, anywhere: python scripts/perf_table.py $OUT/*.json  (markdown table
# with the reference's figures and the ratios, for docs/PERFORMANCE.md).
#
# Packages a GPU image may lack (ml_collections) can be put as wheels in .whl/
# (`make gpu-wheels` where pip has an index); they are installed to /tmp/site.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
# H100 SXM datasheet peaks: 989 TFLOP/s dense bf16, 3.35 TB/s HBM3 (MFU and
# the roofline floor use them; an H100 measured 798 and 3.0, docs/PERFORMANCE.md).
PEAKS="--peak_tflops=${PEAK_TFLOPS:-989} --peak_tbps=${PEAK_TBPS:-3.35}"
bench() { python3 benchmark.py $PEAKS "$@"; }

case "${1:-}" in
  baseline)
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem \
        --format=csv | tee "$OUT/gpu.csv"
    bench --config=configs/default.py --what=flops,roofline,latency,infer,train \
        --batch_sizes=32,64 --out="$OUT/baseline.json"
    ;;
  variants)
    bench --config=configs/default.py --config.model.upsample=shifted \
        --what=latency,infer,train --batch_sizes=64 --out="$OUT/shifted.json"
    bench --config=configs/default.py --dtype=float32 --what=latency,train \
        --batch_sizes=32 --out="$OUT/fp32.json"
    ;;
  inference)
    bench --config=configs/default.py --config.model.fold_bn=True \
        --what=roofline,latency,infer --batch_sizes=64,128 --out="$OUT/fold_bn.json"
    bench --config=configs/released.py --what=latency,infer --batch_sizes=64 \
        --out="$OUT/released.json"
    ;;
  memory)
    bench --config=configs/default.py --what=train --batch_sizes=128 \
        --out="$OUT/batch128.json" || echo "batch 128 without remat failed"
    bench --config=configs/default.py --config.model.remat=True --what=train \
        --batch_sizes=64,128 --out="$OUT/remat.json"
    ;;
  profile)
    XLA_FLAGS="${XLA_FLAGS:-} --xla_dump_to=/tmp/hlo --xla_dump_hlo_as_text" \
        bench --config=configs/default.py --what=train --batch_sizes=64 \
        --iters=5 --profile_dir=/tmp/profile --out="$OUT/profile.json"
    tar -czf "$OUT/profile.tgz" -C /tmp profile
    tar -czf "$OUT/hlo.tgz" -C /tmp hlo --exclude='*.ll' --exclude='*.ptx'
    ;;
  *)
    sed -n '2,14p' "$0"
    exit 2
    ;;
esac
