"""A clerk's confirmation of the requester in frames the identity guard masked (issue 14): who, when, which frames,
validated where it is made; on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from dbsupport import *  # noqa: F403

from redactor.errors import BadInput
from redactor.identify.confirm import confirm_frames, confirmations_for
from redactor.jobs.models import Job, KeepSet


@pytest.fixture
def keep_set(session) -> KeepSet:
    job = Job(id="a" * 32, kind="analyze", created_by="clerk1")
    session.add(job)
    session.flush()
    ks = KeepSet(analysis_id=job.id, track_ids="[4, 9]", chosen_by="clerk1", reason="requester at frame 4")
    session.add(ks)
    session.flush()
    return ks


def test_confirmation_is_recorded_and_read_back(session, keep_set):
    first = confirm_frames(session, keep_set.id, 17, 23, "clerk1", note="looked at it: the requester", track=9,
                           frames=60)
    confirm_frames(session, keep_set.id, 40, 41, "clerk2")
    session.commit()
    rows = confirmations_for(session, keep_set.id)
    assert [(r["first"], r["last"], r["track"], r["by"]) for r in rows] == [(17, 23, 9, "clerk1"),
                                                                          (40, 41, None, "clerk2")]
    assert rows[0]["at"] and rows[0]["id"] == first.id and rows[0]["note"].startswith("looked")


@pytest.mark.parametrize("first, last, track, by, frames, message", [
    (5, 3, None, "clerk1", None, "0 <= first <= last"),
    (-1, 3, None, "clerk1", None, "0 <= first <= last"),
    (10, 60, None, "clerk1", 60, "has 60 frames"),
    (1, 2, 7, "clerk1", None, "not in keep-set"),
    (1, 2, None, " ", None, "who confirmed"),
])
def test_bad_confirmations_are_refused(session, keep_set, first, last, track, by, frames, message):
    with pytest.raises(BadInput, match=message):
        confirm_frames(session, keep_set.id, first, last, by, track=track, frames=frames)


def test_unknown_keep_set_is_refused(session):
    with pytest.raises(BadInput, match="no keep-set"):
        confirm_frames(session, 999, 1, 2, "clerk1")
