"""Long recordings split across workers (issue 18): a plan of keyframe-aligned segments, each analysed and rendered on
its own (a job of its own on the `gpu` queue, or a process of its own on one machine), then joined.

- `plan(video, ...)`: segments of about N minutes (or N segments), cut at the stream's keyframes, found by reading
  the packets only (no decoding). Each segment owns frames [start, end); it is analysed from the keyframe at least
  `overlap` seconds before its start to `overlap` seconds after its end, so that its tracker and camera motion are
  warm where its own frames begin, and the next segment's tracks can be told as the same ones.
- `analyze_segment`: what `pipeline.analyze` does, over the segment's frames (indices, timestamps and keyframe
  phase are the whole clip's; the decode limits hold per segment: redactor.media.decode.Span).
- `stitch`: one track table from the segments': each frame's boxes from the segment that owns it; a track of one
  segment and a track of the next that follow the same thing through the overlap (same label, median IoU >= 0.5 on
  the frames both cover) are one track; ids renumbered in order of appearance.
- `render_segment` + `join`: each segment's own frames masked and encoded (x264, one process each, in parallel),
  then the encoded segments joined in order without re-encoding (their packets copied into one MP4, timestamps
  shifted to the clip's; same encoder settings, so the same codec parameters). Never audio.
- `redact_segmented`: the command line's `redact --segments N` on one machine: analysis and render of the
  segments in N processes, the audit of each segment's frames in its render, re-mask rounds only for the segments
  whose masks changed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from redactor.errors import BadInput
from redactor.media import Span, probe
from redactor.media.probe import open_video
from redactor.track.table import Track, TrackTable

DEFAULT_OVERLAP = 3.0  # seconds analysed on each side of a segment's own frames (REDACTOR_SEGMENT_OVERLAP)
LINK_IOU = 0.5


@dataclass(frozen=True)
class Segment:
    index: int
    start: int  # first frame this segment owns
    end: int  # one past its last
    read_from: int  # first frame analysed: a keyframe, `overlap` before `start` (or the clip's first)
    read_to: int  # one past the last frame analysed
    read_pts: int  # pts of the keyframe at read_from
    start_pts: int  # pts of the keyframe at start (render decodes from there)
    start_time: float  # seconds from the clip's first frame to `start`
    read_time: float

    def analysis_span(self, origin_pts: int) -> Span:
        return Span(self.read_from, self.read_to - self.read_from, self.read_pts, origin_pts, self.read_time)

    def render_span(self, origin_pts: int) -> Span:
        return Span(self.start, self.end - self.start, self.start_pts, origin_pts, self.start_time)


@dataclass
class Plan:
    frames: int
    fps: float
    time_base: str
    origin_pts: int
    overlap: float
    segments: list[Segment] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"frames": self.frames, "fps": self.fps, "time_base": self.time_base, "origin_pts": self.origin_pts,
                "overlap": self.overlap, "segments": [asdict(s) for s in self.segments]}

    @classmethod
    def from_json(cls, d: dict) -> Plan:
        return cls(d["frames"], d["fps"], d["time_base"], d["origin_pts"], d["overlap"],
                   [Segment(**s) for s in d["segments"]])


def stream_index(video: str | Path) -> tuple[np.ndarray, np.ndarray, Fraction]:
    """Every video packet's pts in presentation order, which of them are keyframes (as frame indices), and the
    stream's time base: read from the container's packets, nothing decoded."""
    with open_video(video) as container:
        stream = container.streams.video[0]
        pts, keys = [], []
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            if packet.pts is None:
                raise BadInput(f"{video}: packets without timestamps: it cannot be cut into segments")
            pts.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
        tb = stream.time_base or Fraction(1, 90000)
    order = np.sort(np.asarray(pts, np.int64))
    key_index = np.searchsorted(order, np.asarray(sorted(keys), np.int64))
    return order, key_index, tb


def plan(video: str | Path, count: int | None = None, minutes: float | None = None,
         overlap: float | None = None) -> Plan:
    """Segments of `minutes` each (or `count` of them), cut at keyframes. Fewer come out when the clip has too few
    keyframes; a segment is never shorter than twice the overlap (default REDACTOR_SEGMENT_OVERLAP, 3 s)."""
    if overlap is None:
        overlap = float(os.environ.get("REDACTOR_SEGMENT_OVERLAP", "") or DEFAULT_OVERLAP)
    info = probe(video)
    pts, keys, tb = stream_index(video)
    frames = len(pts)
    if not frames:
        raise BadInput(f"{video}: no video packets")
    fps = info.fps or 25.0
    if minutes:
        count = max(1, round(frames / (minutes * 60 * fps)))
    count = max(1, int(count or 1))
    origin = int(pts[0])
    ov = max(1, round(overlap * fps))
    min_len = 2 * ov
    keys = [int(k) for k in keys if 0 < k < frames]
    cuts = [0]
    for i in range(1, count):
        target = round(i * frames / count)
        if not keys:
            break
        k = min(keys, key=lambda x: abs(x - target))
        if k - cuts[-1] >= min_len and frames - k >= min_len:
            cuts.append(k)
    cuts.append(frames)
    key_frames = [0, *keys]

    def time_at(i: int) -> float:
        return float((int(pts[i]) - origin) * tb)

    segments = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        back = max(0, a - ov)
        read_from = key_frames[bisect_right(key_frames, back) - 1]
        read_to = min(frames, b + ov)
        segments.append(Segment(i, a, b, read_from, read_to, int(pts[read_from]), int(pts[a]), time_at(a),
                                time_at(read_from)))
    return Plan(frames, fps, str(tb), origin, overlap, segments)


# --- analysis ------------------------------------------------------------------------------------------------------


def analyze_segment(video: str | Path, plan_: Plan, index: int, engine=None) -> dict:
    """One segment's tracks (frames from read_from to read_to, the whole clip's indices) and its camera motion, as
    a JSON-able dict for the join."""
    from redactor.detect.engine import DetectionEngine
    from redactor.media import decode
    from redactor.pipeline import track_frames

    seg = plan_.segments[index]
    info = probe(video)
    engine = engine or DetectionEngine.for_video()
    frames = decode(video, info.rotation, span=seg.analysis_span(plan_.origin_pts))
    tracks, motion, decoded, cuts = track_frames(frames, engine, info.fps)
    if decoded != seg.read_to - seg.read_from:
        raise BadInput(f"{video}: segment {index} decoded {decoded} frames of the {seg.read_to - seg.read_from} "
                       f"its packets promise (corrupt or truncated)")
    return {"index": index, "read_from": seg.read_from, "tracks": [t.to_json() for t in tracks], "motion": motion,
            "cuts": cuts, "models": engine.versions(), "params": engine.params()}


def _span(track: Track) -> tuple[int, int]:
    return int(track.frames[0]), int(track.frames[-1])


def _link_score(a: Track, b: Track, lo: int, hi: int) -> float:
    """How well two tracks of neighbouring segments agree where both segments were analysed ([lo, hi)): the median
    IoU of their boxes at the frames of `b` that lie inside `a`'s span (a interpolated there)."""
    from redactor.geometry import iou_matrix
    from redactor.track.masks import interpolate

    a0, a1 = _span(a)
    fb = b.frames[(b.frames >= max(lo, a0)) & (b.frames <= min(hi - 1, a1))]
    if len(fb) < 2:
        return 0.0
    ba = interpolate(a, fb)
    bb = interpolate(b, fb)
    iou = np.array([iou_matrix(ba[i:i + 1], bb[i:i + 1])[0, 0] for i in range(len(fb))])
    return float(np.median(iou))


def _own(track: Track, start: int, end: int) -> Track | None:
    sel = (track.frames >= start) & (track.frames < end)
    if not sel.any():
        return None
    return Track(id=track.id, label=track.label, frames=track.frames[sel], boxes=track.boxes[sel],
                 scores=track.scores[sel], sources=[s for s, k in zip(track.sources, sel, strict=True) if k]
                 if len(track.sources) == len(track.frames) else list(track.sources), parent=track.parent,
                 thumbnail=track.thumbnail, embeddings=track.embeddings, added_by=track.added_by,
                 origin=track.origin, contact=track.contact)


def stitch(video_meta: dict, plan_: Plan, parts: list[dict]) -> TrackTable:
    """One track table from the segments' (see the module's text)."""
    parts = sorted(parts, key=lambda p: p["index"])
    if [p["index"] for p in parts] != list(range(len(plan_.segments))):
        raise BadInput("stitch: a segment's analysis is missing")
    tracks = [[Track.from_json(t) for t in p["tracks"]] for p in parts]
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(x: tuple[int, int]) -> tuple[int, int]:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    # links through each overlap, best first, one to one
    for i in range(len(parts) - 1):
        seg, nxt = plan_.segments[i], plan_.segments[i + 1]
        lo, hi = nxt.read_from, seg.read_to
        candidates = []
        for a in tracks[i]:
            if _span(a)[1] < lo:
                continue
            for b in tracks[i + 1]:
                if b.label != a.label or _span(b)[0] >= hi:
                    continue
                score = _link_score(a, b, lo, hi)
                if score >= LINK_IOU:
                    candidates.append((score, a.id, b.id))
        used_a, used_b = set(), set()
        for _, ida, idb in sorted(candidates, reverse=True):
            if ida in used_a or idb in used_b:
                continue
            used_a.add(ida)
            used_b.add(idb)
            parent[find((i + 1, idb))] = find((i, ida))
    # each group's pieces, from the segments that own their frames
    groups: dict[tuple[int, int], list[tuple[int, Track]]] = defaultdict(list)
    for i, seg_tracks in enumerate(tracks):
        seg = plan_.segments[i]
        for t in seg_tracks:
            piece = _own(t, seg.start, seg.end)
            if piece is not None:
                groups[find((i, t.id))].append((i, piece))
    order = sorted(groups, key=lambda g: (int(groups[g][0][1].frames[0]), g))
    new_id = {g: n + 1 for n, g in enumerate(order)}
    out = []
    for g in order:
        pieces = sorted(groups[g], key=lambda p: int(p[1].frames[0]))
        best = max(pieces, key=lambda p: len(p[1].frames))[1]
        thumb = next((p.thumbnail for _, p in sorted(pieces, key=lambda p: -len(p[1].frames))
                      if p.thumbnail and int(p.frames[0]) <= p.thumbnail["frame"] <= int(p.frames[-1])),
                     best.thumbnail)

        def remap(seg: int, tid: int | None) -> int | None:
            if tid is None:
                return None
            return new_id.get(find((seg, tid)))

        seg0 = pieces[0][0]
        out.append(Track(id=new_id[g], label=best.label, frames=np.concatenate([p.frames for _, p in pieces]),
                         boxes=np.concatenate([p.boxes for _, p in pieces]),
                         scores=np.concatenate([p.scores for _, p in pieces]),
                         sources=[s for _, p in pieces for s in p.sources], parent=remap(seg0, best.parent),
                         thumbnail=thumb, origin=remap(seg0, best.origin), contact=any(p.contact for _, p in pieces)))
    motion: list[list[float]] = []
    cuts: list[int] = []
    for seg, part in zip(plan_.segments, parts, strict=True):
        motion += part["motion"][seg.start - seg.read_from:seg.end - seg.read_from]
        cuts += [c for c in part.get("cuts", []) if seg.start <= c < seg.end]
    params = dict(parts[0]["params"]) | {"segments": len(plan_.segments), "segment_overlap": plan_.overlap}
    return TrackTable(video=video_meta, frames=plan_.frames, models=parts[0]["models"], params=params,
                      tracks=out, motion=motion, cuts=cuts)


# --- render and join -----------------------------------------------------------------------------------------------


def render_segment(video: str | Path, table: TrackTable, plan_: Plan, index: int, out: str | Path,
                   keep=(), style: str = "solid", params=None, masks: dict | None = None, audit: dict | None = None,
                   threads: int = 0, on_frame: Callable[[int], None] | None = None) -> dict:
    """Mask and encode segment `index`'s own frames to `out` (timestamps from the segment's first frame), auditing
    the frames `audit` asks for ({"stride", "offset", "only"}: FrameAudit's) on the pixels given to the encoder.
    `on_frame(n)` after each frame (n written so far): a job's progress and heartbeat."""
    from redactor.audit import FrameAudit
    from redactor.detect.engine import AuditDetector
    from redactor.media import VideoWriter, decode
    from redactor.render.styles import STYLES
    from redactor.track.masks import plan_masks

    seg = plan_.segments[index]
    info = probe(video)
    keep = sorted({int(k) for k in keep})
    masks = masks if masks is not None else plan_masks(table, set(keep), params, (seg.start, seg.end))
    check = None
    if audit is not None:
        only = set(audit["only"]) if audit.get("only") is not None else None
        check = FrameAudit(AuditDetector(), table, keep, audit["stride"], audit["offset"], only, masks=masks)
    paint = STYLES[style]
    empty = np.zeros((0, 4), np.float32)
    n = masked = 0
    first_pts = None
    with VideoWriter(out, info.width, info.height, info.fps, info.time_base, threads=threads) as writer:
        for frame in decode(video, info.rotation, span=seg.render_span(plan_.origin_pts)):
            boxes = masks.get(frame.index, empty)
            paint(frame.image, boxes)
            masked += len(boxes)
            if check is not None:
                check(frame.image, frame.index)
            first_pts = frame.pts if first_pts is None else first_pts
            writer.write(frame.image, frame.pts - first_pts)
            n += 1
            if on_frame is not None:
                on_frame(n)
    if n != seg.end - seg.start:
        raise BadInput(f"{video}: segment {index} rendered {n} frames of its {seg.end - seg.start}")
    return {"index": index, "frames": n, "masked": masked,
            "findings": [f.to_json() for f in check.findings] if check else [],
            "audited": sorted(check.audited) if check else []}


def join(parts: list[Path], starts: list[float], out: str | Path) -> int:
    """The encoded segments, in order, as one MP4 without re-encoding: each segment's packets copied, shifted by the
    time of its first frame in the clip (`starts`, seconds). Returns the number of video packets written."""
    out = Path(out)
    written = 0
    with av.open(str(out), mode="w", format="mp4") as dst:
        ostream = None
        for part, start in zip(parts, starts, strict=True):
            with av.open(str(part), metadata_errors="ignore") as src:
                istream = src.streams.video[0]
                if ostream is None:
                    ostream = dst.add_stream_from_template(istream)
                tb = istream.time_base
                shift = round(Fraction(start).limit_denominator(10 ** 9) / tb)
                for packet in src.demux(istream):
                    if packet.size == 0 or packet.dts is None:
                        continue
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = ostream
                    dst.mux(packet)
                    written += 1
    return written


def audit_request(table: TrackTable, only: set[int] | None = None) -> dict:
    """What `render_segment` audits: the frames redact audits in the whole clip (redactor.audit.audited_frames),
    `only` these after a re-mask round."""
    from redactor.audit import audited_frames

    stride, offset = audited_frames(table)
    return {"stride": stride, "offset": offset, "only": sorted(only) if only is not None else None}


def add_findings(table: TrackTable, findings: list[dict]) -> None:
    """A re-mask round: the audit's findings join the table as one-frame tracks, numbered after its last track (as
    `pipeline.redact` adds them), so the next render masks them."""
    from redactor.audit import Finding, findings_as_tracks

    next_id = max((tr.id for tr in table.tracks), default=0) + 1
    found = [Finding(f["frame"], f["label"], f["box"], f["score"]) for f in findings]
    table.tracks.extend(findings_as_tracks(found, next_id))


def remask(table: TrackTable, plan_: Plan, findings: list[dict], audited: set[int],
           params=None) -> tuple[set[int], set[int]]:
    """The findings added to `table` (in place); returns the audited frames whose masks changed (audited again) and
    the segments holding any frame whose masks changed (rendered again; the others' encoded parts stand). Each
    track's masks are planned by themselves, so the frames whose masks change are those the findings' own tracks
    reach: found without planning the whole recording's masks twice."""
    from redactor.track.masks import plan_masks

    first = len(table.tracks)
    add_findings(table, findings)
    added = TrackTable(video=table.video, frames=table.frames, models=table.models, params=table.params,
                       tracks=table.tracks[first:], motion=table.motion)
    changed = {f for f in plan_masks(added, set(), params) if 0 <= f < plan_.frames}
    starts = [s.start for s in plan_.segments]
    return audited & changed, {bisect_right(starts, f) - 1 for f in changed}


def part_results(results: list[dict]) -> tuple[list[dict], set[int]]:
    """One round's segment renders: their findings (in frame order) and the frames they audited."""
    findings = sorted((f for r in results for f in r["findings"]), key=lambda f: f["frame"])
    return findings, {int(f) for r in results for f in r["audited"]}


# --- one machine, several processes --------------------------------------------------------------------------------


def _workers(n: int) -> int:
    return max(1, min(n, int(os.environ.get("REDACTOR_SEGMENT_WORKERS", "0")) or n))


def _child_analyze(video: str, plan_json: dict, index: int) -> dict:
    return analyze_segment(video, Plan.from_json(plan_json), index)


def _child_render(video: str, table_path: str, plan_json: dict, index: int, out: str, keep: list[int], style: str,
                  params: dict | None, audit: dict | None, threads: int) -> dict:
    from redactor.track.masks import MaskParams

    table = TrackTable.load(table_path)
    return render_segment(video, table, Plan.from_json(plan_json), index, out, keep, style,
                          MaskParams(**params) if params else None, audit=audit, threads=threads)


def _pool(n: int) -> ProcessPoolExecutor:
    # spawn: a fresh interpreter per worker (no onnxruntime or decoder threads inherited mid-state from the parent)
    return ProcessPoolExecutor(_workers(n), mp_context=multiprocessing.get_context("spawn"))


def analyze_segmented(video: str | Path, segments: int | None = None, minutes: float | None = None,
                      overlap: float | None = None, out: str | Path | None = None) -> tuple[TrackTable, Plan]:
    """`pipeline.analyze`, a segment a process, joined by `stitch`."""
    from redactor.hashing import sha256_file

    video = Path(video)
    p = plan(video, segments, minutes, overlap)
    with _pool(len(p.segments)) as pool:
        parts = list(pool.map(_child_analyze, [str(video)] * len(p.segments), [p.to_json()] * len(p.segments),
                              range(len(p.segments))))
    info = probe(video)
    meta = info.to_json() | {"sha256": sha256_file(video), "frames": p.frames, "location": str(video.resolve())}
    table = stitch(meta, p, parts)
    if out is not None:
        table.save(out)
    return table, p


def render_segmented(video: str | Path, table: TrackTable, p: Plan, out: str | Path, keep=(), style: str = "solid",
                     params=None, audit: dict | None = None, tmp: Path | None = None,
                     only_segments: set[int] | None = None, previous: dict[int, Path] | None = None) -> dict:
    """Every segment rendered (and audited) in its own process, x264 in each, then joined. `only_segments`: render
    just these again (a re-mask round), reusing `previous` parts for the others."""
    from redactor.media import atomic_output

    tmp = Path(tmp or tempfile.mkdtemp(prefix="redactor-segments-"))
    table_path = tmp / f"table-{time.monotonic_ns()}.json"
    table.save(table_path)
    n = len(p.segments)
    todo = [s.index for s in p.segments if only_segments is None or s.index in only_segments]
    cores = len(os.sched_getaffinity(0))
    threads = max(1, cores // max(1, min(len(todo), _workers(n))))
    parts = dict(previous or {})
    results: dict[int, dict] = {}
    with _pool(max(1, len(todo))) as pool:
        futures = {}
        for i in todo:
            path = tmp / f"segment-{i}-{time.monotonic_ns()}.mp4"
            futures[i] = (path, pool.submit(_child_render, str(video), str(table_path), p.to_json(), i, str(path),
                                            list(keep), style, params.to_json() if params else None, audit, threads))
        for i, (path, fut) in futures.items():
            results[i] = fut.result()
            parts[i] = path
    with atomic_output(out) as staged:
        written = join([parts[s.index] for s in p.segments], [s.start_time for s in p.segments], staged)
    if written != p.frames:
        raise BadInput(f"joined {written} frames of the clip's {p.frames}")
    return {"parts": parts, "results": results, "frames": written}


def redact_segmented(video: str | Path, out: str | Path, segments: int, keep=(), style: str = "solid",
                     params=None, max_remask_rounds: int | None = None, table: TrackTable | None = None,
                     overlap: float | None = None, show_progress: bool = False):
    """`pipeline.redact` with the analysis and the render split into `segments` processes (no identity guard: a
    keep-set checked face by face renders with `pipeline.redact`)."""
    from redactor.audit import MAX_REMASK_ROUNDS, Finding, audit_masks, remask_again
    from redactor.detect.types import LABELS
    from redactor.hashing import sha256_file
    from redactor.pipeline import RedactReport

    out = Path(out)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    if table is None:
        table, p = analyze_segmented(video, segments, overlap=overlap)
    else:
        p = plan(video, segments, overlap=overlap)
    seconds["analyze"] = round(time.perf_counter() - t, 2)
    keep = sorted({int(k) for k in keep})
    rounds = 0
    findings: list[dict] = []
    per_round: list[int] = []  # the audit's findings of each render
    max_rounds = MAX_REMASK_ROUNDS if max_remask_rounds is None else max_remask_rounds
    only: set[int] | None = None
    redo: set[int] | None = None
    previous: dict[int, Path] = {}
    staging = out.with_name(f".{out.stem}.audit{out.suffix}")
    audited: set[int] = set()
    seconds["render"] = 0.0
    with tempfile.TemporaryDirectory(prefix="redactor-segments-") as tmp:
        try:
            while True:
                t = time.perf_counter()
                done = render_segmented(video, table, p, staging, keep, style, params, audit_request(table, only),
                                        Path(tmp), redo, previous)
                seconds["render"] += round(time.perf_counter() - t, 2)
                previous = done["parts"]
                findings, seen = part_results(list(done["results"].values()))
                audited |= seen
                per_round.append(len(findings))
                found = [Finding(f["frame"], f["label"], f["box"], f["score"]) for f in findings]
                if not remask_again(found, rounds, audit_masks(table, params), max_rounds):
                    break
                only, redo = remask(table, p, findings, audited, params)
                if not redo:  # findings that change no mask would be found again: not released
                    break
                rounds += 1
            released = not findings
            if released:
                staging.replace(out)
        finally:
            staging.unlink(missing_ok=True)
    counts = {label: sum(1 for tr in table.tracks if tr.label == label
                         and not {"audit", "identity"} & set(tr.sources)) for label in LABELS}
    return RedactReport(input=str(video), output=str(out) if released else None, frames=table.frames,
                        fps=table.video.get("fps", 0.0), duration=table.video.get("duration", 0.0), tracks=counts,
                        kept=keep, findings=findings, remask_rounds=rounds, models=table.models,
                        input_sha256=table.video.get("sha256", ""),
                        output_sha256=sha256_file(out) if released else None, seconds=seconds, released=released,
                        style=style, findings_per_round=per_round)


def plan_json(p: Plan) -> str:
    return json.dumps(p.to_json())
