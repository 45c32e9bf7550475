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


def on_accelerator() -> bool:
    return providers()[0] != "CPUExecutionProvider"


@cache
def frame_workers() -> int:
    """How many frames the engine works on at once (REDACTOR_WORKERS; default: on the CPU, one per core up to 4;
    on a GPU, 2, so that one frame's pre- and post-processing overlaps the other's inference). On the CPU, two
    frames at once with one onnxruntime thread each did 16% more frames per second on 2 cores than one frame with
    two threads (docs/decisions.md): a model's layers do not split evenly over threads, frames do."""
    wanted = os.environ.get("REDACTOR_WORKERS")
    if wanted:
        return max(1, int(wanted))
    if on_accelerator():
        return 2
    return max(1, min(4, len(os.sched_getaffinity(0))))


def intra_op_threads() -> int:
    """onnxruntime threads per run (REDACTOR_THREADS; default: the cores shared out among the frame workers)."""
    wanted = os.environ.get("REDACTOR_THREADS")
    if wanted:
        return max(1, int(wanted))
    return max(1, len(os.sched_getaffinity(0)) // frame_workers())


@cache
def onnx_session(name: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # the wheels' graphs carry unused initializers; their warnings are noise
    opts.intra_op_num_threads = intra_op_threads()
    # onnxruntime's worker threads spin after each run by default, holding cores that decoding, optical flow and
    # the encoder want between runs: turned off, a 720p redact on 2 cores took 11% less time and 25% less CPU
    # (docs/decisions.md). REDACTOR_ORT_SPIN=1 turns spinning back on (a machine with cores to spare).
    if os.environ.get("REDACTOR_ORT_SPIN", "0") != "1":
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_path(name)), sess_options=opts, providers=providers())
