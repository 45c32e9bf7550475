"""Forensic (invisible) watermark: ties a leaked copy to the ledger entry (관리대장 번호) that released it (제36조).

Scheme (written here; see docs/decisions.md for why not `invisible-watermark`): a keyed spread-spectrum pattern on a
coarse grid laid over the picture in *relative* coordinates, added to luma in every frame, its sign flipped by a
square wave in time.

- Payload: 32 bits = 24-bit ledger entry number + CRC-8 (polynomial 0x07) over those three bytes.
- Grid: GRID_W x GRID_H cells. A keyed permutation gives a quarter of the cells to a *pilot* (known value: detects
  the mark and finds the crop) and deals the rest out among the 32 payload bits; every cell has a keyed sign. The
  grid is upsampled bilinearly to the frame size: a soft low-frequency texture that H.264 at CRF 28 keeps and that
  survives scaling (coordinates are relative). Its strength follows the picture's local contrast (visual masking).
- Time: the pattern's sign flips every PERIOD / 2 seconds (by presentation time, so a changed frame rate does not
  matter). A still scene - most of CCTV - would otherwise be indistinguishable from a still mark; demodulating in time
  cancels it, and the unknown start of an excerpt is only an unknown phase.
- Extraction: per pixel of a small luma picture, least squares over the frames Y(t) = mu + a cos + b sin (the square
  wave's fundamental); for each crop hypothesis of up to CROP_MAX per side, (a, b) are mapped back onto the grid,
  high-passed and whitened at the grid's scale, and correlated with the pilot at the phase the pilot prefers. The best
  crop's pilot z-score is the confidence; the payload bits are read there and must pass the CRC. An unmarked clip
  gives no pilot peak (z under PILOT_Z_MIN) or fails the CRC: "none found".
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from redactor.errors import BadInput

GRID_W, GRID_H = 48, 27
WORK = 4  # work picture = grid x WORK pixels per cell: fine enough to map a crop back onto the grid
PAYLOAD_BITS = 32
ENTRY_BITS = 24
STRENGTH = 3.0  # grey levels at a cell centre, times the masking gain (PSNR in gpu_benchmarks/RESULTS.md)
CROP_MAX = 0.06  # per side
CROP_STEP = 0.01
PILOT_Z_MIN = 6.0  # unmarked clips' best pilot z over all crop hypotheses: under 4 (gpu_benchmarks/RESULTS.md)
MAX_ENTRY = (1 << ENTRY_BITS) - 1


GAIN_STD, GAIN_MIN, GAIN_MAX = 10.0, 0.5, 2.0
WHITEN = True
ADAPTIVE = True
PERIOD = 0.5  # seconds; measured: 2.0 s lost the payload on a panning clip, 0.5 s kept it with margin


def modulation(t: float) -> float:
    return 1.0 if np.cos(2.0 * np.pi * t / PERIOD) >= 0 else -1.0


def crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def encode_payload(entry: int) -> np.ndarray:
    """32 bits (0/1, MSB first): the entry's 24 bits, then its CRC-8."""
    if not 0 <= entry <= MAX_ENTRY:
        raise BadInput(f"ledger entry {entry} cannot be carried by the forensic mark (0..{MAX_ENTRY})")
    raw = entry.to_bytes(3, "big")
    word = (entry << 8) | crc8(raw)
    return np.array([(word >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)], dtype=np.int8)


def decode_payload(bits: np.ndarray) -> int | None:
    word = 0
    for b in bits:
        word = (word << 1) | int(b)
    entry, check = word >> 8, word & 0xFF
    return entry if crc8(entry.to_bytes(3, "big")) == check else None


@dataclass(frozen=True)
class Layout:
    """The keyed grid: which cells carry the pilot, which bit each other cell carries, and each cell's sign."""

    pilot: np.ndarray  # (GRID_H, GRID_W) bool
    bit: np.ndarray  # (GRID_H, GRID_W) int, -1 for pilot cells
    sign: np.ndarray  # (GRID_H, GRID_W) float32 of +-1


@cache
def layout(key: bytes) -> Layout:
    seed = int.from_bytes(hmac.new(key, b"redactor forensic watermark v1", hashlib.sha256).digest()[:16], "big")
    rng = np.random.Generator(np.random.PCG64(seed))
    n = GRID_W * GRID_H
    order = rng.permutation(n)
    n_pilot = n // 4
    bit = np.full(n, -1, dtype=np.int32)
    bit[order[n_pilot:]] = np.arange(n - n_pilot) % PAYLOAD_BITS
    sign = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=n)
    return Layout(pilot=(bit < 0).reshape(GRID_H, GRID_W), bit=bit.reshape(GRID_H, GRID_W),
                  sign=sign.reshape(GRID_H, GRID_W))


def _key(key: bytes | None) -> bytes:
    if key is not None:
        return key
    from redactor.storage.secrets import watermark_key

    return watermark_key()


class ForensicMarker:
    """Per-frame embedding, for use inside any encode loop: `frame = marker.apply(frame, index)`."""

    def __init__(self, entry: int, key: bytes | None = None, strength: float = STRENGTH, fps: float = 25.0) -> None:
        self.entry = entry
        self.fps = fps  # turns a frame index into time where the caller gives no timestamp
        lay = layout(_key(key))
        symbols = 2.0 * encode_payload(entry).astype(np.float32) - 1.0
        values = np.where(lay.pilot, 1.0, symbols[np.maximum(lay.bit, 0)]) * lay.sign
        self._grid = (values * strength).astype(np.float32)
        self._full: dict[tuple[int, int], np.ndarray] = {}

    def pattern(self, height: int, width: int) -> np.ndarray:
        """The additive luma pattern at this frame size (cached: the loop pays one add per frame)."""
        if (height, width) not in self._full:
            self._full[(height, width)] = cv2.resize(self._grid, (width, height), interpolation=cv2.INTER_LINEAR)
        return self._full[(height, width)]

    def _gain(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Visual masking: a busy area hides a stronger mark, a flat one (sky, walls) gets a weaker one."""
        h, w = frame_bgr.shape[:2]
        small = cv2.resize(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), (GRID_W * WORK, GRID_H * WORK),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        mean = cv2.blur(small, (5, 5))
        std = np.sqrt(np.maximum(cv2.blur(small * small, (5, 5)) - mean * mean, 0.0))
        gain = np.clip(std / GAIN_STD, GAIN_MIN, GAIN_MAX)
        return cv2.resize(cv2.GaussianBlur(gain, (5, 5), 1.5), (w, h), interpolation=cv2.INTER_LINEAR)

    def apply(self, frame_bgr: np.ndarray, frame_index: int = 0, time: float | None = None) -> np.ndarray:
        """Mark one frame. `time` is the frame's presentation time in seconds (else frame_index / fps): the pattern's
        sign follows a square wave in time, so a still scene's picture cancels out at extraction."""
        h, w = frame_bgr.shape[:2]
        t = frame_index / self.fps if time is None else time
        # Equal change to B, G and R is a pure luma change: no colour cast.
        pattern = self.pattern(h, w)
        if ADAPTIVE:
            pattern = pattern * self._gain(frame_bgr)
        out = frame_bgr.astype(np.float32) + modulation(t) * pattern[:, :, None]
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Extraction:
    entry: int | None  # None: no mark found
    confidence: float  # the pilot's z-score at the best crop hypothesis
    crop: tuple[float, float, float, float]  # left, top, right, bottom share cut off, as best explains the clip
    frames: int
    bit_margin: float  # the weakest payload bit's |z|: how close the read came to a bit error

    def to_json(self) -> dict:
        return {"entry": self.entry, "confidence": round(self.confidence, 2),
                "crop": [round(c, 3) for c in self.crop], "frames": self.frames,
                "bit_margin": round(self.bit_margin, 2)}


class ForensicReader:
    """Accumulates frames (any size), then reads the mark once: `reader.add(frame)...; reader.result()`."""

    def __init__(self, key: bytes | None = None) -> None:
        self.layout = layout(_key(key))
        shape = (3, GRID_H * WORK, GRID_W * WORK)
        self._img = np.zeros(shape, dtype=np.float64)  # sums of Y, Y cos, Y sin
        self._gram = np.zeros((3, 3))  # sums of the regressors' products (1, cos, sin)
        self.frames = 0

    def add(self, frame_bgr: np.ndarray, time: float) -> None:
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
        small = cv2.resize(gray, (GRID_W * WORK, GRID_H * WORK), interpolation=cv2.INTER_AREA)
        phase = 2.0 * np.pi * time / PERIOD
        reg = np.array([1.0, np.cos(phase), np.sin(phase)])
        self._img += reg[:, None, None] * small[None]
        self._gram += np.outer(reg, reg)
        self.frames += 1

    def _demodulated(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel, least squares Y(t) = mu + a cos + b sin: the mark lies in (a, b); a still picture in mu."""
        coef = np.linalg.pinv(self._gram) @ self._img.reshape(3, -1)
        shape = self._img.shape[1:]
        return coef[1].reshape(shape).astype(np.float32), coef[2].reshape(shape).astype(np.float32)

    def _cells(self, mean: np.ndarray, crop: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Map the observed (cropped) picture back onto the original frame's grid; high-pass at the grid's scale."""
        left, top, right, bottom = crop
        ww, wh = GRID_W * WORK, GRID_H * WORK
        ax, ay = 1.0 / (1.0 - left - right), 1.0 / (1.0 - top - bottom)
        # dst pixel X (original frame) -> src pixel x (observed clip); both at work size
        m = np.array([[ax, 0.0, 0.5 * ax - left * ww * ax - 0.5], [0.0, ay, 0.5 * ay - top * wh * ay - 0.5]])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        img = cv2.warpAffine(mean, m, (ww, wh), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        mask = cv2.warpAffine(np.ones_like(mean), m, (ww, wh), flags=flags, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0.0)
        csum = cv2.resize(img * mask, (GRID_W, GRID_H), interpolation=cv2.INTER_AREA)
        cw = cv2.resize(mask, (GRID_W, GRID_H), interpolation=cv2.INTER_AREA)
        cells = csum / np.maximum(cw, 1e-6)
        valid = (cw > 0.7).astype(np.float32)
        local = cv2.GaussianBlur(cells * valid, (5, 5), 1.0) / np.maximum(cv2.GaussianBlur(valid, (5, 5), 1.0), 1e-6)
        v = (cells - local) * valid
        if WHITEN:
            # busy picture areas carry more host noise: weigh each cell by the inverse of its neighbourhood's energy
            energy = np.sqrt(cv2.GaussianBlur(v * v, (7, 7), 1.5))
            v = v / (energy + 0.05 * float(np.mean(energy)) + 1e-6)
        return v, valid

    def _score(self, v: np.ndarray) -> float:
        lay = self.layout
        p = v[lay.pilot]
        energy = float(np.sqrt(np.sum(p * p)))
        return float(np.sum(p * lay.sign[lay.pilot]) / energy) if energy > 0 else 0.0

    def result(self) -> Extraction:
        if self.frames == 0:
            return Extraction(None, 0.0, (0.0, 0.0, 0.0, 0.0), 0, 0.0)
        a, b = self._demodulated()
        steps = np.round(np.arange(0.0, CROP_MAX + 1e-9, CROP_STEP), 4)
        best = (-np.inf, (0.0, 0.0, 0.0, 0.0), None)
        lay = self.layout
        for crop in itertools.product(steps, steps, steps, steps):
            va, _ = self._cells(a, crop)
            vb, _ = self._cells(b, crop)
            # the clip's start is unknown, so is the square wave's phase: take the one the pilot prefers
            ca = float(np.sum(va[lay.pilot] * lay.sign[lay.pilot]))
            cb = float(np.sum(vb[lay.pilot] * lay.sign[lay.pilot]))
            theta = np.arctan2(cb, ca)
            v = np.cos(theta) * va + np.sin(theta) * vb
            z = self._score(v)
            if z > best[0]:
                best = (z, tuple(float(c) for c in crop), v)
        z, crop, v = best
        zbits = np.zeros(PAYLOAD_BITS)
        for k in range(PAYLOAD_BITS):
            sel = lay.bit == k
            vals = v[sel]
            energy = float(np.sqrt(np.sum(vals * vals)))
            zbits[k] = float(np.sum(vals * lay.sign[sel]) / energy) if energy > 0 else 0.0
        entry = decode_payload((zbits > 0).astype(np.int8)) if z >= PILOT_Z_MIN else None
        return Extraction(entry, z, crop, self.frames, float(np.min(np.abs(zbits))))


# ---- whole clips (the CLI; the release step marks frames inside its own encode loop with ForensicMarker) ----

EXTRACT_MAX_FRAMES = 1500


def mark_clip(src: str | Path, dst: str | Path, entry: int, lines: list[str] | None = None,
              key: bytes | None = None, crf: int = 18) -> int:
    """Decode `src`, burn in the visible mark (when `lines` is given), embed the forensic mark, encode `dst`
    (atomically, no audio). Returns the number of frames written."""
    from redactor.media import VideoWriter, atomic_output, decode, probe
    from redactor.render.watermark_visible import VisibleWatermark

    info = probe(src)
    marker = ForensicMarker(entry, key, fps=info.fps)
    visible = VisibleWatermark(lines, info.width, info.height) if lines else None
    # a fine time base: the writer's B-frames need room between coarse source timestamps
    tb = Fraction(1, 90000)
    with atomic_output(dst) as tmp, VideoWriter(tmp, info.width, info.height, info.fps, tb, crf=crf) as writer:
        last = -1
        for frame in decode(src, info.rotation):
            image = visible.apply(frame.image) if visible else frame.image
            pts = max(last + 1, round(frame.time * 90000))
            writer.write(marker.apply(image, frame.index, frame.time), pts)
            last = pts
        count = writer.frames
    if count == 0:
        raise BadInput(f"{src}: no frames")
    return count


def extract_clip(path: str | Path, key: bytes | None = None, max_frames: int = EXTRACT_MAX_FRAMES) -> Extraction:
    from redactor.media import decode, probe

    info = probe(path)
    reader = ForensicReader(key)
    for frame in decode(path, info.rotation):
        reader.add(frame.image, frame.time)
        if reader.frames >= max_frames:
            break
    return reader.result()


def release_hooks(entry: int, width: int, height: int, fps: float, lines: list[str] | None = None,
                  keep_boxes: Callable[[int], list] | None = None, key: bytes | None = None
                  ) -> list[Callable[[np.ndarray, int], np.ndarray]]:
    """Frame hooks `(image, index) -> image` for pipeline.render: the visible mark (when `lines` is given; placed
    away from `keep_boxes(index)`, the kept person's boxes in that frame), then the forensic mark. Both run inside the
    renderer's own encode loop: no second encode."""
    from redactor.render.watermark_visible import VisibleWatermark

    hooks: list[Callable[[np.ndarray, int], np.ndarray]] = []
    if lines:
        visible = VisibleWatermark(lines, width, height)
        hooks.append(lambda image, index: visible.apply(image, keep_boxes(index) if keep_boxes else None))
    marker = ForensicMarker(entry, key, fps=fps)
    hooks.append(marker.apply)
    return hooks
