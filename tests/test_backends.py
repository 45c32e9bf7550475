"""The model interface's backends agree with the cpu backend (OpenCV preparation, onnxruntime): the same detections
at the thresholds, boxes within 1 px (issue 18). Device-side preparation is checked on the CPU through numpy (the
array backend's code, which runs on CuPy on a GPU) and through torch on the CPU where torch is installed; the torch
graph interpreter (the GPU path) is checked on the CPU against onnxruntime, and on CUDA where there is one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from redactor.detect.backend import ArrayBackend, CpuBackend, Prep, cv2_input
from redactor.detect.centerface import CenterFace
from redactor.detect.engine import VIDEO, DetectionEngine
from redactor.detect.types import LABELS, Detections
from redactor.detect.yolo import Yolo
from redactor.detect.yunet import YuNet
from redactor.geometry import iou_matrix

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (the torch backend's extra; the GPU "
                                                       "machine has it): its checks are skipped")


@pytest.fixture(scope="module")
def evaldata() -> Path:
    """evaldata's crowd photos where the checkout has them (../shared), else the test photos of .cache/testdata (a
    lent GPU machine gets the working tree and what is carried, not shared/)."""
    from conftest import EVALDATA, TESTDATA

    if (EVALDATA / "faces").is_dir():
        return EVALDATA
    if not any(TESTDATA.glob("*.jpg")):
        pytest.fail(f"no photos: neither {EVALDATA}/faces nor {TESTDATA}/*.jpg")
    return TESTDATA


def frames(evaldata: Path, n: int = 3, width: int = 640) -> list[np.ndarray]:
    """Real crowd photos, shrunk to CCTV-like sizes (one size for all, as a video's frames are)."""
    out = []
    folder = evaldata / "faces" if (evaldata / "faces").is_dir() else evaldata
    for path in sorted(folder.glob("*.jpg"))[:n]:
        image = cv2.imread(str(path))
        out.append(cv2.resize(image, (width, round(width * 9 / 16)), interpolation=cv2.INTER_AREA))
    return out


def preps(shape: tuple[int, ...]) -> list[Prep]:
    """Every input the VIDEO profile and the audit make: YuNet at 2x, CenterFace, the COCO square, plates at 640."""
    return [YuNet.prep(shape, 2.0), YuNet.prep(shape, 1.0), CenterFace.prep(shape, 1.0),
            Yolo("coco_yolov8n").prep(shape)[0], Yolo("plate_safelicensing").prep(shape, 640)[0],
            Yolo("plate_fastanpr").prep(shape, 960)[0]]


def assert_same(a: Detections, b: Detections, px: float = 1.0) -> None:
    """The same detections: per label the same count, each box of one matched (IoU >= 0.5) to one of the other,
    corners within `px`."""
    for i, label in enumerate(LABELS):
        x, y = a[a.labels == i], b[b.labels == i]
        assert len(x) == len(y), f"{label}: {len(x)} detections against {len(y)}"
        if not len(x):
            continue
        iou = iou_matrix(x.boxes, y.boxes)
        used: set[int] = set()
        for r in np.argsort(-x.scores):
            c = next((int(c) for c in np.argsort(-iou[r]) if int(c) not in used and iou[r, c] >= 0.5), None)
            assert c is not None, f"{label} at {x.boxes[r].round(1)} has no counterpart"
            used.add(c)
            assert np.abs(x.boxes[r] - y.boxes[c]).max() <= px, f"{label}: {x.boxes[r]} against {y.boxes[c]}"


def test_device_side_preparation_is_opencvs(evaldata: Path) -> None:
    """The array backend's resize (OpenCV's fixed point, over numpy here and CuPy on a GPU), pad, swap and scale give
    the network the cpu backend's input: at most one level off, on at most 1 pixel in 1000."""
    images = frames(evaldata, 2)
    cpu, arr = CpuBackend(), ArrayBackend(np)
    for prep in preps(images[0].shape):
        a, b = cpu.prepare(images, prep), arr.prepare(images, prep)
        assert a.shape == b.shape == (2, 3, prep.canvas[1], prep.canvas[0])
        diff = np.abs(a - b) / prep.scale
        assert diff.max() <= 1.0 + 1e-3, prep
        assert (diff > 1e-3).mean() <= 1e-3, prep
    # one of them really resizes (2x) and one letterboxes: the check is not of copies
    assert not np.array_equal(cv2_input(images[0], preps(images[0].shape)[0]).shape[2:], images[0].shape[:2])


def test_batched_detection_is_frame_by_frame(evaldata: Path) -> None:
    """detect_batch (each model once for the batch; one onnxruntime run where the graph's batch is dynamic) finds
    what detect finds frame by frame."""
    images = frames(evaldata, 3)
    engine = DetectionEngine(VIDEO)
    batched = engine.detect_batch(images)
    assert sum(len(d) for d in batched) > 20  # crowds: there is something to agree on
    for image, det in zip(images, batched, strict=True):
        assert_same(engine.detect(image), det, px=0.01)


def test_array_backend_detects_what_the_cpu_backend_detects(evaldata: Path) -> None:
    images = frames(evaldata, 3)
    cpu = DetectionEngine(VIDEO, CpuBackend()).detect_batch(images)
    arr = DetectionEngine(VIDEO, ArrayBackend(np)).detect_batch(images)
    for a, b in zip(cpu, arr, strict=True):
        assert_same(a, b)


@needs_torch
def test_torch_preparation_is_opencvs(evaldata: Path) -> None:
    from redactor.detect.backend import TorchBackend

    images = frames(evaldata, 2)
    cpu, tb = CpuBackend(), TorchBackend("cpu")
    for prep in preps(images[0].shape):
        diff = np.abs(cpu.prepare(images, prep) - tb.prepare(images, prep)) / prep.scale
        assert diff.max() <= 1.0 + 1e-3 and (diff > 1e-3).mean() <= 1e-3, prep


@needs_torch
def test_torch_backend_detects_what_the_cpu_backend_detects(evaldata: Path) -> None:
    """The torch backend as on a GPU (preparation and the graph both in torch: redactor.detect.onnx_torch), here on
    the CPU: the cpu backend's detections."""
    from redactor.detect.backend import TorchBackend

    images = frames(evaldata, 2)
    tb = TorchBackend("cpu")
    tb.graph_on_cpu = True
    cpu = DetectionEngine(VIDEO, CpuBackend()).detect_batch(images)
    torch_dets = DetectionEngine(VIDEO, tb).detect_batch(images)
    for a, b in zip(cpu, torch_dets, strict=True):
        assert_same(a, b)


def _cuda() -> bool:
    if not HAS_TORCH:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda(), reason="no CUDA device here (gpu_benchmarks/device_check.sh runs this on a lent GPU)")
@pytest.mark.parametrize("fp16", [False, True])
def test_gpu_backend_detects_what_the_cpu_backend_detects(evaldata: Path, fp16: bool) -> None:
    from redactor.detect.backend import TorchBackend

    images = frames(evaldata, 3)
    cpu = DetectionEngine(VIDEO, CpuBackend()).detect_batch(images)
    gpu = DetectionEngine(VIDEO, TorchBackend("cuda", fp16=fp16)).detect_batch(images)
    if not fp16:
        for a, b in zip(cpu, gpu, strict=True):
            assert_same(a, b)
        return
    # FP16: the recall that matters holds (every cpu face and plate found again within 2 px), boxes may move a bit
    for a, b in zip(cpu, gpu, strict=True):
        found = sum(len(a.with_label(label)) for label in ("face", "plate"))
        again = sum(len(b.with_label(label)) for label in ("face", "plate"))
        assert again >= 0.97 * found


def test_scale_benchmark_writes_figures_per_backend_and_batch(vtest: Path, tmp_path: Path) -> None:
    """gpu_benchmarks/scale.py's detection section, as device_check.sh runs it (here on two frames)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "scale.json"
    subprocess.run([sys.executable, str(root / "gpu_benchmarks" / "scale.py"), "--json", str(out), "--src",
                    str(vtest), "--size", "320x240", "--seconds", "1", "--frames", "2", "--batches", "1", "2",
                    "--sections", "detect"], check=True, cwd=root, capture_output=True)
    data = json.loads(out.read_text())
    rows = {(r["backend"], r["batch"]): r for r in data["detect"]}
    assert {("cpu", 1), ("cpu", 2), ("array-numpy", 1), ("array-numpy", 2)} <= set(rows)
    assert all(r["frames"] == 2 and r["fps"] > 0 for r in rows.values())
    assert data["machine"]["cpus"] >= 1
