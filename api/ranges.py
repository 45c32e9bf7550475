"""HTTP Range (RFC 9110 §14) for stored objects: one byte range answers 206 with Content-Range, decrypting only the
chunks that hold it (`store.get_range`); no Range answers 200 with the whole object; a range past the end 416. A
request for several ranges gets the whole object (allowed by §14.2), which players never ask for anyway."""

from __future__ import annotations

import re

from fastapi.responses import Response, StreamingResponse
from starlette.requests import Request

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, stop) of a single satisfiable range, None for the whole object, "unsatisfiable" for 416."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or m.group(1) == m.group(2) == "":
        return None  # malformed or several ranges: ignored, the whole object is sent
    first, last = m.group(1), m.group(2)
    if first == "":  # the last N bytes
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return max(0, size - n), size
    start = int(first)
    stop = size if last == "" else min(int(last) + 1, size)
    if start >= size or stop <= start:
        return "unsatisfiable"
    return start, stop


def serve_object(request: Request, store, key: str, media_type: str, headers: dict[str, str] | None = None
                 ) -> Response:
    size = store.size(key)
    wanted = parse_range(request.headers.get("range"), size)
    common = {"Accept-Ranges": "bytes", **(headers or {})}
    if wanted == "unsatisfiable":
        return Response(status_code=416, headers=common | {"Content-Range": f"bytes */{size}"})
    start, stop = wanted if wanted else (0, size)
    chunks = store.get_range(key, start, stop)
    first = next(chunks, b"")  # expired, missing or altered: a clear error before any byte is sent

    def body():
        yield first
        yield from chunks

    common["Content-Length"] = str(stop - start)
    if wanted:
        return StreamingResponse(body(), status_code=206, media_type=media_type,
                                 headers=common | {"Content-Range": f"bytes {start}-{stop - 1}/{size}"})
    return StreamingResponse(body(), media_type=media_type, headers=common)
