"""`redactor tracks | propose`: choosing the requester's tracks (contact sheet) and proposing them from a photo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _tracks(args: argparse.Namespace) -> int:
    from redactor.identify.sheet import draw_sheet, ordered
    from redactor.track.table import TrackTable

    table = TrackTable.load(args.tracks)
    labels = set(args.labels) if args.labels else None
    if args.sheet:
        n = draw_sheet(table, args.sheet, labels, args.min_frames)
        print(f"{args.sheet}: {n} tracks")
        return 0
    for t in ordered(table, labels, args.min_frames):
        span = f"{int(t.frames[0])}-{int(t.frames[-1])}" if len(t.frames) else "-"
        parent = f" of #{t.parent}" if t.parent is not None else ""
        if t.origin is not None and t.origin != t.id:
            parent += f", piece of #{t.origin}"
        if t.contact:
            parent += ", overlapping another (identity not confirmed)"
        print(f"#{t.id:<5d} {t.label:8s} frames {span:>11s} ({len(t.frames)}){parent}"
              f"{' embeddings ' + str(len(t.embeddings)) if t.embeddings else ''}")
    return 0


def _propose(args: argparse.Namespace) -> int:
    from redactor.identify.embeddings import MIN_FACE_PX, has_embeddings
    from redactor.identify.propose import (
        consent_record,
        embed_photo,
        ensure_embeddings,
        largest_face_px,
        locate_video,
        propose,
        propose_by_appearance,
    )
    from redactor.track.table import TrackTable

    table = TrackTable.load(args.tracks)
    photo = embed_photo(args.face)
    video = None
    if not has_embeddings(table):
        video = locate_video(table, args.tracks, args.video)
        if largest_face_px(table) >= MIN_FACE_PX:
            ensure_embeddings(table, video)
            table.save(args.tracks)  # the embeddings belong in the table (format v1 field); the next call reuses them
    proposals = propose(table, photo.embedding)
    if not has_embeddings(table):
        largest = largest_face_px(table)
        if video is not None:
            proposals = propose_by_appearance(table, video, args.face)
        why = (f"the faces in this clip are too small to recognise (largest {largest:.0f} px, SFace needs "
               f"{MIN_FACE_PX})" if largest < MIN_FACE_PX else "no face in this clip could be embedded")
        print(f"propose: {why}: no face match; "
              + (f"{len(proposals)} person tracks proposed by the body's appearance in the photo: check each"
                 if proposals else "pick the requester's tracks on the contact sheet (redactor tracks --sheet)"),
              file=sys.stderr)
    consent = consent_record(photo, proposals[0] if proposals else None, args.requester)
    if args.report:
        tmp = Path(args.report).with_name(f".{Path(args.report).name}.partial")
        tmp.write_text(json.dumps({"consent": consent, "proposals": [p.to_json() for p in proposals]},
                                  ensure_ascii=False, indent=1))
        tmp.replace(args.report)
    print(f"consent: {consent['who']}, {consent['when']}, photo sha256 {consent['photo_sha256']}", file=sys.stderr)
    if args.json:
        print(json.dumps([p.to_json() for p in proposals]))
    elif not proposals:
        print("no track matches the photo (cosine >= 0.363)")
    else:
        for p in proposals:
            print(f"track {' + '.join(map(str, p.tracks))}: score {p.score:.3f}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tracks", help="list the tracks of a track table, or draw their contact sheet")
    p.add_argument("tracks", metavar="TRACKS.json")
    p.add_argument("--sheet", metavar="SHEET.png", help="draw numbered thumbnails here")
    p.add_argument("--labels", nargs="*", choices=["face", "person", "plate", "vehicle"], help="only these labels")
    p.add_argument("--min-frames", type=int, default=1, help="hide tracks shorter than this")
    p.set_defaults(handler=_tracks)

    p = sub.add_parser("propose", help="tracks matching a photo of the requester (with their consent), best first")
    p.add_argument("tracks", metavar="TRACKS.json")
    p.add_argument("--face", required=True, metavar="PHOTO", help="the requester's photo (given with consent)")
    p.add_argument("--video", help="the analysed video (default: beside the track table, or as recorded)")
    p.add_argument("--requester", help="who consented (name or request number) for the consent record")
    p.add_argument("--json", action="store_true", help='print [{"track": ID, "score": 0.71}, ...]')
    p.add_argument("--report", metavar="REPORT.json", help="write the consent record and the proposals here")
    p.set_defaults(handler=_propose)
