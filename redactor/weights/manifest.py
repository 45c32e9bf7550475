"""The model manifest (`models/manifest.json`): which wheel each weight comes from, its sha256 and licence."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from redactor.config import settings
from redactor.errors import ModelMissing

MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.json"
FETCH_HINT = "run `redactor models fetch`"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    role: str
    package: str
    path: str
    sha256: str
    licence: str
    file: str
    fix: str | None = None

    @property
    def version(self) -> str:
        return f"{self.package}:{self.path}@{self.sha256[:12]}"


@cache
def load_manifest() -> dict[str, ModelSpec]:
    data = json.loads(MANIFEST.read_text())
    return {name: ModelSpec(name=name, **spec) for name, spec in data["models"].items()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _lock_path() -> Path:
    return settings().models_dir / "lock.json"


def read_lock() -> dict[str, dict]:
    p = _lock_path()
    return json.loads(p.read_text()) if p.exists() else {}


@cache
def _verified(path: str, expected: str) -> None:
    actual = sha256_file(Path(path))
    if actual != expected:
        raise ModelMissing(f"model file {path} is altered (sha256 {actual[:12]}..., expected {expected[:12]}...): "
                           f"{FETCH_HINT} --force")


def model_path(name: str) -> Path:
    """Path of the ready-to-load ONNX file for `name`, checked against the hash recorded when it was fetched."""
    spec = load_manifest()[name]
    path = settings().models_dir / spec.file
    if not path.exists():
        raise ModelMissing(f"model file {path} is missing: {FETCH_HINT}")
    lock = read_lock().get(name)
    if lock is None:
        raise ModelMissing(f"model file {path} was not fetched by redactor (no lock entry): {FETCH_HINT} --force")
    _verified(str(path), lock["onnx_sha256"])
    return path


def model_versions(names: list[str]) -> dict[str, str]:
    specs = load_manifest()
    return {n: specs[n].version for n in names}
