#!/usr/bin/env python3
"""Milliseconds per frame of every detection pass, and of decode and encode, on frames of a real clip: where the
time of `redact` goes, pass by pass, so the engine's profile can be chosen on cost as well as on recall.

usage: passes.py --clip CLIP [--frames 3] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(fn, images: list, repeat: int = 1) -> float:
    fn(images[0])  # warm-up: onnxruntime plans its memory on the first run at a size
    t = time.perf_counter()
    for _ in range(repeat):
        for image in images:
            fn(image)
    return 1000 * (time.perf_counter() - t) / (repeat * len(images))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="per-pass cost of the engine on a clip's frames")
    ap.add_argument("--clip", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from redactor.detect.centerface import CenterFace
    from redactor.detect.engine import VIDEO, AuditDetector, DetectionEngine, plate_pass_size
    from redactor.detect.yolo import Yolo
    from redactor.detect.yunet import YuNet
    from redactor.media import VideoWriter, decode, probe

    info = probe(args.clip)
    t = time.perf_counter()
    images = []
    for frame in decode(args.clip):
        images.append(frame.image)
        if len(images) >= args.frames:
            break
    rows: dict[str, float] = {"decode (bgr24)": 1000 * (time.perf_counter() - t) / len(images)}
    with tempfile.TemporaryDirectory() as tmp:
        with VideoWriter(Path(tmp) / "o.mp4", info.width, info.height, info.fps, Fraction(1, 90000)) as w:
            t = time.perf_counter()
            for _ in range(3):
                for image in images:
                    w.write(image)
        rows["encode (libx264 veryfast)"] = 1000 * (time.perf_counter() - t) / (3 * len(images))
    yunet, cf = YuNet(VIDEO.yunet_threshold), CenterFace(VIDEO.centerface_threshold)
    for s in (0.5, 1.0, 1.5, 2.0):
        rows[f"yunet x{s}"] = timed(lambda im, s=s: yunet(im, s), images)
    for s in (0.5, 1.0):
        rows[f"centerface x{s}"] = timed(lambda im, s=s: cf(im, s), images)
    coco = Yolo("coco_yolov8n", threshold=VIDEO.coco_threshold)
    rows["coco_yolov8n 640"] = timed(lambda im: coco(im, 640), images)
    # The profile's plate passes as they stand (older engines: one model at several sizes), and each at 1280 too.
    passes = getattr(VIDEO, "plate_passes", None) or tuple((VIDEO.plate_model, s) for s in VIDEO.plate_sizes)
    plate_models = {}
    # a (model, smallest, largest) pass at the size it takes on this clip's frames
    sizes = {(n, plate_pass_size(s, images[0].shape)) for n, *s in passes} | {(n, 1280) for n, *_ in passes}
    for name, size in sorted(sizes):
        model = plate_models.setdefault(name, Yolo(name, threshold=VIDEO.plate_threshold))
        rows[f"{name} {size}"] = timed(lambda im, m=model, size=size: m(im, size), images)
    audit = AuditDetector()
    rows["plate_fastanpr 640 (audit)"] = timed(lambda im: audit.plates_in(im), images)
    rows["audit detect (its face passes + fastanpr 640)"] = timed(audit.detect, images)
    engine = DetectionEngine(VIDEO)
    rows["engine VIDEO detect (all passes)"] = timed(engine.detect, images)
    print(f"{args.clip}: {info.width}x{info.height}, {len(images)} frames, ms per frame")
    print("| step | ms / frame |\n|---|---|")
    for name, ms in rows.items():
        print(f"| {name} | {ms:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"clip": str(args.clip), "size": [info.width, info.height],
                                         "ms_per_frame": {k: round(v, 1) for k, v in rows.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
