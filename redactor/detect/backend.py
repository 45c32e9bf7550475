"""One model interface, several backends behind it (issue 18).

A detector (redactor.detect.yolo, .centerface, .yunet) says how its input is made (`Prep`: resize, pad, channel
order, scale) and how its outputs are read; the backend makes the input and runs the graph, for a batch of frames of
one size at once:

- `cpu` (the default): OpenCV makes each input, onnxruntime runs the graph (TensorRT or CUDA execution providers
  when an onnxruntime-gpu build is installed: redactor.weights.runtime). A graph with a dynamic batch dimension
  (CenterFace, the plate models) runs the whole batch in one call; one fixed at 1 (YuNet, YOLOv8n COCO) is looped.
- `torch`: the frames go to the device as uint8, and the resize, pad, channel swap and scale run there (the resize
  in OpenCV's own fixed point, so that the network sees the pixels the cpu backend gives it: a float bilinear
  resize differs by a level on 9% of the pixels of a 2x upscale, and that moved YuNet's borderline faces). On CUDA the
  graph runs through torch too (redactor.detect.onnx_torch, an interpreter of the ONNX graph in torch ops: no
  onnx2torch, no onnxruntime-gpu, which do not fit a lent GPU machine), in FP16 when REDACTOR_FP16=1; on the CPU the
  prepared batch goes to onnxruntime.
- `array`: the same device-side preparation written over an array module, numpy on the CPU or CuPy on a GPU (then
  onnxruntime-gpu runs the graph, where installed).

REDACTOR_BACKEND picks one (cpu, torch, array); REDACTOR_DEVICE the torch device (default cuda when available);
REDACTOR_BATCH how many keyframes analysis hands over at once (default 1 on the CPU, 8 on a GPU).
tests/test_backends.py checks that every backend's detections are the cpu backend's (same detections at the
thresholds, boxes within 1 px).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from redactor.config import ConfigError

BACKENDS = ("cpu", "torch", "array")


@dataclass(frozen=True)
class Prep:
    """How one network input is made from a BGR uint8 frame: resized to `size` (w, h; bilinear), placed top-left on a
    `canvas` (w, h) filled with `pad`, channels RGB when `rgb`, values (0..255) times `scale`, NCHW float32."""

    size: tuple[int, int]
    canvas: tuple[int, int]
    pad: float = 0.0
    rgb: bool = False
    scale: float = 1.0


def cv2_input(image: np.ndarray, prep: Prep) -> np.ndarray:
    """The reference preparation (1, 3, h, w), as the detectors always made it."""
    w, h = prep.size
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR) if (w, h) != image.shape[1::-1] else image
    cw, ch = prep.canvas
    if (cw, ch) != (w, h):
        canvas = np.full((ch, cw, 3), prep.pad, np.uint8)
        canvas[:h, :w] = resized
    else:
        canvas = resized
    return cv2.dnn.blobFromImage(canvas, prep.scale, swapRB=prep.rgb)


def _same_size(images: Sequence[np.ndarray]) -> None:
    if len({im.shape for im in images}) > 1:
        raise ValueError("a batch holds frames of one size")


class Backend:
    name = "base"
    device = "cpu"

    def infer(self, model: str, images: Sequence[np.ndarray], prep: Prep) -> list[np.ndarray]:
        """The graph's outputs for the batch, each with the batch as its first dimension."""
        raise NotImplementedError

    def prepare(self, images: Sequence[np.ndarray], prep: Prep) -> np.ndarray:
        """The batch's network input (n, 3, h, w) float32, as a numpy array (for tests and onnxruntime)."""
        raise NotImplementedError


def _session_run(model: str, batch: np.ndarray) -> list[np.ndarray]:
    """onnxruntime over a prepared batch: one call where the graph's batch dimension is dynamic, else one a frame."""
    from redactor.weights import onnx_session

    session = onnx_session(model)
    inp = session.get_inputs()[0]
    if len(batch) == 1 or not isinstance(inp.shape[0], int):
        return session.run(None, {inp.name: batch})
    outs = [session.run(None, {inp.name: batch[i:i + 1]}) for i in range(len(batch))]
    return [np.concatenate(parts) for parts in zip(*outs, strict=True)]


class CpuBackend(Backend):
    """OpenCV preparation, onnxruntime inference: the default, and the reference the others are held to."""

    name = "cpu"

    def prepare(self, images: Sequence[np.ndarray], prep: Prep) -> np.ndarray:
        _same_size(images)
        blobs = [cv2_input(im, prep) for im in images]
        return blobs[0] if len(blobs) == 1 else np.concatenate(blobs)

    def infer(self, model: str, images: Sequence[np.ndarray], prep: Prep) -> list[np.ndarray]:
        return _session_run(model, self.prepare(images, prep))


def linear_taps(n_out: int, n_in: int, clamp_weights: bool) -> tuple[np.ndarray, ...]:
    """OpenCV's INTER_LINEAR taps for 8-bit pictures: source indices i0, i1 and 11-bit weights w0 + w1 = 2048 of a
    resize from n_in to n_out with half-pixel centres. Along x a tap outside the picture takes the edge pixel whole;
    along y the weights stand and the row index is clamped (as cv2.resize does)."""
    f = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    i0 = np.floor(f).astype(np.int64)
    f -= i0
    if clamp_weights:
        low, high = i0 < 0, i0 >= n_in - 1
        f[low | high] = 0
        i0[low], i0[high] = 0, n_in - 1
    w0 = np.round((1 - f) * 2048).astype(np.int32)
    return np.clip(i0, 0, n_in - 1), np.clip(i0 + 1, 0, n_in - 1), w0, (2048 - w0).astype(np.int32)


def _fixed_point_resize(x, taps_x, taps_y, take, shift):
    """cv2.resize INTER_LINEAR on uint8 in its own fixed point (horizontal pass in 11 bits, vertical pass as its
    SIMD path rounds), over any array library: `take(a, idx, axis)` gathers, `shift(a, n)` is a right shift.
    `x` is (n, h, w, 3) int32; the result is whole levels 0..255 (int32), equal to OpenCV's but for a few
    pixels in 10^4 by one level."""
    x0, x1, a0, a1 = taps_x
    y0, y1, b0, b1 = taps_y
    rows = take(x, x0, 2) * a0[None, None, :, None] + take(x, x1, 2) * a1[None, None, :, None]
    s0, s1 = shift(take(rows, y0, 1), 4), shift(take(rows, y1, 1), 4)
    return shift(shift(s0 * b0[None, :, None, None], 16) + shift(s1 * b1[None, :, None, None], 16) + 2, 2)


def array_input(xp, images, prep: Prep):
    """Device-side preparation over an array module (numpy, CuPy): `images` (n, h, w, 3) uint8 on that device."""
    n, h0, w0 = images.shape[:3]
    w, h = prep.size
    if (w, h) != (w0, h0):
        taps_x = [xp.asarray(t) for t in linear_taps(w, w0, True)]
        taps_y = [xp.asarray(t) for t in linear_taps(h, h0, False)]
        x = _fixed_point_resize(images.astype(xp.int32), taps_x, taps_y, lambda a, i, ax: xp.take(a, i, axis=ax),
                                lambda a, k: a >> k).astype(xp.float32)
    else:
        x = images.astype(xp.float32)
    cw, ch = prep.canvas
    canvas = xp.full((n, ch, cw, 3), prep.pad, xp.float32)
    canvas[:, :h, :w] = x
    if prep.rgb:
        canvas = canvas[..., ::-1]
    return xp.ascontiguousarray(canvas.transpose(0, 3, 1, 2) * xp.float32(prep.scale))


class ArrayBackend(Backend):
    """Preparation over numpy (CPU) or CuPy (GPU), inference through onnxruntime (its CUDA provider where the
    onnxruntime-gpu build is installed)."""

    name = "array"

    def __init__(self, xp=None) -> None:
        if xp is None:
            try:
                import cupy as xp  # noqa: PLC0415

                xp.cuda.runtime.getDeviceCount()
            except Exception:
                xp = np
        self.xp = xp
        self.device = "cpu" if xp is np else "cuda"

    def _host(self, a) -> np.ndarray:
        return a if self.xp is np else self.xp.asnumpy(a)

    def prepare(self, images: Sequence[np.ndarray], prep: Prep) -> np.ndarray:
        _same_size(images)
        batch = self.xp.asarray(np.stack(images))
        return self._host(array_input(self.xp, batch, prep))

    def infer(self, model: str, images: Sequence[np.ndarray], prep: Prep) -> list[np.ndarray]:
        return _session_run(model, self.prepare(images, prep))


class TorchBackend(Backend):
    """Preparation in torch on its device; the graph in torch on CUDA (FP16 optional), in onnxruntime on the CPU."""

    name = "torch"

    def __init__(self, device: str | None = None, fp16: bool | None = None) -> None:
        import torch  # noqa: PLC0415

        self.torch = torch
        self.device = device or os.environ.get("REDACTOR_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
        self.fp16 = (os.environ.get("REDACTOR_FP16", "0") == "1") if fp16 is None else fp16
        self._graphs: dict[str, object] = {}
        # on the CPU the graph goes to onnxruntime, unless told to run the torch interpreter there too (tests)
        self.graph_on_cpu = os.environ.get("REDACTOR_TORCH_GRAPH", "0") == "1"

    def tensor_input(self, images: Sequence[np.ndarray], prep: Prep):
        """The batch's network input as a tensor on the device: uploaded as uint8, resized there in OpenCV's fixed
        point (as the array backend), padded, channels swapped, scaled."""
        torch = self.torch
        _same_size(images)
        x = torch.from_numpy(np.stack(images)).to(self.device, non_blocking=True)  # (n, h, w, 3) uint8
        n, h0, w0 = x.shape[:3]
        w, h = prep.size
        if (w, h) != (w0, h0):
            taps_x = [torch.from_numpy(t).to(self.device) for t in linear_taps(w, w0, True)]
            taps_y = [torch.from_numpy(t).to(self.device) for t in linear_taps(h, h0, False)]
            x = _fixed_point_resize(x.to(torch.int32), taps_x, taps_y, lambda a, i, ax: a.index_select(ax, i),
                                    lambda a, k: a >> k)
        x = x.permute(0, 3, 1, 2).float()
        cw, ch = prep.canvas
        if (cw, ch) != (w, h):
            x = torch.nn.functional.pad(x, (0, cw - w, 0, ch - h), value=float(prep.pad))
        if prep.rgb:
            x = x.flip(1)
        return (x * prep.scale).contiguous()

    def prepare(self, images: Sequence[np.ndarray], prep: Prep) -> np.ndarray:
        return self.tensor_input(images, prep).cpu().numpy()

    def graph(self, model: str):
        if model not in self._graphs:
            from redactor.detect.onnx_torch import TorchGraph  # noqa: PLC0415
            from redactor.weights.manifest import model_path  # noqa: PLC0415

            self._graphs[model] = TorchGraph(model_path(model), self.device, self.fp16)
        return self._graphs[model]

    def infer(self, model: str, images: Sequence[np.ndarray], prep: Prep) -> list[np.ndarray]:
        x = self.tensor_input(images, prep)
        if self.device == "cpu" and not self.graph_on_cpu:
            return _session_run(model, x.numpy())
        with self.torch.inference_mode():
            outs = self.graph(model)(x)
        return [o.float().cpu().numpy() for o in outs]


def backend_name() -> str:
    name = os.environ.get("REDACTOR_BACKEND", "cpu").strip().lower() or "cpu"
    if name not in BACKENDS:
        raise ConfigError(f"REDACTOR_BACKEND={name!r}: one of {', '.join(BACKENDS)}")
    return name


@cache
def _backend(name: str) -> Backend:
    if name == "torch":
        try:
            return TorchBackend()
        except ImportError:
            raise ConfigError("REDACTOR_BACKEND=torch: torch is not installed (pip install torch)") from None
    if name == "array":
        return ArrayBackend()
    return CpuBackend()


def backend() -> Backend:
    """The backend REDACTOR_BACKEND names (cpu by default), one per process."""
    return _backend(backend_name())


def batch_size() -> int:
    """Keyframes handed to the detectors at once (REDACTOR_BATCH; default 1 on the CPU, 8 on a GPU)."""
    raw = os.environ.get("REDACTOR_BATCH", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            raise ConfigError(f"REDACTOR_BATCH={raw!r}: not a whole number") from None
    return 8 if backend().device != "cpu" else 1
