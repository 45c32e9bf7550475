"""The Korean font for every document: Debian's fonts-nanum (NanumGothic), registered with reportlab once."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from redactor.errors import RedactorError

FONT = "NanumGothic"
FONT_BOLD = "NanumGothicBold"
_DIR = Path(os.environ.get("REDACTOR_FONT_DIR", "/usr/share/fonts/truetype/nanum"))


class FontMissing(RedactorError):
    exit_code = 4


@cache
def register() -> tuple[str, str]:
    """Register the font (embedded in each PDF, so a reader needs no Korean font of its own)."""
    regular, bold = _DIR / "NanumGothic.ttf", _DIR / "NanumGothicBold.ttf"
    if not regular.exists():
        raise FontMissing(f"{regular} missing: install the Debian package fonts-nanum (scripts/setup.sh)")
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold if bold.exists() else regular)))
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
