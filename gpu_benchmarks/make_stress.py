#!/usr/bin/env python3
"""Stress sets made from a labelled folder, written OUTSIDE the repository (the evaldata licences forbid copies in
the project). Every set is a folder of images with a labels.json that accuracy.py reads.

scale:  each image downscaled (INTER_AREA) to 35% and 50%, labels scaled; and the same pictures padded back to the
        full frame size (placed at the centre of a mid-grey canvas of the original size), so faces are small in a
        frame as big as the camera's. Sets: NAME_s35, NAME_s50, NAME_s35pad, NAME_s50pad.
korean: Korean plates painted over each labelled plate box (perspective-warped, a random tilt of up to 8% of the box
        inside it), in the three styles of the road: the white one-line plate (`123가4567`), the yellow two-line
        commercial plate (region, two digits and 바/사/아/자 above, four digits below) and the old green two-line
        plate (white letters). Rendered with Debian's fonts-nanum (NanumGothicBold). Set: NAME_kr (three images per
        source image, one per style; the labelled box is the painted plate's box).

usage: make_stress.py --src DIR --out DIR [--kind scale|korean|all] [--limit N] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
SCALES = (0.35, 0.5)
PAD_GREY = 114
PRIVATE_HANGUL = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주허하호"
COMMERCIAL_HANGUL = "바사아자"
REGIONS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "경기", "강원", "충북", "충남", "전북", "전남",
           "경북", "경남", "제주")
STYLES = ("white", "yellow", "green")


def load(src: Path, limit: int | None) -> tuple[dict, list[str]]:
    labels = json.loads((src / "labels.json").read_text())["images"]
    names = sorted(labels)[:limit] if limit else sorted(labels)
    return labels, names


def write_set(out: Path, labels: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "labels.json").write_text(json.dumps({"images": labels}, indent=0))


def scale_sets(src: Path, out: Path, limit: int | None) -> list[Path]:
    labels, names = load(src, limit)
    made = []
    for s in SCALES:
        small_dir, pad_dir = out / f"{src.name}_s{round(s * 100)}", out / f"{src.name}_s{round(s * 100)}pad"
        small_labels, pad_labels = {}, {}
        small_dir.mkdir(parents=True, exist_ok=True)
        pad_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            image = cv2.imread(str(src / name), cv2.IMREAD_COLOR)
            h, w = image.shape[:2]
            sw, sh = max(1, round(w * s)), max(1, round(h * s))
            small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
            fx, fy = sw / w, sh / h
            boxes = [dict(d, box=[round(d["box"][0] * fx, 1), round(d["box"][1] * fy, 1), round(d["box"][2] * fx, 1),
                                  round(d["box"][3] * fy, 1)]) for d in labels[name]]
            out_name = Path(name).stem + ".png"  # lossless: the stress is the size, not a second JPEG pass
            cv2.imwrite(str(small_dir / out_name), small)
            small_labels[out_name] = boxes
            canvas = np.full_like(image, PAD_GREY)
            ox, oy = (w - sw) // 2, (h - sh) // 2
            canvas[oy:oy + sh, ox:ox + sw] = small
            cv2.imwrite(str(pad_dir / out_name), canvas)
            pad_labels[out_name] = [dict(d, box=[d["box"][0] + ox, d["box"][1] + oy, d["box"][2] + ox,
                                                 d["box"][3] + oy]) for d in boxes]
        write_set(small_dir, small_labels)
        write_set(pad_dir, pad_labels)
        made += [small_dir, pad_dir]
    return made


def _fit(draw: ImageDraw.ImageDraw, text: str, box: tuple[int, int, int, int], fill) -> None:
    """Draw `text` filling `box` (x1, y1, x2, y2): the font sized to the box height, then squeezed to its width."""
    x1, y1, x2, y2 = box
    font = ImageFont.truetype(str(FONT), max(8, y2 - y1))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    glyphs = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(glyphs).text((-left, -top), text, font=font, fill=255)
    glyphs = glyphs.resize((x2 - x1, y2 - y1), Image.LANCZOS)
    draw.bitmap((x1, y1), glyphs, fill=fill)


def render_plate(style: str, rng: random.Random) -> np.ndarray:
    """A plate as BGR pixels, at 2 px per mm: 520x110 mm one-line, 335x170 mm two-line."""
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    if style == "white":
        w, h, bg, fg = 1040, 220, (255, 255, 255), (0, 0, 0)
    else:
        w, h = 670, 340
        bg, fg = ((250, 200, 20), (0, 0, 0)) if style == "yellow" else ((20, 110, 60), (255, 255, 255))
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((4, 4, w - 5, h - 5), radius=18, outline=(30, 30, 30), width=6)
    if style == "white":
        _fit(draw, f"{d(3)}{rng.choice(PRIVATE_HANGUL)}{d(4)}", (60, 30, w - 60, h - 30), fg)
    else:
        hangul = rng.choice(COMMERCIAL_HANGUL if style == "yellow" else PRIVATE_HANGUL)
        _fit(draw, f"{rng.choice(REGIONS)} {d(2)} {hangul}", (110, 22, w - 110, 120), fg)
        _fit(draw, d(4), (40, 140, w - 40, h - 24), fg)
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def paint_plate(image: np.ndarray, box: list[float], plate: np.ndarray, rng: random.Random) -> list[float]:
    """Warp `plate` onto the labelled box with a little perspective; returns the painted plate's box."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    j = lambda s: rng.uniform(0, 0.08) * s  # noqa: E731
    dst = np.float32([[x1 + j(bw), y1 + j(bh)], [x2 - j(bw), y1 + j(bh)], [x2 - j(bw), y2 - j(bh)],
                      [x1 + j(bw), y2 - j(bh)]])
    return paint_quad(image, plate, dst, bw)


def paint_quad(image: np.ndarray, plate: np.ndarray, dst: np.ndarray, width: float) -> list[float]:
    """Warp `plate` onto the quadrilateral `dst` of `image` (in place), blending its edges; `width`: the painted
    plate's width in pixels, to which the big plate is blurred first. Returns the painted plate's box."""
    ph, pw = plate.shape[:2]
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    h, w = image.shape[:2]
    # Blur the big plate to the target size first so the warp does not alias (a camera's optics would).
    sigma = max(0.0, 0.5 * pw / max(width, 1) - 0.5)
    if sigma > 0:
        plate = cv2.GaussianBlur(plate, (0, 0), sigma)
    warped = cv2.warpPerspective(plate, m, (w, h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (w, h), flags=cv2.INTER_LINEAR)
    a = alpha[..., None].astype(np.float32) / 255
    image[:] = (image * (1 - a) + warped * a).astype(np.uint8)
    return [round(float(v), 1) for v in (dst[:, 0].min(), dst[:, 1].min(), dst[:, 0].max(), dst[:, 1].max())]


def korean_set(src: Path, out: Path, limit: int | None, seed: int) -> list[Path]:
    if not FONT.exists():
        sys.exit(f"make_stress: {FONT} missing (apt-get install fonts-nanum; scripts/setup.sh does)")
    labels, names = load(src, limit)
    rng = random.Random(seed)
    dest = out / f"{src.name}_kr"
    dest.mkdir(parents=True, exist_ok=True)
    new_labels = {}
    for name in names:
        plates = [d for d in labels[name] if d["label"] == "plate"]
        if not plates:
            continue
        original = cv2.imread(str(src / name), cv2.IMREAD_COLOR)
        for style in STYLES:
            image = original.copy()
            boxes = [dict(d, box=paint_plate(image, d["box"], render_plate(style, rng), rng)) for d in plates]
            out_name = f"{Path(name).stem}_{style}.png"
            cv2.imwrite(str(dest / out_name), image)
            new_labels[out_name] = boxes + [d for d in labels[name] if d["label"] != "plate"]
    write_set(dest, new_labels)
    return [dest]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="stress sets from a labelled folder, written outside the repository")
    ap.add_argument("--src", type=Path, required=True, help="a folder with images and labels.json")
    ap.add_argument("--out", type=Path, default=Path("/tmp/redactor-bench/stress"))
    ap.add_argument("--kind", choices=["scale", "korean", "all"], default="all")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not (args.src / "labels.json").exists():
        sys.exit(f"make_stress: {args.src}/labels.json: no such file")
    repo = Path(__file__).resolve().parent.parent
    if args.out.resolve().is_relative_to(repo):
        sys.exit("make_stress: --out must lie outside the repository (the source images' licences forbid copies)")
    made = []
    if args.kind in ("scale", "all"):
        made += scale_sets(args.src, args.out, args.limit)
    if args.kind in ("korean", "all"):
        made += korean_set(args.src, args.out, args.limit, args.seed)
    for path in made:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
