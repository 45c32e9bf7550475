"""The Korean font for every document (NanumGothic), registered with reportlab once.

Found in REDACTOR_FONT_DIR when that is set (and only there); else in Debian's fonts-nanum; else in the machine's cache
(REDACTOR_CACHE/fonts, where `redactor models fetch` puts it out of its pinned wheel, so a pip-only install renders
Korean documents too). /readyz reports it missing before any job can fail on it.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from redactor.config import cache_dir
from redactor.errors import RedactorError

FONT = "NanumGothic"
FONT_BOLD = "NanumGothicBold"
DEBIAN = Path("/usr/share/fonts/truetype/nanum")


class FontMissing(RedactorError):
    exit_code = 4


def fetch_dir() -> Path:
    """Where `redactor models fetch` puts the font: REDACTOR_FONT_DIR when set, else the machine's cache."""
    configured = os.environ.get("REDACTOR_FONT_DIR")
    return Path(configured).expanduser() if configured else cache_dir() / "fonts"


def font_files() -> tuple[Path, Path]:
    """(regular, bold) TTF files; the regular one stands in for a missing bold."""
    configured = os.environ.get("REDACTOR_FONT_DIR")
    folders = [Path(configured).expanduser()] if configured else [DEBIAN, fetch_dir()]
    for folder in folders:
        regular, bold = folder / f"{FONT}.ttf", folder / f"{FONT_BOLD}.ttf"
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    where = f"REDACTOR_FONT_DIR={configured}" if configured else " or ".join(str(f) for f in folders)
    raise FontMissing(f"the Korean font {FONT}.ttf is not in {where}: run `redactor models fetch` (it takes it out of "
                      "a pinned PyPI wheel), or install the Debian package fonts-nanum")


@cache
def register() -> tuple[str, str]:
    """Register the font (embedded in each PDF, so a reader needs no Korean font of its own)."""
    regular, bold = font_files()
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    return FONT, FONT_BOLD


def styles() -> dict[str, ParagraphStyle]:
    regular, bold = register()
    # wordWrap CJK: Korean lines may break between any two syllables, not only at spaces.
    base = ParagraphStyle("body", fontName=regular, fontSize=10, leading=15, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=16, leading=22, alignment=1,
                                spaceAfter=10),
        "heading": ParagraphStyle("heading", parent=base, fontName=bold, fontSize=11, leading=16, spaceBefore=8),
    }
