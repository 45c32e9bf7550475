"""`redactor watermark embed|extract`: the forensic mark that ties a copy to its ledger entry (and the visible one)."""

from __future__ import annotations

import argparse
import json
from datetime import date


def _embed(args: argparse.Namespace) -> int:
    from redactor.render.watermark_forensic import mark_clip
    from redactor.render.watermark_visible import NOTICE

    lines = None
    if args.text is not None:
        given = [t for t in args.text.split("\\n") if t]
        lines = given + [f"{date.today().isoformat()} · 관리대장 {args.entry}", NOTICE]
    n = mark_clip(args.input, args.output, args.entry, lines, crf=args.crf)
    print(f"{args.output}: {n} frames marked with ledger entry {args.entry}"
          + (" (visible mark burned in)" if lines else ""))
    return 0


def _extract(args: argparse.Namespace) -> int:
    from redactor.render.watermark_forensic import extract_clip

    r = extract_clip(args.clip, max_frames=args.max_frames)
    if args.json:
        print(json.dumps(r.to_json() if r.entry is not None else {"entry": None, "confidence": round(r.confidence, 2)}))
    elif r.entry is not None:
        print(r.entry)
    else:
        print(f"no forensic mark found (best confidence {r.confidence:.1f}, {r.frames} frames)")
    return 0 if r.entry is not None else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watermark", help="forensic and visible watermarks")
    verbs = p.add_subparsers(dest="verb", required=True)
    e = verbs.add_parser("embed", help="mark a clip with a ledger entry number (and optionally a visible mark)")
    e.add_argument("input")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--entry", type=int, required=True, help="관리대장 entry number (0 .. 16777215)")
    e.add_argument("--text", help="burn in a visible mark starting with this text (e.g. request number · recipient)")
    e.add_argument("--crf", type=int, default=18, help="H.264 quality of the marked output (default 18)")
    e.set_defaults(handler=_embed)
    x = verbs.add_parser("extract", help="print the ledger entry a clip is marked with; exit 1 when none")
    x.add_argument("clip")
    x.add_argument("--json", action="store_true", help='print {"entry": N, "confidence": z}')
    x.add_argument("--max-frames", type=int, default=1500, help="read at most this many frames (default 1500)")
    x.set_defaults(handler=_extract)
