"""Korean plates of every style painted onto the labelled plates of real vehicle photos (shared/evaldata/plates), and
the fixed tuning / held-out split of those photos. Shared by make_plate_clips.py (clips to measure on) and
train_plate_korean.py (the fine-tuning data), so both paint the same styles the same way.

Styles (the road's four): `white` (private, one line `123가4567`, sometimes the 2019 band on the left), `yellow`
(commercial: two lines, region + two digits + 바/사/아/자 above, four digits below; or one line), `green` (the old
two-line plate, white letters on green), `blue` (electric, one line, black letters on a pale blue plate with a small
emblem on the left). Two ways to paint: `box` (warped into the labelled box, as make_stress.py does: a two-line plate
squeezed to the box) and `aspect` (the old plate inpainted away, the Korean one painted at its true aspect over it).
`panel` puts a light body panel (a white truck's) behind the plate first.

The split is a fixed rule on the source photo: a photo is held out when crc32 of its group key is divisible by 3;
the key is the file name, or for the `us_wts-lg` camera sequence its block of 10 frame numbers (near-identical
frames never straddle the split). 27 of the 86 photos are held out, 59 are for tuning.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from gpu_benchmarks.make_stress import COMMERCIAL_HANGUL, FONT, PRIVATE_HANGUL, REGIONS, _fit, paint_plate, paint_quad

STYLES = ("white", "yellow", "green", "blue")
ONE_LINE_MM, TWO_LINE_MM = (520, 110), (335, 170)


def group_key(name: str) -> str:
    m = re.match(r"us_wts-lg-(\d+)", name)
    return f"wts-lg-block{int(m.group(1)) // 10}" if m else name


def split_of(name: str) -> str:
    """`heldout` or `tuning`, by the fixed rule on the source photo's name."""
    return "heldout" if zlib.crc32(group_key(name).encode()) % 3 == 0 else "tuning"


def load_labels(src: Path) -> dict[str, list[dict]]:
    return json.loads((src / "labels.json").read_text())["images"]


def photos(src: Path, split: str) -> list[str]:
    return [n for n in sorted(load_labels(src)) if split_of(n) == split]


def _jitter(rgb: tuple[int, int, int], rng: random.Random, amount: int) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.randint(-amount, amount), 0, 255)) for c in rgb)


def render_plate(style: str, rng: random.Random, vary: bool = False) -> np.ndarray:
    """A plate as BGR pixels at 2 px per mm. `vary`: colours, layout and wear drawn at random (training data);
    otherwise the canonical look (the clips)."""
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    two_line = style == "green" or (style == "yellow" and (not vary or rng.random() < 0.7))
    w, h = (2 * TWO_LINE_MM[0], 2 * TWO_LINE_MM[1]) if two_line else (2 * ONE_LINE_MM[0], 2 * ONE_LINE_MM[1])
    bg, fg = {"white": ((255, 255, 255), (0, 0, 0)), "yellow": ((250, 200, 20), (0, 0, 0)),
              "green": ((20, 110, 60), (255, 255, 255)), "blue": ((95, 160, 225), (0, 0, 0))}[style]
    if vary:
        bg, fg = _jitter(bg, rng, 30), _jitter(fg, rng, 25)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    if not vary or rng.random() < 0.8:
        draw.rounded_rectangle((4, 4, w - 5, h - 5), radius=18, outline=(30, 30, 30), width=6)
    left = 60
    if style == "blue":  # the electric plate's emblem: a small disc on the left
        draw.ellipse((30, h // 2 - 45, 120, h // 2 + 45), fill=(40, 90, 170))
        left = 140
    elif style == "white" and vary and rng.random() < 0.4:  # the 2019 plate's band with the flag and KOR
        draw.rectangle((10, 10, 90, h - 10), fill=(30, 60, 150))
        left = 110
    if two_line:
        hangul = rng.choice(COMMERCIAL_HANGUL if style == "yellow" else PRIVATE_HANGUL)
        _fit(draw, f"{rng.choice(REGIONS)} {d(2)} {hangul}", (110, 22, w - 110, 120), fg)
        _fit(draw, d(4), (40, 140, w - 40, h - 24), fg)
    else:
        hangul = rng.choice(COMMERCIAL_HANGUL if style == "yellow" else PRIVATE_HANGUL)
        digits = d(3) if (not vary or rng.random() < 0.6) else d(2)
        _fit(draw, f"{digits}{hangul}{d(4)}", (left, 30, w - 50, h - 30), fg)
    plate = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    if vary and rng.random() < 0.5:  # dirt and wear
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(4, 18), plate.shape)
        plate = np.clip(plate + noise, 0, 255).astype(np.uint8)
    return plate


def _paint_quad(image: np.ndarray, plate: np.ndarray, dst: np.ndarray) -> list[float]:
    return paint_quad(image, plate, dst, float(dst[:, 0].max() - dst[:, 0].min()))


def paint(image: np.ndarray, box: list[float], style: str, rng: random.Random, mode: str = "box",
          panel: bool = False, vary: bool = False) -> list[float]:
    """Paint one Korean plate of `style` over the labelled `box` of `image` (in place); returns the plate's box."""
    plate = render_plate(style, rng, vary)
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = image.shape[:2]
    ph, pw = plate.shape[:2]
    if mode == "aspect":
        # the old plate away first, so that none of it shows beside a plate of another shape
        mask = np.zeros((h, w), np.uint8)
        g = 0.12
        cv2.rectangle(mask, (int(x1 - g * bw), int(y1 - g * bh)), (int(x2 + g * bw), int(y2 + g * bh)), 255, -1)
        ox1, oy1 = max(int(x1 - bw), 0), max(int(y1 - bh), 0)
        ox2, oy2 = min(int(x2 + bw), w), min(int(y2 + bh), h)
        image[oy1:oy2, ox1:ox2] = cv2.inpaint(image[oy1:oy2, ox1:ox2], mask[oy1:oy2, ox1:ox2], 3, cv2.INPAINT_TELEA)
        area = bw * bh * rng.uniform(0.8, 1.3)
        nw = float(np.sqrt(area * pw / ph))
        nh = nw * ph / pw
    else:
        nw, nh = bw, bh
    if panel:  # a light body panel behind the plate: a white truck's front or back
        colour = tuple(int(v) for v in _jitter((235, 235, 232), rng, 20))
        px, py = nw * rng.uniform(1.4, 3.0), nh * rng.uniform(1.5, 3.5)
        cv2.rectangle(image, (int(cx - px / 2), int(cy - py / 2)), (int(cx + px / 2), int(cy + py / 2)), colour, -1)
    if mode == "box":
        return paint_plate(image, [cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2], plate, rng)
    j = lambda s: rng.uniform(-0.06, 0.06) * s  # noqa: E731
    dst = np.float32([[cx - nw / 2 + j(nw), cy - nh / 2 + j(nh)], [cx + nw / 2 + j(nw), cy - nh / 2 + j(nh)],
                      [cx + nw / 2 + j(nw), cy + nh / 2 + j(nh)], [cx - nw / 2 + j(nw), cy + nh / 2 + j(nh)]])
    return _paint_quad(image, plate, dst)


def check_font() -> None:
    if not FONT.exists():
        raise SystemExit(f"{FONT} missing (apt-get install fonts-nanum; scripts/setup.sh does)")
