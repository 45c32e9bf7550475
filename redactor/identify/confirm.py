"""Confirming the requester's identity by hand, in the frames the identity guard masked as unverifiable.

The render report lists every kept frame masked for identity and why (`masked_for_identity`). A clerk who looks at
those frames and sees the requester confirms a range: `confirm_frames` records who, when, which frames (and which
track, or every kept track); the next render of that keep-set passes `confirmations_for(...)` to the identity guard
(`guard_for(..., confirmed=...)`), which shows the kept tracks there. A confirmation never overrides SFace: a face
matched to someone else stays masked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.errors import BadInput
from redactor.identify.models import IdentityConfirmation
from redactor.jobs.models import KeepSet

MAX_NOTE = 2000


def confirm_frames(session: Session, keep_set_id: int, first: int, last: int, by: str, note: str = "",
                   track: int | None = None, frames: int | None = None) -> IdentityConfirmation:
    """Record that `by` confirmed the requester in frames first..last (inclusive) of the keep-set's render.
    `frames`: the clip's frame count, when known (the range must lie inside it). Raises BadInput on a bad range,
    an unknown keep-set or a track that is not kept."""
    keep_set = session.get(KeepSet, keep_set_id)
    if keep_set is None:
        raise BadInput(f"no keep-set {keep_set_id}")
    if not by or not by.strip():
        raise BadInput("a confirmation needs the name of who confirmed it")
    if not isinstance(first, int) or not isinstance(last, int) or first < 0 or last < first:
        raise BadInput(f"frames {first}-{last}: a range is two frame numbers, 0 <= first <= last")
    if frames is not None and last >= frames:
        raise BadInput(f"frames {first}-{last}: the clip has {frames} frames (0-{frames - 1})")
    if track is not None and track not in keep_set.tracks:
        raise BadInput(f"track {track} is not in keep-set {keep_set_id} ({keep_set.tracks})")
    if len(note) > MAX_NOTE:
        raise BadInput(f"the note is longer than {MAX_NOTE} characters")
    row = IdentityConfirmation(keep_set_id=keep_set_id, track_id=track, first_frame=first, last_frame=last,
                               confirmed_by=by.strip()[:64], note=note)
    session.add(row)
    session.flush()
    return row


def confirmations_for(session: Session, keep_set_id: int) -> list[dict]:
    """The keep-set's confirmations, oldest first, in the form the identity guard takes."""
    rows = session.scalars(select(IdentityConfirmation).where(IdentityConfirmation.keep_set_id == keep_set_id)
                           .order_by(IdentityConfirmation.id))
    return [r.to_json() for r in rows]
