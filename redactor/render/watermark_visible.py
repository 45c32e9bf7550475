"""Visible watermark burned into every frame (제36조): reference number, recipient, release date and the use the
copy is for (its legal basis: "열람용 · 복제·배포 금지" for a data subject's viewing, a police or press notice for a
provision: `redactor.disclosure.rules.visible_mark`), semi-transparent, in a corner that does not hide the requester.

The text is rendered once (Pillow, NanumGothic) to an RGBA overlay; each frame only pays an alpha blend of that
overlay onto one region (numpy). The corner is chosen per frame from the kept person's boxes, and kept while it stays
clear, so the mark does not jump about.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from redactor.errors import BadInput

NOTICE = "열람용 · 복제·배포 금지"  # a data subject's viewing, when no other basis is given
OPACITY = 0.55
# preference order when nothing is in the way
PLACES = ("bottom-right", "bottom-left", "top-right", "top-left", "bottom", "top")


def mark_lines(reference: str, recipient: str, released: date, extra: str = "", notice: str = NOTICE) -> list[str]:
    lines = [f"{reference} · {recipient}", f"{released.isoformat()} 제공", notice]
    return ([extra] if extra else []) + lines


class VisibleWatermark:
    def __init__(self, lines: list[str], width: int, height: int, opacity: float = OPACITY,
                 font_path: Path | None = None) -> None:
        if font_path is None:
            from redactor.documents.fonts import font_files

            font_path = font_files()[0]  # the documents' Korean font, wherever it was found (or FontMissing)
        elif not font_path.exists():
            raise BadInput(f"{font_path}: Korean font missing")
        self.width, self.height = width, height
        size = max(12, round(min(width, height) * 0.035))
        font = ImageFont.truetype(str(font_path), size)
        pad = max(4, size // 3)
        boxes = [font.getbbox(line) for line in lines]
        line_h = max(b[3] - b[1] for b in boxes) + pad // 2
        text_w = max(b[2] - b[0] for b in boxes)
        w = min(width, text_w + 2 * pad)
        h = min(height, line_h * len(lines) + 2 * pad)
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, w, h), fill=(0, 0, 0, 110))  # a dark plate keeps white text legible on bright scenes
        for i, line in enumerate(lines):
            draw.text((pad, pad + i * line_h), line, font=font, fill=(255, 255, 255, 255),
                      stroke_width=max(1, size // 14), stroke_fill=(0, 0, 0, 255))
        rgba = np.asarray(img, dtype=np.float32)
        self._bgr = rgba[:, :, 2::-1].copy()
        self._alpha = (rgba[:, :, 3:4] / 255.0) * opacity
        self.size = (w, h)
        self.margin = max(4, round(min(width, height) * 0.02))
        self.place = PLACES[0]

    def region(self, place: str) -> tuple[int, int, int, int]:
        w, h = self.size
        m = self.margin
        x = {"left": m, "right": self.width - w - m}.get(place.split("-")[-1], (self.width - w) // 2)
        y = m if place.startswith("top") else self.height - h - m
        x, y = max(0, x), max(0, y)
        return x, y, x + w, y + h

    def choose(self, keep_boxes: list[tuple[float, float, float, float]] | None) -> str:
        """The place overlapping the kept person least; stay put while the current place is clear."""
        if not keep_boxes:
            return self.place

        def overlap(place: str) -> float:
            x1, y1, x2, y2 = self.region(place)
            return sum(max(0.0, min(x2, b[2]) - max(x1, b[0])) * max(0.0, min(y2, b[3]) - max(y1, b[1]))
                       for b in keep_boxes)

        if overlap(self.place) == 0:
            return self.place
        self.place = min(PLACES, key=lambda p: (overlap(p), PLACES.index(p)))
        return self.place

    def apply(self, frame_bgr: np.ndarray, keep_boxes: list[tuple[float, float, float, float]] | None = None
              ) -> np.ndarray:
        if frame_bgr.shape[1] != self.width or frame_bgr.shape[0] != self.height:
            raise BadInput(f"frame {frame_bgr.shape[1]}x{frame_bgr.shape[0]} is not the mark's "
                           f"{self.width}x{self.height}")
        x1, y1, x2, y2 = self.region(self.choose(keep_boxes))
        out = frame_bgr.copy()
        roi = out[y1:y2, x1:x2].astype(np.float32)
        a = self._alpha[: y2 - y1, : x2 - x1]
        out[y1:y2, x1:x2] = np.clip(roi * (1.0 - a) + self._bgr[: y2 - y1, : x2 - x1] * a + 0.5, 0, 255).astype(
            np.uint8)
        return out
