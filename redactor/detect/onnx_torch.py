"""Run an ONNX graph with torch ops (the GPU path of redactor.detect.backend's torch backend).

The lent GPU machine has torch and onnx but only the CPU build of onnxruntime, and onnxruntime-gpu or TensorRT do not
fit what may be carried to it (issue 18). The detectors' graphs use a few dozen plain operators (convolutions,
activations, resizes, reshapes, the YOLO head's split and softmax), so they are interpreted here node by node in
torch eager mode: no converter (onnx2torch) to install, the same file the CPU runs. Initialisers are moved to the
device once, in FP16 when asked (the inputs are cast to match; the outputs come back as float32 tensors).

A Reshape of a feature map (3 or more dimensions, batch first) whose target starts with a literal 1 (YuNet and
YOLOv8n COCO were exported for batch 1) takes the batch of its input instead, so those graphs run a batch too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

_DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64}


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(p: list[int]) -> tuple[list[int], bool]:
    """ONNX pads (begin..., end...) as symmetric conv padding where they are, else as an F.pad list."""
    n = len(p) // 2
    begin, end = p[:n], p[n:]
    if begin == end:
        return begin, True
    out = []
    for b, e in zip(reversed(begin), reversed(end), strict=True):
        out += [b, e]
    return out, False


class TorchGraph:
    def __init__(self, path: str | Path, device: str = "cuda", fp16: bool = False) -> None:
        model = onnx.load(str(path))
        self.graph = model.graph
        self.device = torch.device(device)
        self.dtype = torch.float16 if fp16 else torch.float32
        self.consts: dict[str, torch.Tensor] = {}
        for init in self.graph.initializer:
            self.consts[init.name] = self._tensor(numpy_helper.to_array(init))
        inits = {i.name for i in self.graph.initializer}
        self.inputs = [i.name for i in self.graph.input if i.name not in inits]
        self.outputs = [o.name for o in self.graph.output]
        self._batch = 1

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.array(a, copy=True)).to(self.device)
        return t.to(self.dtype) if t.is_floating_point() else t

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        env = dict(self.consts)
        env[self.inputs[0]] = x.to(self.device, self.dtype)
        self._batch = x.shape[0]
        for node in self.graph.node:
            args = [env[name] if name else None for name in node.input]
            out = getattr(self, f"op_{node.op_type}")(node, _attrs(node), *args)
            outs = out if isinstance(out, (list, tuple)) else [out]
            for name, value in zip(node.output, outs, strict=False):
                env[name] = value
        return [env[name].float() if env[name].is_floating_point() else env[name] for name in self.outputs]

    # --- operators -------------------------------------------------------------------------------------------

    def op_Conv(self, node, a, x, w, b=None):
        pads, sym = _pads(list(a.get("pads", [0] * (2 * (w.dim() - 2)))))
        if not sym:
            x, pads = F.pad(x, pads), 0
        return F.conv2d(x, w, b, stride=a.get("strides", 1), padding=pads, dilation=a.get("dilations", 1),
                        groups=a.get("group", 1))

    def op_ConvTranspose(self, node, a, x, w, b=None):
        pads = list(a.get("pads", [0, 0, 0, 0]))
        return F.conv_transpose2d(x, w, b, stride=a.get("strides", 1), padding=pads[: len(pads) // 2],
                                  output_padding=a.get("output_padding", 0), groups=a.get("group", 1),
                                  dilation=a.get("dilations", 1))

    def op_BatchNormalization(self, node, a, x, scale, bias, mean, var):
        return F.batch_norm(x, mean, var, scale, bias, training=False, eps=a.get("epsilon", 1e-5))

    def op_MaxPool(self, node, a, x):
        pads, sym = _pads(list(a.get("pads", [0, 0, 0, 0])))
        if not sym:
            x, pads = F.pad(x, pads, value=float("-inf")), 0
        return F.max_pool2d(x, a["kernel_shape"], a.get("strides", 1), pads, ceil_mode=bool(a.get("ceil_mode", 0)))

    def op_Relu(self, node, a, x):
        return torch.relu(x)

    def op_Sigmoid(self, node, a, x):
        return torch.sigmoid(x)

    def op_Add(self, node, a, x, y):
        return x + y

    def op_Sub(self, node, a, x, y):
        return x - y

    def op_Mul(self, node, a, x, y):
        return x * y

    def op_Div(self, node, a, x, y):
        if not x.is_floating_point() and not y.is_floating_point():
            return torch.div(x, y, rounding_mode="trunc")
        return x / y

    def op_Softmax(self, node, a, x):
        return torch.softmax(x, dim=a.get("axis", -1))

    def op_Concat(self, node, a, *xs):
        return torch.cat(xs, dim=a["axis"])

    def op_Transpose(self, node, a, x):
        return x.permute(*a["perm"])

    def op_Reshape(self, node, a, x, shape):
        target = [int(v) for v in shape.tolist()]
        target = [x.shape[i] if v == 0 else v for i, v in enumerate(target)]
        if self._batch > 1 and len(target) >= 3 and target[0] == 1 and x.dim() >= 3 and x.shape[0] == self._batch:
            target[0] = x.shape[0]
        return x.reshape(target)

    def op_Split(self, node, a, x, split=None):
        axis = a.get("axis", 0)
        sizes = [int(v) for v in split.tolist()] if split is not None else a.get("split")
        if sizes is None:
            n = len(node.output)
            sizes = [x.shape[axis] // n] * n
        return torch.split(x, sizes, dim=axis)

    def op_Slice(self, node, a, x, starts, ends, axes=None, steps=None):
        starts, ends = starts.tolist(), ends.tolist()
        axes = axes.tolist() if axes is not None else list(range(len(starts)))
        steps = steps.tolist() if steps is not None else [1] * len(starts)
        index = [slice(None)] * x.dim()
        for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
            dim = x.shape[ax]
            s, e = max(-dim, min(dim, s)), max(-dim - 1, min(dim, e))
            index[ax] = slice(s, e, st)
        return x[tuple(index)]

    def op_Resize(self, node, a, x, roi=None, scales=None, sizes=None):
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if sizes is not None and sizes.numel():
            size = [int(v) for v in sizes.tolist()[2:]]
        else:
            size = [int(d * s) for d, s in zip(x.shape[2:], scales.tolist()[2:], strict=True)]
        if mode == "nearest":
            return F.interpolate(x, size=size, mode="nearest")
        ct = a.get("coordinate_transformation_mode", b"half_pixel")
        ct = ct.decode() if isinstance(ct, bytes) else ct
        return F.interpolate(x, size=size, mode="bilinear", align_corners=ct == "align_corners")

    def op_Shape(self, node, a, x):
        return torch.tensor(list(x.shape), dtype=torch.int64, device=self.device)

    def op_Gather(self, node, a, x, idx):
        axis = a.get("axis", 0) % x.dim()
        picked = torch.index_select(x, axis, idx.reshape(-1).long() % x.shape[axis])
        return picked.reshape((*x.shape[:axis], *idx.shape, *x.shape[axis + 1:]))

    def op_Unsqueeze(self, node, a, x, axes=None):
        axes = axes.tolist() if axes is not None else a["axes"]
        for ax in sorted(v % (x.dim() + len(axes)) for v in axes):
            x = x.unsqueeze(ax)
        return x

    def op_Cast(self, node, a, x):
        dtype = _DTYPES[a["to"]]
        if dtype.is_floating_point:
            dtype = self.dtype
        return x.to(dtype)

    def op_ConstantOfShape(self, node, a, shape):
        value = a.get("value")
        v = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
        return self._tensor(np.full([int(s) for s in shape.tolist()], v.reshape(-1)[0], v.dtype))

    def op_Expand(self, node, a, x, shape):
        target = [int(s) for s in shape.tolist()]
        out_dim = max(x.dim(), len(target))
        xs = [1] * (out_dim - x.dim()) + list(x.shape)
        ts = [1] * (out_dim - len(target)) + target
        return x.reshape(xs).expand([max(p, q) for p, q in zip(xs, ts, strict=True)])

    def op_Range(self, node, a, start, limit, delta):
        return torch.arange(start.item(), limit.item(), delta.item(), device=self.device, dtype=start.dtype)

    def op_Constant(self, node, a):
        return self._tensor(numpy_helper.to_array(a["value"]))
