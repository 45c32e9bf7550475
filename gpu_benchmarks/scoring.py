"""Scoring detections against labels, by the rule of ../shared/tools/score_detect.py (kept identical; a test checks
that both give the same figures on the same predictions).

A labelled box counts as found when a predicted box of the same label has IoU >= 0.3 with it or covers at least 70%
of its area. A prediction counts as true when it matches some labelled box of its label by the same rule. Size is the
box height for faces and the box width for plates; a labelled box falls in the bucket of its own size, a prediction in
the bucket of its own size (so a bucket's precision is that of the boxes predicted at that size)."""

from __future__ import annotations

import numpy as np

# The buckets issue 7 asks for: faces under 16 px, 16-32 px, over 32 px; plates by width.
BUCKETS: dict[str, list[tuple[float, float]]] = {
    "face": [(0, 16), (16, 32), (32, float("inf"))],
    "plate": [(0, 24), (24, 48), (48, 96), (96, float("inf"))],
}
IOU_MIN = 0.3
COVER_MIN = 0.7


def bucket_name(lo: float, hi: float) -> str:
    return f">{int(lo)}" if hi == float("inf") else (f"<{int(hi)}" if lo == 0 else f"{int(lo)}-{int(hi)}")


def box_size(label: str, boxes: np.ndarray) -> np.ndarray:
    return boxes[:, 3] - boxes[:, 1] if label == "face" else boxes[:, 2] - boxes[:, 0]


def match_matrix(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(len(gt), len(pred)) booleans: IoU >= 0.3 or the prediction covers >= 70% of the labelled box."""
    if len(gt) == 0 or len(pred) == 0:
        return np.zeros((len(gt), len(pred)), bool)
    w = np.minimum(gt[:, None, 2], pred[None, :, 2]) - np.maximum(gt[:, None, 0], pred[None, :, 0])
    h = np.minimum(gt[:, None, 3], pred[None, :, 3]) - np.maximum(gt[:, None, 1], pred[None, :, 1])
    inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
    area_g = np.maximum(gt[:, 2] - gt[:, 0], 0.0) * np.maximum(gt[:, 3] - gt[:, 1], 0.0)
    area_p = np.maximum(pred[:, 2] - pred[:, 0], 0.0) * np.maximum(pred[:, 3] - pred[:, 1], 0.0)
    union = area_g[:, None] + area_p[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
        cover = inter / np.maximum(area_g, 1e-9)[:, None]
    return (inter > 0) & ((iou >= IOU_MIN) | (cover >= COVER_MIN))


def _boxes(items: list[dict], label: str) -> np.ndarray:
    return np.array([d["box"] for d in items if d.get("label") == label], np.float64).reshape(-1, 4)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def score(labels: dict, preds: dict) -> dict:
    """{label: {recall, found, labelled, precision, true, predicted, by_size: {bucket: {...}}}} for every label in
    `labels`; both arguments are {"images": {file: [{"label", "box"}]}}."""
    limgs, pimgs = labels["images"], preds.get("images", {})
    out: dict = {}
    for label in sorted({g["label"] for gs in limgs.values() for g in gs}):
        buckets = BUCKETS.get(label, [(0, float("inf"))])
        found = total = tp = npred = 0
        per = {bucket_name(*b): [0, 0, 0, 0] for b in buckets}  # found, labelled, true, predicted
        for name, gts in limgs.items():
            g = _boxes(gts, label)
            p = _boxes(pimgs.get(name, []), label)
            m = match_matrix(g, p)
            hit = m.any(axis=1)
            true = m.any(axis=0)
            found += int(hit.sum())
            total += len(g)
            tp += int(true.sum())
            npred += len(p)
            for lo, hi in buckets:
                k = per[bucket_name(lo, hi)]
                gs, ps = box_size(label, g), box_size(label, p)
                ing, inp = (gs >= lo) & (gs < hi), (ps >= lo) & (ps < hi)
                k[0] += int(hit[ing].sum())
                k[1] += int(ing.sum())
                k[2] += int(true[inp].sum())
                k[3] += int(inp.sum())
        out[label] = {"recall": _ratio(found, total), "found": found, "labelled": total,
                      "precision": _ratio(tp, npred), "true": tp, "predicted": npred,
                      "by_size": {b: {"recall": _ratio(v[0], v[1]), "found": v[0], "labelled": v[1],
                                      "precision": _ratio(v[2], v[3]), "predicted": v[3]} for b, v in per.items()}}
    out["missing_images"] = sum(1 for f in limgs if f not in pimgs)
    return out
