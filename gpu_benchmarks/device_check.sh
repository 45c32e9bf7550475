#!/usr/bin/env bash
# Every GPU check of issue 18 in one prepared script, under 8 minutes on a lent GPU machine (H200, 16 cores, Python
# 3.12, torch with CUDA, CuPy, onnx, CPU-only onnxruntime, no network). Run from the repository root:
#
#   bash gpu_benchmarks/device_check.sh --prepare  # here, on the CPU machine: .cache/device/{models,wheels}
#   bash gpu_benchmarks/device_check.sh            # there: writes $OUT/device_check/*.json and a log
#
# Carry to the GPU machine: .cache/device (the model weights and wheels for what it lacks: PyAV, opencv-python-
# headless, tqdm, for Python 3.12) and .cache/testdata (vtest.avi and the test photos). 64 MiB travel per call in
# all: the models are about 30 MB, PyAV about 40: if both do not fit, carry the wheels in one call and install them
# there first (pip install --user stays for the session's later calls while the machine is warm). Nothing is
# downloaded there.
#
# Steps (each under its own timeout, so one stuck step leaves the others' figures):
#   1. install from the carried wheels (--no-index), print versions and the GPU;
#   2. the GPU tests: tests/test_backends.py (the torch backend on CUDA, FP32 and FP16, against the cpu backend);
#   3. gpu_benchmarks/scale.py on a 1080p clip: decoding on the CPU and with NVDEC (REDACTOR_DECODE=nvdec, PyAV's
#      hardware acceleration; the JSON says which decoded and why not), detection at batch 1 to 32 per backend,
#      segment-parallel render, end to end `redact` against `redact --segments 8` (x264 in 8 processes); then
#      decoding and detection alone on a 4K clip.
set -u
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--prepare" ]; then
  mkdir -p .cache/device/models .cache/device/wheels
  models="${REDACTOR_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/redactor/models}"
  cp -v "$models"/*.onnx "$models"/*.json .cache/device/models/ 2>/dev/null
  python3 -m pip download -q --python-version 3.12 --only-binary=:all: --platform manylinux_2_28_x86_64 \
    -d .cache/device/wheels av opencv-python-headless tqdm || echo "some wheels could not be fetched"
  du -sh .cache/device/*
  exit 0
fi
OUT_DIR="${OUT:-/tmp}/device_check"
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/device_check.log"
exec > >(tee -a "$LOG") 2>&1
PY="${PYTHON:-python3}"
WHEELS="${DEVICE_WHEELS:-.cache/device/wheels}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export REDACTOR_MODELS="${REDACTOR_MODELS:-$PWD/.cache/device/models}"
export REDACTOR_HOME="${REDACTOR_HOME:-/tmp/redactor-device-home}"
export REDACTOR_BACKEND=torch REDACTOR_DEVICE=cuda
start=$(date +%s)
step() { echo "== $(( $(date +%s) - start )) s: $*"; }

step "1. install and versions"
if [ -d "$WHEELS" ]; then
  timeout 90 "$PY" -m pip install -q --no-index --find-links "$WHEELS" av opencv-python-headless tqdm \
    || echo "install from $WHEELS: some wheels missing (listed above)"
fi
timeout 60 "$PY" - <<'PY' | tee "$OUT_DIR/versions.json"
import json, importlib
out = {}
for m in ("torch", "cupy", "onnx", "onnxruntime", "av", "cv2", "numpy"):
    try:
        out[m] = getattr(importlib.import_module(m), "__version__", "?")
    except Exception as e:
        out[m] = f"missing: {e}"
try:
    import torch
    out["cuda"] = torch.cuda.is_available() and torch.cuda.get_device_name(0)
except Exception:
    pass
print(json.dumps(out))
PY

step "2. GPU tests"
timeout 150 "$PY" -m pytest -q -p no:cacheprovider tests/test_backends.py -rs 2>&1 | tail -15

step "3a. scale.py, 1080p"
timeout 240 "$PY" gpu_benchmarks/scale.py --json "$OUT_DIR/scale_1080p.json" --size 1920x1080 --seconds 10 \
  --frames 64 --batches 1 2 4 8 16 32 --segments 8 --sections decode detect render e2e --no-deface

step "3b. scale.py, 4K detection"
timeout 90 "$PY" gpu_benchmarks/scale.py --json "$OUT_DIR/scale_4k.json" --size 3840x2160 --frames 32 \
  --batches 1 4 8 --sections decode detect

step "done in $(( $(date +%s) - start )) s; JSON under $OUT_DIR"
