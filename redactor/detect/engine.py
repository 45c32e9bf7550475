"""The detection engine: several passes of several models, merged, recall first.

No single pass finds enough faces (MODELS.md; docs/decisions.md has the measurements that chose these passes): YuNet
runs on upscaled copies of the frame for the 10-16 px faces, CenterFace adds the side-on and blurred ones, and the
head of every person box with no face in it is reported as a face (`source: head`) for the 8-10 px faces no face
model finds. Plates come from the YOLOv8 plate model at two input sizes; persons and vehicles from YOLOv8n COCO.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from redactor.detect.centerface import CenterFace
from redactor.detect.fusion import features, load_fusion
from redactor.detect.nms import coverage_matrix, nms
from redactor.detect.types import Detections
from redactor.detect.yolo import COCO_PERSON, COCO_VEHICLES, Yolo
from redactor.detect.yunet import YuNet
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
    plate_passes: tuple[tuple[str, int], ...] = (("plate_safelicensing", 640), ("plate_fastanpr", 960))
    plate_threshold: float = 0.2
    # Video only: the passes run on every `stride`-th frame (and at every cut, and on the last frame); tracks are
    # interpolated between these keyframes and padded in time by the stride (redactor.track.masks).
    stride: int = 1
    extra: dict = field(default_factory=dict)


IMAGES = Profile(fusion=True, yunet_threshold=0.3, centerface_threshold=0.05, head_max_height=24.0,
                 plate_passes=(("plate_safelicensing", 640), ("plate_safelicensing", 1280), ("plate_fastanpr", 1280),
                               ("plate_korean", 640), ("plate_korean", 1280)))
# Plates in video (issue 13, docs/decisions.md): safelicensing at 640 and the Korean fine-tune of it at 960 (a
# one-line plate 13 px high in a 1080p frame is lost at 640); the audit keeps fastanpr, a different detector.
VIDEO_PLATE_PASSES: tuple[tuple[str, int], ...] = (("plate_safelicensing", 640), ("plate_korean", 960))
# Chosen on a labelled panning clip over crowd photos (docs/decisions.md): YuNet at 2x and CenterFace at 1.5x with
# low thresholds; tracking, gap filling and padding in time take care of the rest.
# Heads are reported as faces only up to 32 px (as render masks them from person boxes): larger heads without a
# face are turned away, and their masks were most of the collateral and covered kept requesters (docs/decisions.md).
VIDEO = Profile(yunet_scales=(2.0,), yunet_threshold=0.4, centerface_scales=(1.0,), centerface_threshold=0.15,
                head_max_height=32.0, large_face_height=64.0, large_face_score=0.6,
                plate_passes=VIDEO_PLATE_PASSES, stride=4)


class DetectionEngine:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.fusion = load_fusion() if profile.fusion else None
        self.yunet = YuNet(threshold=profile.yunet_threshold)
        self.centerface = CenterFace(threshold=profile.centerface_threshold)
        self.coco = Yolo("coco_yolov8n", threshold=profile.coco_threshold)
        self.plates = {name: Yolo(name, threshold=profile.plate_threshold) for name, _ in profile.plate_passes}

    @classmethod
    def for_images(cls) -> DetectionEngine:
        return cls(IMAGES)

    @classmethod
    def for_video(cls) -> DetectionEngine:
        return cls(VIDEO)

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
        p = self.profile
        boxes, scores, sources = [], [], []
        for model, scales, flip, name in ((self.yunet, p.yunet_scales, p.yunet_flip, "yunet"),
                                          (self.centerface, p.centerface_scales, p.centerface_flip, "centerface")):
            if model is None:
                continue
            for s in scales:
                for flipped in (False, True) if flip else (False,):
                    b, sc = _run_flipped(model, image, s) if flipped else model(image, s)
                    boxes.append(b)
                    scores.append(sc)
                    sources += [name] * len(b)
        if not boxes:
            return Detections.empty()
        b, sc = np.concatenate(boxes), np.concatenate(scores)
        plausible = ((b[:, 3] - b[:, 1]) <= p.large_face_height) | (sc >= p.large_face_score)
        b, sc, sources = b[plausible], sc[plausible], [src for src, ok in zip(sources, plausible, strict=True) if ok]
        keep = nms(b, sc, p.face_merge_iou)
        return Detections(b[keep], sc[keep], np.zeros(len(keep), np.int16), sources=tuple(sources[i] for i in keep))

    def objects(self, image: np.ndarray) -> tuple[Detections, Detections]:
        b, s, c = self.coco(image)
        person = c == COCO_PERSON
        vehicle = np.isin(c, COCO_VEHICLES)
        return Detections.of(b[person], s[person], "person", "coco"), Detections.of(b[vehicle], s[vehicle],
                                                                                    "vehicle", "coco")

    def plates_in(self, image: np.ndarray) -> Detections:
        if not self.plates:
            return Detections.empty()
        boxes, scores = [], []
        for name, size in self.profile.plate_passes:
            b, s, _ = self.plates[name](image, size)
            boxes.append(b)
            scores.append(s)
        b, s = np.concatenate(boxes), np.concatenate(scores)
        keep = nms(b, s, 0.4)
        return Detections.of(b[keep], s[keep], "plate", "plate")

    def detect(self, image: np.ndarray) -> Detections:
        persons, vehicles = self.objects(image)
        faces = self.faces(image, persons)
        parts = [faces, self.plates_in(image), persons, vehicles]
        if self.profile.heads:
            parts.append(heads_without_faces(persons, faces, self.profile.head_min_person_score,
                                             self.profile.head_max_height))
        return Detections.merge(parts)


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


def _run_flipped(model, image: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    w = image.shape[1]
    b, s = model(np.ascontiguousarray(image[:, ::-1]), scale)
    b = b.copy()
    b[:, [0, 2]] = w - b[:, [2, 0]]
    return b, s


AUDIT_PLATE_PASSES: tuple[tuple[str, int], ...] = (("plate_fastanpr", 640),)


class AuditDetector:
    """The second opinion on a rendered clip: CenterFace (not YuNet, which drives most masks) for faces, and the
    other plate model (fastanpr's weights) for plates."""

    def __init__(self, face_threshold: float = 0.5, plate_threshold: float = 0.35,
                 plate_passes: tuple[tuple[str, int], ...] = AUDIT_PLATE_PASSES) -> None:
        self.faces = CenterFace(threshold=face_threshold)
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

    def detect(self, image: np.ndarray) -> Detections:
        fb, fs = self.faces(image, 1.0)
        return Detections.merge([Detections.of(fb, fs, "face", "audit"), self.plates_in(image)])
