"""Analysis on keyframes: the detectors run on every `stride`-th frame, at every cut and on the last frame; masks
reach across the frames in between; the audit looks at chosen frames (redact: every other one), and after a re-mask
only at the audited frames whose masks changed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
from clips import ffmpeg

from redactor.audit import FrameAudit
from redactor.detect.engine import VIDEO, AuditDetector, DetectionEngine
from redactor.media import probe
from redactor.pipeline import analyze
from redactor.track.masks import MaskParams, plan_masks
from redactor.track.motion import CameraMotion
from redactor.track.table import Track, TrackTable


def test_a_cut_is_told_from_a_pan(testdata: Path) -> None:
    bus = cv2.imread(str(testdata / "pexels_double_decker_bus.jpg"))
    other = cv2.resize(cv2.imread(str(testdata / "messi5.jpg")), (bus.shape[1], bus.shape[0]))
    camera = CameraMotion()
    camera.update(bus)
    assert camera.cut  # the first frame follows nothing
    camera.update(cv2.warpAffine(bus, np.float32([[1, 0, 6], [0, 1, 3]]), (bus.shape[1], bus.shape[0]),
                                 borderMode=cv2.BORDER_REPLICATE))
    assert not camera.cut
    camera.update(other)
    assert camera.cut


class CountingEngine(DetectionEngine):
    """The real engine, counting the frames it is run on."""

    def __init__(self, stride: int) -> None:
        super().__init__(dataclasses.replace(VIDEO, stride=stride))
        self.calls = 0

    def detect(self, image: np.ndarray):
        self.calls += 1
        return super().detect(image)


def test_detectors_run_on_keyframes_cuts_and_the_last_frame(tmp_path: Path, vtest: Path, testdata: Path) -> None:
    """21 frames of vtest, then a cut to 8 frames of a still photo: stride 4 runs the detectors on frames 0, 4, ..., 20,
    on the cut (21), then 25, and on the last frame (28): 9 of 29 frames."""
    a, b, clip = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "cut.mp4"
    ffmpeg("-ss", "5", "-i", str(vtest), "-frames:v", "21", "-vf", "scale=320:240,setsar=1", "-r", "10",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(a))
    ffmpeg("-loop", "1", "-i", str(testdata / "pexels_double_decker_bus.jpg"), "-frames:v", "8", "-vf",
           "scale=320:240,setsar=1", "-r", "10", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(b))
    ffmpeg("-i", str(a), "-i", str(b), "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v",
           "libx264", "-pix_fmt", "yuv420p", str(clip))
    assert probe(clip).frames == 29
    engine = CountingEngine(stride=4)
    table = analyze(clip, engine=engine, show_progress=False)
    assert engine.calls == 9
    assert table.params["stride"] == 4
    detected = {int(f) for t in table.tracks for f, src in zip(t.frames, t.sources, strict=True) if src != "flow"}
    carried = {int(f) for t in table.tracks for f, src in zip(t.frames, t.sources, strict=True) if src == "flow"}
    assert detected <= {0, 4, 8, 12, 16, 20, 21, 25, 28}
    assert 28 in detected or 25 in detected  # the bus photo has people and the bus: found after the cut
    assert carried and not carried & {0, 4, 8, 12, 16, 20, 21, 25, 28}  # between keyframes, boxes are carried


def test_masks_reach_across_the_frames_between_keyframes() -> None:
    """A face found at keyframes 8 and 16 (stride 4) may be there from frame 5 on: masked from there, interpolated in
    between (after its last row, carried by flow in analysis, the usual padding); with stride 1 the same track would
    be padded by pad_before only."""
    track = Track(id=1, label="face", frames=np.array([8, 16]), boxes=np.float32([[100, 50, 120, 70],
                                                                                  [140, 50, 160, 70]]),
                  scores=np.float32([0.9, 0.9]))
    params = MaskParams(pad_before=0, pad_after=0)
    strided = TrackTable(video={}, frames=30, models={}, params={"stride": 4}, tracks=[track])
    masks = plan_masks(strided, set(), params)
    assert sorted(masks) == list(range(5, 17))
    centre = (masks[12][0][0] + masks[12][0][2]) / 2
    assert abs(centre - 130) < 0.5
    every = TrackTable(video={}, frames=30, models={}, params={}, tracks=[track])
    assert sorted(plan_masks(every, set(), params)) == list(range(8, 17))


def test_frame_audit_sees_only_its_frames(testdata: Path) -> None:
    """A real face photo shown as frames 0-7: the audit at stride 4, offset 2, looks at frames 2 and 6 only, and
    with `only` at frame 6 alone."""
    image = cv2.imread(str(testdata / "messi5.jpg"))
    detector = AuditDetector()
    check = FrameAudit(detector, stride=4, offset=2)
    for i in range(8):
        assert check(image, i) is image
    assert check.audited == {2, 6}
    assert {f.frame for f in check.findings} == {2, 6}
    again = FrameAudit(detector, stride=4, offset=2, only={6, 7})
    for i in range(8):
        again(image, i)
    assert again.audited == {6}
    assert {f.frame for f in again.findings} == {6}


def test_keyframes_detected_in_parallel_track_as_in_series(tmp_path: Path, vtest: Path, monkeypatch) -> None:
    """Two workers detecting keyframes at once hand the tracker the same detections in the same order as one."""
    import redactor.pipeline as pipeline

    clip = tmp_path / "c.mp4"
    ffmpeg("-ss", "5", "-i", str(vtest), "-frames:v", "30", "-vf", "scale=480:360", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(clip))
    tables = []
    for workers in (1, 2):
        monkeypatch.setattr(pipeline, "frame_workers", lambda w=workers: w)
        tables.append(analyze(clip, show_progress=False))
    one, two = ([(t.label, t.frames.tolist(), t.boxes.round(2).tolist()) for t in table.tracks] for table in tables)
    assert one == two
    assert len(one) > 5  # vtest's plaza is busy: the comparison is not between two empty tables


def test_stride_flag(tmp_path: Path, vtest: Path) -> None:
    """`--stride 1` analyses every frame (recorded in the table); a stride below 1 is a one-line error."""
    import json
    import subprocess
    import sys

    clip = tmp_path / "c.mp4"
    ffmpeg("-ss", "5", "-i", str(vtest), "-frames:v", "6", "-vf", "scale=320:240", "-c:v", "libx264", "-pix_fmt",
           "yuv420p", str(clip))
    out = tmp_path / "t.json"
    bad = subprocess.run([sys.executable, "-m", "redactor", "analyze", str(clip), "--out", str(out), "--stride", "0"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "--stride" in bad.stderr
    assert not out.exists()
    ok = subprocess.run([sys.executable, "-m", "redactor", "analyze", str(clip), "--out", str(out), "--stride", "1"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text())["params"]["stride"] == 1


def test_kept_boxes_fill_the_frames_between_keyframes() -> None:
    """The audit and the watermark look up a kept track's box on every frame, also between its keyframe rows."""
    from redactor.track.masks import kept_boxes

    track = Track(id=7, label="face", frames=np.array([4, 8]), boxes=np.float32([[10, 10, 30, 30], [50, 10, 70, 30]]),
                  scores=np.float32([0.9, 0.9]))
    table = TrackTable(video={}, frames=12, models={}, params={"stride": 4}, tracks=[track])
    kept = kept_boxes(table, {7})
    assert sorted(kept) == [4, 5, 6, 7, 8]
    assert np.allclose(kept[6][0], [30, 10, 50, 30])


def test_a_plate_box_around_a_mask_is_the_mask() -> None:
    """fastanpr draws plate boxes around our solid masks (a plain rectangle looks like a blank plate): a box that
    encloses a mask filling most of it is not a finding; a plate only partly under a (larger) mask still is."""
    from redactor.audit import around_a_mask

    mask = np.float32([[100, 100, 226, 138]])  # a plate of 100x30 at (113, 104), padded by 25%
    boxes = np.float32([
        [90, 95, 240, 145],  # drawn around the mask: mask wholly inside, fills 0.64 of it
        [30, 20, 600, 300],  # a huge box holding the mask: fills 0.03 of it
        [163, 104, 263, 134],  # the plate itself, moved 50 px right: half out from under the mask
    ])
    assert around_a_mask(boxes, mask).tolist() == [True, False, False]
