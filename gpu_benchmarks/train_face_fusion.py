"""Fit the face fusion model (models/face_fusion.json) on a labelled development folder.

    python gpu_benchmarks/train_face_fusion.py --data ../shared/evaldata/faces [--target-precision 0.62]
        [--fit-on all|tune] [--cache DIR] [--height-thresholds 0:0.2,10:0.15,16:0.1,32:0.3] [--merge 0.2,0.45,0.5]

Runs the fusion passes of redactor's IMAGES profile on every image, groups their boxes, labels each group by the
scoring rule of shared/tools/score_detect.py (IoU >= 0.3 or 70% of a labelled face covered), and fits a logistic
model. Reported figures are 2-fold cross-validated by image, so they are not the training fit. The decision threshold
is the lowest whose cross-validated precision stays at or above --target-precision. Needs scikit-learn (the bench
extra); the service only needs the coefficients it writes.

Issue 13: the acceptance rule written with the coefficients is a threshold by box height (--height-thresholds) and
the drop of weaker duplicates of an accepted face (--merge IOU,INSIDE,RATIO; redactor.detect.fusion.FusionModel);
both were chosen on the tuning half of the photos (make_face_clips.split_of). The figures of that rule are printed
for the cross-validated probabilities and, with --fit-on tune, for the held-out photos under the model fitted on the
tuning ones. --cache keeps each photo's pass outputs (npz), so a refit does not run the detectors again.
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

from gpu_benchmarks.make_face_clips import split_of  # noqa: E402
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


def pass_outputs(engine: DetectionEngine, image_path: Path, cache: Path | None
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """The fusion passes' (boxes, scores) and the person boxes and scores of one photo, from --cache when there."""
    f = cache / f"{image_path.name}.npz" if cache else None
    if f is not None and f.exists():
        z = np.load(f)
        return [(z[f"b{k}"], z[f"s{k}"]) for k in range(len(PASSES))], z["pb"], z["ps"]
    image = cv2.imread(str(image_path))
    persons, _ = engine.objects(image)
    outs = engine.fusion_outputs(image)
    if f is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(f, pb=persons.boxes, ps=persons.scores,
                 **{f"{k}{i}": v for i, (b, s) in enumerate(outs) for k, v in (("b", b), ("s", s))})
    return outs, persons.boxes, persons.scores


def rule_figures(rows: list, probs: dict, fm: FusionModel) -> dict:
    """Recall by face height and precision of the groups `fm.accept` keeps (heads not added)."""
    return kept_figures(rows, lambda name, boxes: fm.accept(boxes, probs[name]) if len(boxes)
                        else np.zeros(0, bool))


def kept_figures(rows: list, keep_of) -> dict:
    """Precision and recall by face height of the boxes `keep_of(name, boxes)` keeps in each photo's rows."""
    tp = npred = 0
    buckets = {"<10": [0, 0], "10-16": [0, 0], ">=16": [0, 0]}
    for name, boxes, _, hit, gt in rows:
        keep = keep_of(name, boxes)
        tp += int(hit[keep].sum())
        npred += int(keep.sum())
        found = recall_by_size(gt, boxes[keep])
        h = gt[:, 3] - gt[:, 1]
        for key, sel in (("<10", h < 10), ("10-16", (h >= 10) & (h < 16)), (">=16", h >= 16)):
            buckets[key][0] += int(found[sel].sum())
            buckets[key][1] += int(sel.sum())
    return {"precision": round(tp / max(npred, 1), 4),
            **{f"recall{k}": round(v[0] / max(v[1], 1), 4) for k, v in buckets.items()}}


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
    ap.add_argument("--height-thresholds", default="0:0.2,10:0.15,16:0.1,32:0.3",
                    help="FROM_PX:THRESHOLD,... ascending (empty: the two thresholds above)")
    ap.add_argument("--merge", default="0.2,0.45,0.5", help="IOU,INSIDE,RATIO of the duplicate drop (empty: none)")
    ap.add_argument("--fit-on", choices=["all", "tune"], default="all",
                    help="tune: fit on the tuning photos only and report the held-out ones")
    ap.add_argument("--cache", type=Path, help="folder for each photo's pass outputs (reused when there)")
    a = ap.parse_args()
    data = Path(a.data)
    labels = json.loads((data / "labels.json").read_text())["images"]
    names = sorted(labels)[: a.limit]
    held_names = [n for n in names if split_of(n) == "held"] if a.fit_on == "tune" else []
    names = [n for n in names if n not in held_names]
    height_thresholds = tuple((float(lo), float(t)) for lo, t in (x.split(":") for x in a.height_thresholds.split(","))
                              ) if a.height_thresholds else None
    merge = [float(v) for v in a.merge.split(",")] if a.merge else None
    engine = DetectionEngine(Profile(fusion=False, yunet_threshold=0.3, centerface_threshold=0.05))
    fake = FusionModel(PASSES, np.zeros(1), 0.0, 0.5)
    engine.fusion = fake
    rows, held_rows = [], []
    t0 = time.time()
    for i, name in enumerate(names + held_names):
        outs, pb, ps = pass_outputs(engine, data / name, a.cache)
        heads = head_region(pb) if len(pb) else np.zeros((0, 4), np.float32)
        boxes, x = features(list(PASSES), outs, heads, ps)
        gt = np.array([g["box"] for g in labels[name] if g["label"] == "face"], np.float32).reshape(-1, 4)
        (rows if i < len(names) else held_rows).append((name, boxes, x, matched(gt, boxes), gt))
        print(f"{i + 1}/{len(names) + len(held_names)} {name} {len(boxes)} groups ({time.time() - t0:.0f} s)",
              file=sys.stderr)
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
        return kept_figures(rows, lambda name, boxes: cv_prob[name] >= th)

    table = {round(th, 3): figures(th) for th in np.arange(0.06, 0.4, 0.01)}
    ok = [th for th, f in table.items() if f["precision"] >= a.target_precision]
    threshold = a.threshold if a.threshold is not None else (min(ok) if ok else 0.5)
    final = LogisticRegression(C=1.0, max_iter=5000).fit(np.concatenate([r[2] for r in rows if len(r[2])]),
                                                         np.concatenate([r[3] for r in rows if len(r[2])]))
    fm = FusionModel(PASSES, final.coef_[0].astype(np.float32), float(final.intercept_[0]), float(threshold),
                     a.small_threshold, a.small_height, height_thresholds,
                     *(merge if merge else (None, 1.0, 0.0)))
    extra = {"fitted_on": f"{data.name}/ ({len(names)} images{', tuning split' if held_names else ''}), "
                          "2-fold CV by image",
             "cross_validated_at_threshold": table.get(round(threshold, 3)),
             "cross_validated_rule": rule_figures(rows, cv_prob, fm)}
    if held_rows:
        extra["held_out_rule"] = rule_figures(held_rows, {r[0]: fm.probability(r[2]) for r in held_rows}, fm)
    Path(a.out).write_text(json.dumps(fm.to_json(extra), indent=1) + "\n")
    for th, f in table.items():
        print(th, f, "<-" if th == threshold else "")
    print("acceptance rule, cross-validated:", extra["cross_validated_rule"])
    if held_rows:
        print(f"acceptance rule, {len(held_rows)} held-out photos:", extra["held_out_rule"])


if __name__ == "__main__":
    main()
