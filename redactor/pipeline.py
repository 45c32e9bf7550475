"""The engine's steps as plain functions over files: analyze (detect + track, once), render (mask, encode, never
audio), and redact (analyze, render and the audit of redactor.audit, releasing nothing unless the audit passes).

Nothing here knows whether it was called from the web, a queue or the command line."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from redactor.audit import MAX_REMASK_ROUNDS, Finding, audit_masks
from redactor.audit.stream import StreamAudit, remask_tracks
from redactor.detect.backend import batch_size
from redactor.detect.engine import AuditDetector, DetectionEngine
from redactor.detect.types import LABEL_ID, LABELS, Detections
from redactor.errors import BadInput
from redactor.hashing import sha256_file
from redactor.media import VideoInfo, VideoWriter, atomic_output, decode, probe
from redactor.media.decode import Frame
from redactor.progress import progress
from redactor.render.styles import STYLES
from redactor.track.builder import TrackBuilder
from redactor.track.flow import BoxFlow, work_grey
from redactor.track.masks import MaskParams, plan_masks
from redactor.track.motion import CameraMotion
from redactor.track.table import Track, TrackTable
from redactor.track.tracker import MultiLabelTracker
from redactor.weights.runtime import frame_workers

FrameHook = Callable[[np.ndarray, int], np.ndarray]


def _check_complete(info: VideoInfo, decoded: int) -> None:
    """Fail closed on a clip that stops early: a truncated file is refused, not half processed."""
    if decoded == 0:
        raise BadInput(f"{info.path}: no frame could be decoded (corrupt or truncated)")
    if info.frames and decoded < 0.95 * info.frames - 2:
        raise BadInput(f"{info.path}: truncated: decoded {decoded} of the {info.frames} frames it declares")


def analyze(video: str | Path, out: str | Path | None = None, engine: DetectionEngine | None = None,
            show_progress: bool = True) -> TrackTable:
    """Detect and track every face, plate, person and vehicle. The detectors run on keyframes (every
    `profile.stride`-th frame, every cut, and the last frame); between keyframes the boxes found are carried along
    by optical flow (redactor.track.flow), so the tracker and the masks follow people who move; the camera's motion
    is measured on every frame."""
    info = probe(video)
    engine = engine or DetectionEngine.for_video()
    tracks, motion, decoded, cuts = track_frames(decode(video, info.rotation), engine, info.fps,
                                                 progress_total=info.frames, show_progress=show_progress)
    _check_complete(info, decoded)
    # `location`: where the video was analysed from, so that `propose` finds it again without --video
    video_meta = info.to_json() | {"sha256": sha256_file(video), "frames": decoded,
                                   "location": str(Path(video).resolve())}
    table = TrackTable(video=video_meta, frames=decoded, models=engine.versions(), params=engine.params(),
                       tracks=tracks, motion=motion, cuts=cuts)
    if out is not None:
        table.save(out)
    return table


def track_frames(frames: Iterable[Frame], engine: DetectionEngine, fps: float, progress_total: int | None = None,
                 show_progress: bool = False) -> tuple[list[Track], list[list[float]], int, list[int]]:
    """Detect on keyframes, carry boxes between them, track: the tracks, the camera motion of each frame (from the
    frame before it), the number of frames and the cuts (frame indices; the first frame given, a keyframe and a cut
    for the tracker, is not listed: it may be where a segment begins), for frames of one clip (all of it, or one
    segment of it: redactor.jobs.segments)."""
    stride = max(1, engine.profile.stride)
    tracker = MultiLabelTracker(lost_frames=max(5, round(fps)))
    builder = TrackBuilder()
    camera = CameraMotion()
    flow = BoxFlow()
    motion: list[list[float]] = []
    cuts: list[int] = []
    decoded = 0
    last_key: int | None = None  # the first frame given is always a keyframe
    workers = frame_workers()
    # Keyframes are detected by a pool of workers, several at once, while this thread decodes ahead; the tracker
    # takes keyframes and the carried boxes between them strictly in frame order.
    queue: deque[_Step] = deque()
    held: _Step | None = None  # the latest frame that is not a keyframe: the clip's last frame is always detected

    def settle(limit: int) -> None:
        """Track the queued frames in order, waiting for detections while more than `limit` keyframes are pending."""
        while queue:
            step = queue[0]
            if step.detected is not None and not step.detected.done() and \
                    sum(s.detected is not None for s in queue) <= limit:
                return
            queue.popleft()
            if step.detected is not None:
                if not step.detected.done():
                    batcher.flush()  # its batch may still be filling: run it now
                tracked = tracker.update(step.detected.result(), step.tracker_camera)
                builder.add(step.frame.index, step.frame.image, tracked)
                flow.seed(tracked, step.grey, step.scale)
            else:
                builder.add(step.frame.index, None, tracker.update(flow.step(step.grey, step.scale, step.camera),
                                                                   step.tracker_camera))

    with ThreadPoolExecutor(workers, thread_name_prefix="detect") as pool:
        batcher = _Batcher(engine, pool, batch_size())
        for frame in progress(frames, total=progress_total, desc="analyze", enabled=show_progress):
            grey, scale = work_grey(frame.image)
            moved = camera.update(grey, scale)
            motion.append(moved.reshape(-1).tolist())
            step = _Step(frame, grey, scale, moved, cut=camera.cut)
            if camera.cut and decoded:
                cuts.append(frame.index)
            if held is not None:
                queue.append(held.between())
                held = None
            if camera.cut or last_key is None or frame.index - last_key >= stride:
                step.detected = batcher.submit(frame.image)
                queue.append(step)
                # a segment that starts part-way keeps the whole clip's keyframes (multiples of the stride)
                last_key = frame.index if last_key is not None else frame.index - frame.index % stride
                settle(workers * batcher.size)
            else:
                held = step
            decoded += 1
        if held is not None:
            held.detected = batcher.submit(held.frame.image)
            queue.append(held)
        batcher.flush()
        settle(0)
    return builder.tracks(), motion, decoded, cuts


class _Batcher:
    """Keyframes handed to the detectors `size` at a time (REDACTOR_BATCH: one graph run for the batch on a GPU),
    each with its own future; with size 1, one `engine.detect` a keyframe, as before batching."""

    def __init__(self, engine: DetectionEngine, pool: ThreadPoolExecutor, size: int) -> None:
        self.engine, self.pool, self.size = engine, pool, max(1, size)
        self._images: list[np.ndarray] = []
        self._futures: list[Future] = []

    def submit(self, image: np.ndarray) -> Future:
        if self.size == 1:
            return self.pool.submit(self.engine.detect, image)
        future: Future = Future()
        self._images.append(image)
        self._futures.append(future)
        if len(self._images) >= self.size:
            self.flush()
        return future

    def flush(self) -> None:
        if not self._images:
            return
        images, futures = self._images, self._futures
        self._images, self._futures = [], []
        self.pool.submit(self._run, images, futures)

    def _run(self, images: list[np.ndarray], futures: list[Future]) -> None:
        try:
            results = self.engine.detect_batch(images)
        except BaseException as err:  # every frame of the batch fails with it
            for f in futures:
                f.set_exception(err)
            return
        for f, r in zip(futures, results, strict=True):
            f.set_result(r)


@dataclass
class _Step:
    """One frame on its way to the tracker: a keyframe with its detections to come, or a frame between keyframes
    (which keeps only its grey copy: its pixels are not needed again)."""

    frame: Frame
    grey: np.ndarray
    scale: float
    camera: np.ndarray
    detected: Future | None = None
    cut: bool = False

    @property
    def tracker_camera(self) -> np.ndarray | None:
        """The motion the tracker follows the picture by; None at a cut (nothing before it carries on)."""
        return None if self.cut else self.camera

    def between(self) -> _Step:
        return _Step(Frame(self.frame.index, self.frame.pts, self.frame.time, _NO_IMAGE), self.grey, self.scale,
                     self.camera, cut=self.cut)


_NO_IMAGE = np.zeros((0, 0, 3), np.uint8)


@dataclass
class RenderResult:
    path: Path
    frames: int
    masked_boxes: int
    style: str
    kept: list[int]
    params: dict = field(default_factory=dict)


def render(video: str | Path, table: TrackTable, out: str | Path, keep: Iterable[int] = (), style: str = "solid",
           params: MaskParams | None = None, hooks: Iterable[FrameHook] = (), extra_masks: Callable | None = None,
           show_progress: bool = True, stream: StreamAudit | None = None) -> RenderResult:
    """Mask every track not kept and write H.264 MP4 without audio. `extra_masks(image, index)` may add boxes
    (identity checks); `hooks` run after masking (watermarks). With `stream` (redact), each frame goes through the
    audit and its re-masks (redactor.audit.stream) on its way to the encoder. Nothing appears at `out` unless all
    went well."""
    if style not in STYLES:
        raise BadInput(f"unknown mask style {style!r} (solid, mosaic, blur)")
    info = probe(video)
    if table.video.get("sha256") and table.video["sha256"] != sha256_file(video):
        raise BadInput(f"{video}: the track table was made from another video (sha256 differs)")
    keep = {int(k) for k in keep}
    unknown = keep - {t.id for t in table.tracks}
    if unknown:
        raise BadInput(f"--keep: no track with id {', '.join(map(str, sorted(unknown)))} in the track table")
    params = params or MaskParams()
    masks = plan_masks(table, keep, params)
    paint = STYLES[style]
    hooks = list(hooks)
    empty = np.zeros((0, 4), np.float32)
    n = masked = 0
    with atomic_output(out) as tmp:
        with VideoWriter(tmp, info.width, info.height, info.fps, info.time_base) as writer:
            for frame in progress(decode(video, info.rotation), total=table.frames, desc="render",
                                  enabled=show_progress):
                image = frame.image
                boxes = masks.get(frame.index, empty)
                if extra_masks is not None:
                    more = extra_masks(image, frame.index)
                    if len(more):
                        boxes = np.concatenate([boxes, more])
                if stream is not None:  # the audit's re-masks of frames before it that reach this one
                    more = stream.masks_for(frame.index)
                    if len(more):
                        boxes = np.concatenate([boxes, more])
                paint(image, boxes)
                masked += len(boxes)
                for hook in hooks:
                    image = hook(image, frame.index)
                if stream is None:
                    writer.write(image, frame.pts)
                else:
                    stream.push(frame.index, frame.pts, image, writer.write)
                n += 1
            if stream is not None:
                stream.finish(writer.write)
                masked += stream.painted
        if n != table.frames:
            raise BadInput(f"{video}: decoded {n} frames but the track table has {table.frames}")
    return RenderResult(Path(out), n, masked, style, sorted(keep), params.to_json())


@dataclass
class RedactReport:
    input: str
    output: str | None
    frames: int
    fps: float
    duration: float
    tracks: dict[str, int]
    kept: list[int]
    findings: list[dict]
    remask_rounds: int
    models: dict[str, str]
    input_sha256: str
    output_sha256: str | None
    seconds: dict[str, float]
    released: bool
    style: str
    consent: dict | None = None
    identity: list = field(default_factory=list)  # identity checks of kept tracks (redactor.identify.guard)
    # the kept tracks' frames masked because the requester's identity there was not confirmed, and why
    masked_for_identity: list = field(default_factory=list)
    # the audit's findings by the re-masks their frame went through (0: its first audit): see `redact`
    findings_per_round: list = field(default_factory=list)
    renders: int = 1  # renders of the whole clip (more than one only where re-masks reached an encoded frame)
    audits: int = 0  # frame audits run, re-audits after a re-mask included

    def to_json(self) -> dict:
        return self.__dict__.copy()


def redact(video: str | Path, out: str | Path, keep: Iterable[int] = (), style: str = "solid",
           params: MaskParams | None = None, max_remask_rounds: int = MAX_REMASK_ROUNDS,
           hooks: Iterable[FrameHook] = (), table: TrackTable | None = None, extra_masks: Callable | None = None,
           show_progress: bool = True, verified: Callable[[int], np.ndarray] | None = None,
           audit_detector: AuditDetector | None = None) -> RedactReport:
    """Analyze, render, audit. Where the audit finds a face or plate outside the kept tracks, it is masked too, in
    the same render (redactor.audit.stream: frames wait in a short buffer before the encoder, the finding's masks
    are painted on the frames they reach and its frame is audited again), at most `max_remask_rounds` re-masks a
    frame and never again once a finding is seen where it was re-masked (redactor.audit.persisting); if the audit
    still objects, nothing is released. The findings masked join the table as one-frame audit tracks.

    The audit looks at every other frame, the odd ones (every frame when the analysis stride is 1): with keyframes
    every 4th frame those are the frames whose masks were interpolated or carried, and a face the detectors missed
    is visible over several frames, so it reaches an audited one (issue 13: one frame in four let a face seen for
    three frames through).

    The report's `remask_rounds` is the most re-masks any frame needed, `findings_per_round[r]` the findings of the
    audits of frames re-masked r times (as the whole-clip rounds counted them before), `renders` the renders of
    the whole clip: 1, unless a chain of re-masks reached a frame already encoded (`StreamAudit.overflow`), when
    the clip is rendered once more with every finding as a track."""
    out = Path(out)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    if table is None:
        table = analyze(video, show_progress=show_progress)
    seconds["analyze"] = round(time.perf_counter() - t, 2)
    keep = sorted({int(k) for k in keep})
    staging = out.with_name(f".{out.stem}.audit{out.suffix}")
    rounds = renders = audits = 0
    findings: list[Finding] = []
    per_round: list[int] = []  # the audit's findings by the re-masks their frame went through
    seconds["render"] = seconds["audit"] = 0.0
    detector = audit_detector or AuditDetector()
    pool = ThreadPoolExecutor(frame_workers(), thread_name_prefix="audit")
    try:
        while True:
            t = time.perf_counter()
            # as render plans them: the audit tells our masks from plates
            masks = plan_masks(table, set(keep), params)
            stream = StreamAudit(detector, table, keep, params, STYLES.get(style, STYLES["solid"]), pool, masks,
                                 verified, max_remask_rounds, first_round=rounds,
                                 remasked=audit_masks(table, params) if rounds else None)
            render(video, table, staging, keep, style, params, hooks, extra_masks, show_progress, stream=stream)
            renders += 1
            audits += stream.audits
            # render's wall clock includes the audit, which runs beside it; "audit" is the workers' summed time
            seconds["render"] += round(time.perf_counter() - t, 2)
            seconds["audit"] += round(stream.seconds, 2)
            for r, count in enumerate(stream.per_round):
                if r < len(per_round):
                    per_round[r] += count
                else:
                    per_round.append(count)
            rounds += stream.rounds
            next_id = max((tr.id for tr in table.tracks), default=0) + 1
            table.tracks.extend(remask_tracks(stream, next_id))
            findings = stream.left
            if findings or not stream.overflow:
                break
            # A chain of re-masks reached an encoded frame: render the whole clip again with every finding as a
            # track (as the rounds did), unless no round is left.
            if rounds >= max_remask_rounds:
                findings = stream.overflow
                break
            rounds += 1
        released = not findings
        if released:
            staging.replace(out)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        staging.unlink(missing_ok=True)
    counts = {label: sum(1 for tr in table.tracks if tr.label == label
                         and not {"audit", "identity"} & set(tr.sources)) for label in LABELS}
    return RedactReport(input=str(video), output=str(out) if released else None, frames=table.frames,
                        fps=table.video.get("fps", 0.0), duration=table.video.get("duration", 0.0), tracks=counts,
                        kept=keep, findings=[f.to_json() for f in sorted(findings, key=lambda f: f.frame)],
                        remask_rounds=rounds, models=table.models, input_sha256=table.video.get("sha256", ""),
                        output_sha256=sha256_file(out) if released else None, seconds=seconds, released=released,
                        style=style, findings_per_round=per_round, renders=renders,
                        audits=audits)


def detect_images(paths: list[Path], engine: DetectionEngine | None = None, show_progress: bool = True
                  ) -> dict[str, list[dict]]:
    """`redactor detect`: what the engine would mask in each still image."""
    import cv2

    engine = engine or DetectionEngine.for_images()
    out: dict[str, list[dict]] = {}
    for path in progress(paths, total=len(paths), desc="detect", enabled=show_progress):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise BadInput(f"{path}: not a readable image")
        out[path.name] = engine.detect(image).to_json()
    return out


__all__ = ["analyze", "detect_images", "redact", "render", "Detections", "LABEL_ID"]
