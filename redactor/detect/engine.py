"""The detection engine: several passes of several models, merged, recall first.

No single pass finds enough faces (MODELS.md; docs/decisions.md has the measurements that chose these passes): YuNet
runs on upscaled copies of the frame for the 10-16 px faces, CenterFace adds the side-on and blurred ones, and the
head of every person box with no face in it is reported as a face (`source: head`) for the 8-10 px faces no face
model finds. Plates come from the YOLOv8 plate model at two input sizes; persons and vehicles from YOLOv8n COCO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from redactor.detect.backend import Backend, backend
from redactor.detect.centerface import CenterFace
from redactor.detect.fusion import features, load_fusion
from redactor.detect.nms import nms
from redactor.detect.types import LABEL_ID, Detections
from redactor.detect.yolo import COCO_PERSON, COCO_VEHICLES, Yolo
from redactor.detect.yunet import YuNet
from redactor.geometry import coverage_matrix, iou_matrix
from redactor.track.masks import head_region
from redactor.weights.manifest import model_versions


@dataclass(frozen=True)
class Profile:
    """Which passes run. `images` is the full-accuracy profile of `redactor detect`; `video` trades a little of it
    for speed, because tracking over frames and padding in time buy back what one frame misses."""

    yunet_scales: tuple[float, ...] = (1.0, 2.0)
    yunet_flip: bool = False
    yunet_threshold: float = 0.6
    centerface_scales: tuple[float, ...] = (1.0,)
    centerface_flip: bool = False
    centerface_threshold: float = 0.3
    face_merge_iou: float = 0.4
    # Faces taller than `large_face_height` px need `large_face_score`: the low thresholds are for small faces, and
    # YuNet on a 2x upscale or CenterFace at 0.15 fire on clothing and drums with boxes of 100-300 px (one frame
    # each), which masked a fifth of the picture on a crowd clip. Real faces that large score 0.7-0.95.
    large_face_height: float = 1e9
    large_face_score: float = 0.0
    coco_threshold: float = 0.25
    heads: bool = True
    head_min_person_score: float = 0.35
    head_max_height: float = 1e9  # report heads only where a face would be this small (px) or smaller
    fusion: bool = False  # decide faces with the fitted fusion model (models/face_fusion.json) over its passes
    # (model, letterbox size) passes: both plate models, and 1280 for plates under ~24 px wide in a large frame.
    # A pass (model, smallest, largest) runs on the frame at its own size, its long side held between the two
    # (plate_pass_size).
    plate_passes: tuple[tuple[str, int] | tuple[str, int, int], ...] = (("plate_safelicensing", 640),
                                                                        ("plate_fastanpr", 960))
    plate_threshold: float = 0.2
    # Video only: the passes run on every `stride`-th frame (and at every cut, and on the last frame); tracks are
    # interpolated between these keyframes and padded in time by the stride (redactor.track.masks).
    stride: int = 1
    extra: dict = field(default_factory=dict)


IMAGES = Profile(fusion=True, yunet_threshold=0.3, centerface_threshold=0.05, head_max_height=24.0,
                 plate_passes=(("plate_safelicensing", 640), ("plate_safelicensing", 1280), ("plate_fastanpr", 1280),
                               ("plate_korean", 640), ("plate_korean", 1280)))
# Plates in video (issue 13, docs/decisions.md): safelicensing at 640 and the Korean fine-tune of it on the frame at
# its own size, at least 960 and at most 1600 (a one-line plate 13 px high in a 1080p frame is lost at 640, and a
# blue plate 25 px high is found at 1600 but not at 960 or 1280); the audit keeps fastanpr, a different detector.
VIDEO_PLATE_PASSES: tuple[tuple[str, int] | tuple[str, int, int], ...] = (("plate_safelicensing", 640),
                                                                          ("plate_korean", 960, 1600))
# Chosen on a labelled panning clip over crowd photos (docs/decisions.md): YuNet at 2x and CenterFace at 1.5x with
# low thresholds; tracking, gap filling and padding in time take care of the rest.
# Heads are reported as faces only up to 32 px (as render masks them from person boxes): larger heads without a
# face are turned away, and their masks were most of the collateral and covered kept requesters (docs/decisions.md).
# Issue 13: on unseen clips (gpu_benchmarks/make_face_clips.py, tuning split) the thresholds 0.4 / 0.15 left 15% of
# the 10-16 px faces and half of those under 10 px unfound on a keyframe; 0.3 / 0.1 find 0.93 and 0.71 of them for no
# extra pass (docs/decisions.md, "Video recall on unseen clips").
VIDEO = Profile(yunet_scales=(2.0,), yunet_threshold=0.3, centerface_scales=(1.0,), centerface_threshold=0.1,
                head_max_height=32.0, large_face_height=64.0, large_face_score=0.6,
                plate_passes=VIDEO_PLATE_PASSES, stride=4)


class DetectionEngine:
    def __init__(self, profile: Profile, runner: Backend | None = None) -> None:
        """`runner`: the backend the models run on (redactor.detect.backend; default REDACTOR_BACKEND's, cpu)."""
        self.profile = profile
        self.backend = runner = runner or backend()
        self.fusion = load_fusion() if profile.fusion else None
        self.yunet = YuNet(threshold=profile.yunet_threshold, runner=runner)
        self.centerface = CenterFace(threshold=profile.centerface_threshold, runner=runner)
        self.coco = Yolo("coco_yolov8n", threshold=profile.coco_threshold, runner=runner)
        self.plates = {name: Yolo(name, threshold=profile.plate_threshold, runner=runner)
                       for name, *_ in profile.plate_passes}

    @classmethod
    def for_images(cls) -> DetectionEngine:
        return cls(IMAGES)

    @classmethod
    def for_video(cls) -> DetectionEngine:
        """The VIDEO profile; REDACTOR_STRIDE overrides its stride (how `--stride` reaches segment processes)."""
        import os

        stride = os.environ.get("REDACTOR_STRIDE", "").strip()
        return cls(replace(VIDEO, stride=max(1, int(stride))) if stride.isdigit() else VIDEO)

    def versions(self) -> dict[str, str]:
        return model_versions(["face_yunet", "face_centerface", "coco_yolov8n", *sorted(self.plates)])

    def params(self) -> dict:
        return asdict(self.profile)

    def fusion_outputs(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        models = {"yunet": self.yunet, "centerface": self.centerface}
        out = []
        for ps in self.fusion.passes:
            model = models[ps.model]
            out.append(_run_flipped(model, image, ps.scale) if ps.flip else model(image, ps.scale))
        return out

    def fused_faces(self, image: np.ndarray, persons: Detections) -> Detections:
        heads = head_region(persons.boxes) if len(persons) else np.zeros((0, 4), np.float32)
        boxes, x = features(list(self.fusion.passes), self.fusion_outputs(image), heads, persons.scores)
        if not len(boxes):
            return Detections.empty()
        prob = self.fusion.probability(x)
        keep = self.fusion.accept(boxes, prob)
        return Detections.of(boxes[keep], prob[keep], "face", "fusion")

    def faces(self, image: np.ndarray, persons: Detections | None = None) -> Detections:
        if self.fusion is not None:
            return self.fused_faces(image, persons if persons is not None else self.objects(image)[0])
        return self._merge_faces(self._face_passes([image])[0])

    def _face_passes(self, images: Sequence[np.ndarray]) -> list[list[tuple[np.ndarray, np.ndarray, str]]]:
        """Every face pass of the profile over a batch of frames: per frame, (boxes, scores, model) per pass."""
        p = self.profile
        out: list[list[tuple[np.ndarray, np.ndarray, str]]] = [[] for _ in images]
        for model, scales, flip, name in ((self.yunet, p.yunet_scales, p.yunet_flip, "yunet"),
                                          (self.centerface, p.centerface_scales, p.centerface_flip, "centerface")):
            if model is None:
                continue
            for s in scales:
                for flipped in (False, True) if flip else (False,):
                    results = _batch_flipped(model, images, s) if flipped else model.batch(images, s)
                    for parts, (b, sc, *_) in zip(out, results, strict=True):
                        parts.append((b, sc, name))
        return out

    def _merge_faces(self, passes: list[tuple[np.ndarray, np.ndarray, str]]) -> Detections:
        p = self.profile
        if not passes:
            return Detections.empty()
        b = np.concatenate([x[0] for x in passes])
        sc = np.concatenate([x[1] for x in passes])
        sources = [name for boxes, _, name in passes for _ in range(len(boxes))]
        plausible = ((b[:, 3] - b[:, 1]) <= p.large_face_height) | (sc >= p.large_face_score)
        b, sc, sources = b[plausible], sc[plausible], [src for src, ok in zip(sources, plausible, strict=True) if ok]
        keep = nms(b, sc, p.face_merge_iou)
        return Detections(b[keep], sc[keep], np.zeros(len(keep), np.int16), sources=tuple(sources[i] for i in keep))

    def objects(self, image: np.ndarray) -> tuple[Detections, Detections]:
        return self._objects(self.coco(image))

    @staticmethod
    def _objects(result) -> tuple[Detections, Detections]:
        b, s, c = result
        person = c == COCO_PERSON
        vehicle = np.isin(c, COCO_VEHICLES)
        return Detections.of(b[person], s[person], "person", "coco"), Detections.of(b[vehicle], s[vehicle],
                                                                                    "vehicle", "coco")

    def plates_in(self, image: np.ndarray) -> Detections:
        return self._plates_batch([image])[0]

    def _plates_batch(self, images: Sequence[np.ndarray]) -> list[Detections]:
        if not self.plates:
            return [Detections.empty() for _ in images]
        runs = [self.plates[name].batch(images, plate_pass_size(sizes, images[0].shape))
                for name, *sizes in self.profile.plate_passes]
        out = []
        for i in range(len(images)):
            b = np.concatenate([run[i][0] for run in runs])
            s = np.concatenate([run[i][1] for run in runs])
            keep = nms(b, s, 0.4)
            out.append(Detections.of(b[keep], s[keep], "plate", "plate"))
        return out

    def detect(self, image: np.ndarray) -> Detections:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """`detect` over several frames, each model run once for the batch (redactor.detect.backend: one graph run
        where its batch dimension is dynamic). Frames of different sizes, and the fusion profile, go one by one."""
        if not len(images):
            return []
        if self.fusion is not None or len({im.shape for im in images}) > 1:
            return [self._detect_one(im) for im in images] if len(images) > 1 else [self._detect_one(images[0])]
        objects = [self._objects(r) for r in self.coco.batch(images)]
        faces = [self._merge_faces(parts) for parts in self._face_passes(images)]
        plates = self._plates_batch(images)
        return [self._assemble(f, pl, *ob) for f, pl, ob in zip(faces, plates, objects, strict=True)]

    def _detect_one(self, image: np.ndarray) -> Detections:
        persons, vehicles = self.objects(image)
        return self._assemble(self.faces(image, persons), self.plates_in(image), persons, vehicles)

    def _assemble(self, faces: Detections, plates: Detections, persons: Detections, vehicles: Detections
                  ) -> Detections:
        parts = [faces, plates, persons, vehicles]
        if self.profile.heads:
            parts.append(heads_without_faces(persons, faces, self.profile.head_min_person_score,
                                             self.profile.head_max_height))
        return Detections.merge(parts)


def plate_pass_size(sizes: Sequence[int], shape: tuple[int, ...]) -> int:
    """The letterbox size of a plate pass on a frame of `shape`: (size,) is fixed; (smallest, largest) is the
    frame's own long side held between the two, so that a large frame is shrunk less than to a fixed size."""
    if len(sizes) == 1:
        return int(sizes[0])
    smallest, largest = sizes
    return int(min(max(max(shape[:2]), smallest), largest))


def heads_without_faces(persons: Detections, faces: Detections, min_score: float,
                        max_height: float = 1e9) -> Detections:
    """The head region of each confident person box that holds no detected face (and, for still images, only
    where the head is too small for a face model: a large head without a face is usually seen from behind)."""
    persons = persons[persons.scores >= min_score]
    if not len(persons):
        return Detections.empty()
    heads = head_region(persons.boxes)
    small = (heads[:, 3] - heads[:, 1]) <= max_height
    heads, persons = heads[small], persons[small]
    if not len(persons):
        return Detections.empty()
    if len(faces):
        covered = coverage_matrix(faces.boxes, heads).max(axis=0) >= 0.5
        heads, scores = heads[~covered], persons.scores[~covered]
    else:
        scores = persons.scores
    return Detections.of(heads, scores, "face", "head")


def _batch_flipped(model, images: Sequence[np.ndarray], scale: float) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for image, (b, s, *_) in zip(images, model.batch([np.ascontiguousarray(im[:, ::-1]) for im in images], scale),
                                 strict=True):
        b = b.copy()
        b[:, [0, 2]] = image.shape[1] - b[:, [2, 0]]
        out.append((b, s))
    return out


def _run_flipped(model, image: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    w = image.shape[1]
    b, s = model(np.ascontiguousarray(image[:, ::-1]), scale)
    b = b.copy()
    b[:, [0, 2]] = w - b[:, [2, 0]]
    return b, s


# The audit's face passes: (model, scale, mirrored, threshold[, threshold for boxes AUDIT_SPLIT px and taller]). None
# of them is a pass of the VIDEO profile (YuNet at 2x, CenterFace at 1x, unmirrored), so the audit sees each frame
# through other eyes: YuNet at 1.5x, YuNet on the mirrored frame at 1x, and CenterFace on the mirrored frame at 1x.
# Issue 13, part 3 (docs/decisions.md, "The audit as a second opinion"): chosen on tuning clips only (make_face_clips
# tuning variants and two make_clip.py-default clips over tuning photos), every 3rd/6th frame, the audit alone: adding
# CenterFace mirrored at 0.2 took the acceptance-kind tuning clip from 0.76 / 0.93 (10-16 px / >= 16 px) to 0.79 /
# 0.98 for 7 false boxes a frame instead of 5; at 0.12 (last session's, which did not settle in `redact`) 13, at 0.08
# for small boxes 18. Per-height thresholds (YuNet 0.25 under 16 px) bought 0.01 for 13% more false boxes: not used.
# Cost at 960x540: 217 -> 325 CPU-ms a frame with the plate pass (1.5x). Before: YuNet 1.5x + mirrored 1x at 0.3
# (0.52 / 0.88 on held-out frames); CenterFace 1x at 0.5 before that.
AUDIT_FACE_PASSES: tuple[tuple, ...] = (("yunet", 1.5, False, 0.3), ("yunet", 1.0, True, 0.3),
                                        ("centerface", 1.0, True, 0.2))
# fastanpr at 960, not 640 (2026-12-01): on 960x540 street clips made by shared/tools/make_clip.py over held-out
# plate photos, the audit alone at 640 found 0.87 of one clip's plates (US plates 54x26 px), at 960 1.000 of all three;
# on the painted Korean held-out clips 960 found as many or more (0.90 -> 0.95, 0.95 -> 1.00; every 6th frame).
AUDIT_PLATE_PASSES: tuple[tuple[str, int], ...] = (("plate_fastanpr", 960),)
AUDIT_SPLIT = 16.0  # px: a face pass with two thresholds applies the first to boxes under this height


# Findings beside the masks (issue 13). A mask paints a flat block whose straight edges frame patches of the picture
# next to it, and the audit's low thresholds take some of them for faces: in `redact` each re-mask round's findings
# were new ones next to the masks just painted (docs/decisions.md), and a stronger audit never settled. So a face
# finding that touches a flat mask but lies mostly off the masks is looked at again on a crop around it, with the
# masks there painted in the crop's own mean colour (the mask's edge gone, the picture beside it untouched); it stands
# only if the same passes find it again. A real face next to a mask is still all there on the crop and is found again.
EDGE_PAD = 0.5  # a finding "touches" a mask when its box, grown by this share of its size each side, meets one
# A finding this much under one mask, but not EDGE_UNDER_MASK, is not re-checked: a face half out of a lagging mask
# must stand (it is re-masked). One EDGE_UNDER_MASK or more under a flat mask is the block itself (nothing under a
# flat block can be seen): on faces_0, CenterFace at 0.2 scored solid re-masks 0.21-0.35, the findings lay 0.9 under
# the re-masks of the round before and the clip was refused as persisting (191 -> 17 findings, one round).
EDGE_ON_MASK = 0.5
EDGE_UNDER_MASK = 0.9
EDGE_CROP = 1.0  # the crop: the finding's box grown by this share of its size each side (at least EDGE_MIN_CROP px)
EDGE_MIN_CROP = 64
# A mask region whose pixels spread more than this (grey levels, standard deviation) is not painted over: it is not
# the flat block render paints there (a face pasted after the masks, a mosaic or blur style), and what is on it stays
# for the audit to see (fail closed: tests/test_video_recall.py, a face visible after every re-mask).
EDGE_FLAT_STD = 6.0


class AuditDetector:
    """The second opinion on a rendered clip: face passes the masks were not driven by (AUDIT_FACE_PASSES), and the
    other plate model (fastanpr's weights, AUDIT_PLATE_PASSES) for plates. Faces taller than 64 px need 0.6, as in
    the video profile (large texture boxes at low thresholds). `beside_masks` re-checks the face findings next to
    the masks of a rendered frame."""

    def __init__(self, face_passes: tuple[tuple, ...] = AUDIT_FACE_PASSES,
                 plate_threshold: float = 0.35,
                 plate_passes: tuple[tuple[str, int], ...] = AUDIT_PLATE_PASSES) -> None:
        self.face_passes = face_passes
        floors = {m: min(min(p[3:]) for p in face_passes if p[0] == m) for m, *_ in face_passes}
        self.models = {}
        if "yunet" in floors:
            self.models["yunet"] = YuNet(threshold=floors["yunet"])
        if "centerface" in floors:
            self.models["centerface"] = CenterFace(threshold=floors["centerface"])
        self.plate_passes = plate_passes
        self.plate_models = {name: Yolo(name, threshold=plate_threshold) for name, _ in plate_passes}

    def plates_in(self, image: np.ndarray) -> Detections:
        boxes, scores = [], []
        for name, size in self.plate_passes:
            b, s, _ = self.plate_models[name](image, size)
            boxes.append(b)
            scores.append(s)
        if not boxes:
            return Detections.empty()
        b, s = np.concatenate(boxes), np.concatenate(scores)
        keep = nms(b, s, 0.4)
        return Detections.of(b[keep], s[keep], "plate", "audit")

    def faces(self, image: np.ndarray) -> Detections:
        """Every face pass; a pass (model, scale, mirrored, threshold[, threshold at SPLIT px and over]) keeps boxes
        under AUDIT_SPLIT px high at its first threshold and taller ones at its last."""
        boxes, scores = [], []
        for model, scale, flip, *thresholds in self.face_passes:
            m = self.models[model]
            b, s = _run_flipped(m, image, scale) if flip else m(image, scale)
            keep = s >= np.where(b[:, 3] - b[:, 1] < AUDIT_SPLIT, thresholds[0], thresholds[-1])
            boxes.append(b[keep])
            scores.append(s[keep])
        b, s = np.concatenate(boxes), np.concatenate(scores)
        plausible = ((b[:, 3] - b[:, 1]) <= VIDEO.large_face_height) | (s >= VIDEO.large_face_score)
        b, s = b[plausible], s[plausible]
        keep = nms(b, s, 0.4)
        return Detections.of(b[keep], s[keep], "face", "audit")

    def detect(self, image: np.ndarray) -> Detections:
        return Detections.merge([self.faces(image), self.plates_in(image)])

    def beside_masks(self, image: np.ndarray, dets: Detections, masks: np.ndarray) -> np.ndarray:
        """Which of `dets` (found on `image`, a rendered frame whose masks are `masks`) stand: every plate, every
        face away from the masks or half on one, and a face beside a flat mask or under one only if the face passes
        find it again on a crop around it with the flat masks there painted in the crop's mean colour (EDGE_*)."""
        keep = np.ones(len(dets), bool)
        if not len(dets) or masks is None or not len(masks):
            return keep
        h, w = image.shape[:2]
        for i in np.flatnonzero(dets.labels == LABEL_ID["face"]):
            box = dets.boxes[i]
            bw, bh = box[2] - box[0], box[3] - box[1]
            grown = box + np.float32([-bw, -bh, bw, bh]) * EDGE_PAD
            near = masks[(masks[:, 0] < grown[2]) & (masks[:, 2] > grown[0]) & (masks[:, 1] < grown[3])
                         & (masks[:, 3] > grown[1])]
            if not len(near) or EDGE_ON_MASK <= coverage_matrix(box[None], near).max() < EDGE_UNDER_MASK:
                continue
            mx, my = max(bw * EDGE_CROP, (EDGE_MIN_CROP - bw) / 2), max(bh * EDGE_CROP, (EDGE_MIN_CROP - bh) / 2)
            x1, y1 = max(0, int(box[0] - mx)), max(0, int(box[1] - my))
            x2, y2 = min(w, int(np.ceil(box[2] + mx))), min(h, int(np.ceil(box[3] + my)))
            crop = image[y1:y2, x1:x2].copy()
            painted = np.zeros(crop.shape[:2], bool)
            for m in near:
                mx1, my1 = max(0, int(np.floor(m[0])) - x1), max(0, int(np.floor(m[1])) - y1)
                mx2, my2 = min(x2 - x1, int(np.ceil(m[2])) - x1), min(y2 - y1, int(np.ceil(m[3])) - y1)
                if mx2 > mx1 and my2 > my1 and float(crop[my1:my2, mx1:mx2].std()) <= EDGE_FLAT_STD:
                    painted[my1:my2, mx1:mx2] = True
            if not painted.any():
                continue  # no flat mask here: nothing of ours in the picture to blame
            bx1, by1 = max(0, int(box[0]) - x1), max(0, int(box[1]) - y1)
            bx2, by2 = max(bx1 + 1, int(np.ceil(box[2])) - x1), max(by1 + 1, int(np.ceil(box[3])) - y1)
            if painted[by1:by2, bx1:bx2].mean() >= EDGE_UNDER_MASK:
                # The box's own pixels are our flat paint: at most a tenth of it can show anything. A masked head
                # still reads as a face by its outline (hair, neck around the block): on faces_0's first 6 s the
                # passes found one again on the mean-painted crop, and it refused the clip as persisting.
                keep[i] = False
                continue
            crop[painted] = (crop[~painted].mean(axis=0) if (~painted).any() else crop.reshape(-1, 3).mean(axis=0))
            again = self.faces(crop)
            if len(again):
                again_boxes = again.boxes + np.float32([x1, y1, x1, y1])
                keep[i] = bool(iou_matrix(box[None], again_boxes).max() >= 0.3)
            else:
                keep[i] = False
        return keep
