"""Anonymised export (제32조① 4: press, research, statistics): every face and every plate masked, nobody kept, no
source metadata, and the second-opinion audit must pass before anything is stored. Fails closed: on an audit
objection nothing is written and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redactor.errors import AuditObjection, BadInput
from redactor.storage.base import ObjectInfo, ObjectStore


@dataclass
class AnonymisedExport:
    path: Path
    report: dict  # pipeline.RedactReport as JSON: tracks masked, audit findings (none), hashes, timings
    stored: ObjectInfo | None


def anonymised_export(video: str | Path, out: str | Path, *, store: ObjectStore | None = None,
                      object_key: str | None = None, expires_at: datetime | None = None, entry: int | None = None,
                      style: str = "solid", show_progress: bool = False) -> AnonymisedExport:
    """Mask everyone (no keep-set), audit, then (when `store` is given) store the clip under `object_key` until
    `expires_at`. `entry`, the 관리대장 number of the 제공 row, is embedded as the forensic mark when given; no visible
    text is burned in (an overlay could read as a plate to the audit, and the press crops it anyway)."""
    from redactor import pipeline
    from redactor.media import probe
    from redactor.render.watermark_forensic import release_hooks

    if store is not None and (not object_key or expires_at is None):
        raise BadInput("storing an anonymised export needs an object key and an expiry")
    info = probe(video)
    hooks = release_hooks(entry, info.width, info.height, info.fps) if entry is not None else ()
    report = pipeline.redact(video, out, keep=(), style=style, hooks=hooks, show_progress=show_progress)
    if not report.released:
        raise AuditObjection(f"{Path(video).name}: the audit still finds {len(report.findings)} face(s) or plate(s) "
                             "after masking; nothing exported")
    stored = store.put(object_key, out, expires_at, content_type="video/mp4") if store is not None else None
    return AnonymisedExport(Path(out), report.to_json(), stored)
