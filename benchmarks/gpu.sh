#!/usr/bin/env bash
# Runner throughput on a GPU (bf16 autocast, channels-last), on an ImageNet-sized synthetic
# set: every annotated validation row (48,868) with ~500x375 textured JPEGs (4,000 distinct
# ones reused, so building the set takes seconds; each row is still decoded).
#   ResNet-18 size: runner images/s vs forward-only images/s on preloaded tensors (anchor)
#   light CNN (~0.4 M parameters): runner vs transformers.pipeline on 2,000 of the files (anchor)
#   the light CNN at 64 px: runner with --jpeg-draft vs the exact default (anchor), 10,000 rows
#   the sweep (benchmarks/sweep.py): 4 light models sharing a decode vs 4 evaluate runs, and
#   4 ResNet-18s vs the sum of their forward-only times, 10,000 rows
# Prints the JSON reports of benchmarks/runner.py and benchmarks/sweep.py; finishes in under
# 10 minutes on one modern GPU with 16 CPU cores. Usage: benchmarks/gpu.sh [extra runner.py options]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PY=.venv/bin/python; fi
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
timeout 420 "$PY" benchmarks/runner.py \
  --device cuda \
  --batch-size 256 \
  --forward-batches 20 \
  --images 48868 \
  --light-images 48868 \
  --unique-images 4000 \
  --pipeline-images 2000 \
  --draft-images 10000 \
  --repeats 1 \
  "$@"
# The sweep: four light models on one decode against four evaluate runs, and four ResNet-18s
# against the sum of their forward-only times (images/s per model, the share not spent in
# forward passes).
exec timeout 150 "$PY" benchmarks/sweep.py \
  --device cuda \
  --batch-size 256 \
  --forward-batches 20 \
  --images 10000 \
  --r18-images 10000 \
  --unique-images 2000 \
  --repeats 1 \
  --only shared --only r18
