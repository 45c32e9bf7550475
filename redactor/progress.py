"""Progress bars on long steps, shown only on a terminal (logs and pipes stay clean)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], total: int | None, desc: str, enabled: bool = True) -> Iterator[T]:
    show = enabled and sys.stderr.isatty()
    yield from tqdm(items, total=total or None, desc=desc, disable=not show, unit="frame", leave=False)
