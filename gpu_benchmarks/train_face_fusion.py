"""Fit the face fusion model (models/face_fusion.json) on a labelled development folder.

    python gpu_benchmarks/train_face_fusion.py --data ../shared/evaldata/faces [--target-precision 0.62]

Runs the fusion passes of redactor's IMAGES profile on every image, groups their boxes, labels each group by the
scoring rule of shared/tools/score_detect.py (IoU >= 0.3 or 70% of a labelled face covered), and fits a logistic
model. Reported figures are 2-fold cross-validated by image, so they are not the training fit. The decision threshold
is the lowest whose cross-validated precision stays at or above --target-precision. Needs scikit-learn (the bench
extra); the service only needs the coefficients it writes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redactor.detect.engine import DetectionEngine, Profile  # noqa: E402
from redactor.detect.fusion import FUSION_FILE, FusionModel, Pass, features  # noqa: E402
from redactor.geometry import coverage_matrix, iou_matrix  # noqa: E402
from redactor.track.masks import head_region  # noqa: E402

PASSES = tuple(Pass(m, s, f) for f in (False, True) for m, s in
               (("centerface", 1.0), ("centerface", 2.0), ("yunet", 1.0), ("yunet", 2.0), ("yunet", 3.0)))


def matched(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(len(pred),) whether each prediction matches some labelled box by score_detect's rule."""
    if not len(gt) or not len(pred):
        return np.zeros(len(pred), bool)
    return ((iou_matrix(pred, gt) >= 0.3) | (coverage_matrix(gt, pred).T >= 0.7)).any(axis=1)


def recall_by_size(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    if not len(gt):
        return np.zeros(0, bool)
    if not len(pred):
        return np.zeros(len(gt), bool)
    return ((iou_matrix(gt, pred) >= 0.3) | (coverage_matrix(gt, pred) >= 0.7)).any(axis=1)


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--target-precision", type=float, default=0.62)
    ap.add_argument("--out", default=str(FUSION_FILE))
    ap.add_argument("--limit", type=int)
    ap.add_argument("--threshold", type=float, help="decision threshold for faces >= --small-height px "
                    "(default: the lowest whose CV precision reaches --target-precision)")
    ap.add_argument("--small-threshold", type=float, default=0.20, help="threshold under --small-height px")
    ap.add_argument("--small-height", type=float, default=16.0)
    a = ap.parse_args()
    data = Path(a.data)
    labels = json.loads((data / "labels.json").read_text())["images"]
    names = sorted(labels)[: a.limit]
    engine = DetectionEngine(Profile(fusion=False, yunet_threshold=0.3, centerface_threshold=0.05))
    fake = FusionModel(PASSES, np.zeros(1), 0.0, 0.5)
    engine.fusion = fake
    rows = []
    t0 = time.time()
    for i, name in enumerate(names):
        image = cv2.imread(str(data / name))
        persons, _ = engine.objects(image)
        heads = head_region(persons.boxes) if len(persons) else np.zeros((0, 4), np.float32)
        boxes, x = features(list(PASSES), engine.fusion_outputs(image), heads, persons.scores)
        gt = np.array([g["box"] for g in labels[name] if g["label"] == "face"], np.float32).reshape(-1, 4)
        rows.append((name, boxes, x, matched(gt, boxes), gt))
        print(f"{i + 1}/{len(names)} {name} {len(boxes)} groups ({time.time() - t0:.0f} s)", file=sys.stderr)
    rng = np.random.RandomState(0)
    fold = {n: i % 2 for i, n in enumerate(rng.permutation(names))}
    cv_prob = {}
    for f in (0, 1):
        train = [r for r in rows if fold[r[0]] != f and len(r[2])]
        model = LogisticRegression(C=1.0, max_iter=5000).fit(np.concatenate([r[2] for r in train]),
                                                             np.concatenate([r[3] for r in train]))
        for r in rows:
            if fold[r[0]] == f:
                cv_prob[r[0]] = model.predict_proba(r[2])[:, 1] if len(r[2]) else np.zeros(0)

    def figures(th: float) -> dict:
        tp = npred = 0
        buckets = {"<10": [0, 0], "10-16": [0, 0], ">=16": [0, 0]}
        for name, boxes, _, hit, gt in rows:
            keep = cv_prob[name] >= th
            tp += int(hit[keep].sum())
            npred += int(keep.sum())
            found = recall_by_size(gt, boxes[keep])
            h = gt[:, 3] - gt[:, 1]
            for key, sel in (("<10", h < 10), ("10-16", (h >= 10) & (h < 16)), (">=16", h >= 16)):
                buckets[key][0] += int(found[sel].sum())
                buckets[key][1] += int(sel.sum())
        return {"precision": round(tp / max(npred, 1), 4),
                **{f"recall{k}": round(v[0] / max(v[1], 1), 4) for k, v in buckets.items()}}

    table = {round(th, 3): figures(th) for th in np.arange(0.06, 0.4, 0.01)}
    ok = [th for th, f in table.items() if f["precision"] >= a.target_precision]
    threshold = a.threshold if a.threshold is not None else (min(ok) if ok else 0.5)
    final = LogisticRegression(C=1.0, max_iter=5000).fit(np.concatenate([r[2] for r in rows if len(r[2])]),
                                                         np.concatenate([r[3] for r in rows if len(r[2])]))
    fm = FusionModel(PASSES, final.coef_[0].astype(np.float32), float(final.intercept_[0]), float(threshold),
                     a.small_threshold, a.small_height)
    Path(a.out).write_text(json.dumps(fm.to_json({
        "fitted_on": f"{data.name}/ ({len(names)} images), 2-fold CV by image",
        "cross_validated_at_threshold": table.get(round(threshold, 3))}), indent=1) + "\n")
    for th, f in table.items():
        print(th, f, "<-" if th == threshold else "")


if __name__ == "__main__":
    main()
