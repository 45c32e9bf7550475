"""The contact sheet a clerk picks the requester's tracks from: numbered thumbnails, faces and persons first.

A person track shows the best face of its own face tracks where one was seen (a face is what a clerk recognises),
else its body crop. Drawn with Pillow; Korean-capable font (fonts-nanum) when present."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from redactor.track.table import Track, TrackTable

TILE = 128
CAPTION = 34
COLUMNS = 8
ORDER = {"face": 0, "person": 1, "vehicle": 2, "plate": 3}
FONTS = ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int) -> ImageFont.ImageFont:
    for path in FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def _decode(thumb: dict | None) -> Image.Image | None:
    if not thumb or not thumb.get("jpeg_b64"):
        return None
    try:
        return Image.open(io.BytesIO(base64.b64decode(thumb["jpeg_b64"]))).convert("RGB")
    except (OSError, ValueError):
        return None


def _box_area(thumb: dict | None) -> float:
    if not thumb or not thumb.get("box"):
        return 0.0
    x1, y1, x2, y2 = thumb["box"]
    return (x2 - x1) * (y2 - y1)


def sheet_thumbnail(track: Track, children: list[Track]) -> tuple[Image.Image | None, int | None]:
    """The picture shown for a track, and the face track it came from when it is not the track's own."""
    if track.label == "person":
        faces = [c for c in children if c.label == "face" and _decode(c.thumbnail) is not None
                 and "head" not in c.sources[:1]]
        if faces:
            best = max(faces, key=lambda c: _box_area(c.thumbnail))
            return _decode(best.thumbnail), best.id
    return _decode(track.thumbnail), None


def ordered(table: TrackTable, labels: set[str] | None = None, min_frames: int = 1) -> list[Track]:
    tracks = [t for t in table.tracks if (labels is None or t.label in labels) and len(t.frames) >= min_frames]
    return sorted(tracks, key=lambda t: (ORDER.get(t.label, 9), -len(t.frames), t.id))


def draw_sheet(table: TrackTable, out: str | Path, labels: set[str] | None = None, min_frames: int = 1,
               columns: int = COLUMNS) -> int:
    """Write the sheet as PNG; returns how many tracks it shows."""
    tracks = ordered(table, labels, min_frames)
    children: dict[int, list[Track]] = {}
    for t in table.tracks:
        if t.parent is not None:
            children.setdefault(t.parent, []).append(t)
    cols = max(1, min(columns, len(tracks)))
    rows = max(1, -(-len(tracks) // cols))
    sheet = Image.new("RGB", (cols * TILE, rows * (TILE + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    big, small = _font(16), _font(11)
    for n, t in enumerate(tracks):
        x, y = (n % cols) * TILE, (n // cols) * (TILE + CAPTION)
        thumb, via = sheet_thumbnail(t, children.get(t.id, []))
        if thumb is not None:
            s = (TILE - 24) / max(thumb.size)  # small CCTV faces are enlarged: the clerk has to recognise them
            thumb = thumb.resize((max(1, round(thumb.width * s)), max(1, round(thumb.height * s))),
                                 Image.Resampling.BICUBIC)
            sheet.paste(thumb, (x + (TILE - thumb.width) // 2, y + 22 + (TILE - 24 - thumb.height) // 2))
        else:
            draw.rectangle([x + 2, y + 2, x + TILE - 3, y + TILE - 3], outline="grey")
            draw.text((x + 10, y + TILE // 2 - 8), "no picture", fill="grey", font=small)
        draw.rectangle([x, y, x + TILE - 1, y + TILE + CAPTION - 1], outline="black")
        label = f"#{t.id} {t.label}"
        draw.rectangle([x + 1, y + 1, x + 9 * len(label) + 6, y + 20], fill="black")
        draw.text((x + 4, y + 2), label, fill="yellow", font=big)
        span = f"frames {int(t.frames[0])}-{int(t.frames[-1])} ({len(t.frames)})" if len(t.frames) else "no frames"
        draw.text((x + 4, y + TILE + 2), span, fill="black", font=small)
        rel = f"face #{via}" if via is not None else (f"of #{t.parent}" if t.parent is not None else "")
        if t.contact:  # cut where it overlapped someone: who it follows there is not known (redactor.track.split)
            rel = f"{rel} overlapping".strip()
        draw.text((x + 4, y + TILE + 17), rel, fill="black", font=small)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.partial")
    sheet.save(tmp, format="PNG")
    tmp.replace(out)
    return len(tracks)
