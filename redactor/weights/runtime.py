"""onnxruntime sessions: TensorRT or CUDA execution providers when present, the CPU otherwise."""

from __future__ import annotations

import os
from functools import cache

import onnxruntime as ort

from redactor.weights.manifest import model_path

PREFERRED = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def providers() -> list[str]:
    wanted = os.environ.get("REDACTOR_PROVIDERS")
    available = ort.get_available_providers()
    if wanted:
        return [p for p in wanted.split(",") if p in available] or ["CPUExecutionProvider"]
    return [p for p in PREFERRED if p in available]


@cache
def onnx_session(name: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # the wheels' graphs carry unused initializers; their warnings are noise
    threads = os.environ.get("REDACTOR_THREADS")
    if threads:
        opts.intra_op_num_threads = int(threads)
    # onnxruntime's worker threads spin after each run by default, holding cores that decoding, optical flow and
    # the encoder want between runs: turned off, a 720p redact on 2 cores took 11% less time and 25% less CPU
    # (docs/decisions.md). REDACTOR_ORT_SPIN=1 turns spinning back on (a machine with cores to spare).
    if os.environ.get("REDACTOR_ORT_SPIN", "0") != "1":
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_path(name)), sess_options=opts, providers=providers())
