"""A kept track is a verified person (issue 14), on a small clip we draw: two people of different clothes cross, and
the tracker swapped them at the crossing. Tracks are cut there at analysis; the guard follows the requester's body
into the right piece by motion and appearance, never into the stranger's; the kept frames it cannot verify are
masked and listed; the audit exempts only what was verified; a face's parent is the person whose head holds it."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import pytest
from conftest import EVALDATA

from redactor.audit import FrameAudit
from redactor.detect.engine import AuditDetector
from redactor.identify.guard import IdentityGuard
from redactor.media import VideoWriter
from redactor.track.masks import plan_masks
from redactor.track.split import assign_parents, split_tracks
from redactor.track.table import Track, TrackTable

W, H, N = 320, 200, 40
CLOTHES = {"a": ((40, 40, 200), (160, 60, 20)), "b": ((40, 180, 40), (30, 200, 220))}  # BGR upper, lower


def _person(k: int, who: str) -> np.ndarray:
    """The box of `who` at frame k: a walks right, b walks left, on one line; they overlap around frame 20."""
    x = 40 + 6 * k if who == "a" else 260 - 6 * k
    return np.array([x, 60, x + 24, 140], np.float32)


def _draw(k: int) -> np.ndarray:
    rng = np.random.default_rng(k)
    img = np.full((H, W, 3), 120, np.uint8)
    img += rng.integers(0, 8, img.shape, dtype=np.uint8)
    for who in ("b", "a"):  # a in front
        x1, y1, x2, y2 = _person(k, who).astype(int)
        upper, lower = CLOTHES[who]
        cv2.rectangle(img, (x1 + 7, y1), (x2 - 7, y1 + 12), (90, 120, 170), -1)  # head
        cv2.rectangle(img, (x1, y1 + 13), (x2, y1 + 42), upper, -1)
        cv2.rectangle(img, (x1 + 2, y1 + 43), (x2 - 2, y2), lower, -1)
    return img


@pytest.fixture(scope="module")
def crossing(tmp_path_factory) -> tuple:
    return make_crossing(tmp_path_factory.mktemp("cross"))


def make_crossing(folder) -> tuple:
    path = folder / "cross.mp4"
    with VideoWriter(path, W, H, 10.0, Fraction(1, 10)) as writer:
        for k in range(N):
            writer.write(_draw(k), k)
    # what a tracker that swapped them at the crossing gives: track 1 follows a, then b; track 2 b, then a
    frames = np.arange(N)
    swap = frames >= 22
    one = np.array([_person(k, "b" if s else "a") for k, s in zip(frames, swap, strict=True)])
    two = np.array([_person(k, "a" if s else "b") for k, s in zip(frames, swap, strict=True)])
    tracks = [Track(1, "person", frames, one, np.ones(N, np.float32), ["coco"] * N),
              Track(2, "person", frames.copy(), two, np.ones(N, np.float32), ["coco"] * N)]
    tracks = split_tracks(tracks)
    assign_parents(tracks)
    table = TrackTable(video={"fps": 10.0}, frames=N, models={}, params={"stride": 1}, tracks=tracks)
    return path, table


def _who(track: Track) -> str:
    k = int(track.frames[len(track.frames) // 2])
    box = track.boxes[len(track.frames) // 2]
    return "a" if np.allclose(box, _person(k, "a")) else "b"


def test_tracks_are_cut_at_the_crossing(crossing):
    _, table = crossing
    pieces = sorted(table.tracks, key=lambda t: (t.origin or t.id, int(t.frames[0])))
    assert len(pieces) >= 4, [(t.id, t.frames[0], t.frames[-1], t.contact) for t in pieces]
    # no piece that is not a contact piece holds both people
    for t in pieces:
        if not t.contact:
            whos = {("a" if np.allclose(b, _person(int(f), "a")) else "b") for f, b in zip(t.frames, t.boxes,
                                                                                          strict=True)}
            assert len(whos) == 1, (t.id, whos)


def test_guard_follows_the_requester_not_the_stranger(crossing):
    path, table = crossing
    first = next(t for t in table.tracks if t.id == 1)  # the clerk kept track 1 where it showed a
    assert _who(first) == "a" and not first.contact
    guard = IdentityGuard(table, [1], path)
    keep = [1, *guard.prepare()]
    by_id = table.by_id()
    followed = [by_id[i] for i in guard.requester]
    assert {_who(t) for t in followed} == {"a"}, guard.events
    assert any(t.frames[0] > 22 and t.frames[-1] == N - 1 for t in followed), guard.events
    # the frames where they overlap are masked for identity on a's head, and listed
    listed = {f for m in guard.masked_frames() for f in m["frames"]}
    body, contact = guard._body()
    assert contact and contact <= listed | (set(range(N)) - set(body))
    for f in sorted(contact):
        assert len(guard(np.zeros((H, W, 3), np.uint8), f)), f
    # b is never shown: every frame's b head is under a mask of render's plan or the guard's
    planned = plan_masks(table, set(keep))
    for k in range(N):
        head = _person(k, "b")[[0, 1, 2, 1]] + np.array([7, 0, -7, 12], np.float32)
        boxes = [*planned.get(k, []), *guard(np.zeros((H, W, 3), np.uint8), k)]
        covered = any(b[0] <= head[0] and b[1] <= head[1] and b[2] >= head[2] and b[3] >= head[3] for b in boxes)
        assert covered, k
    # every frame of a's body is verified (and exempt from the audit) or listed as masked for identity
    assert all(len(guard.verified(k)) or k in listed for k in body)
    assert sum(bool(len(guard.verified(k))) for k in body) >= 0.6 * len(body)


def test_face_parent_is_the_person_whose_head_holds_it():
    frames = np.arange(3)
    near = Track(1, "person", frames, np.array([[100, 50, 140, 170]] * 3, np.float32), np.ones(3))
    far = Track(2, "person", frames, np.array([[90, 20, 130, 140]] * 3, np.float32), np.ones(3))
    # a face on far's head, inside near's body box too (near stands in front, lower in the picture)
    face = Track(3, "face", frames, np.array([[103, 22, 117, 38]] * 3, np.float32), np.ones(3))
    tracks = [near, far, face]
    assign_parents(tracks)
    assert face.parent == 2


def _face_frame() -> tuple[np.ndarray, np.ndarray]:
    labels = json.loads((EVALDATA / "identities" / "labels.json").read_text())["people"]
    photo = cv2.imread(str(EVALDATA / "identities" / "p01" / "01.jpg"))
    x1, y1, x2, y2 = labels["p01"]["photos"]["01.jpg"]["face"]
    face = photo[int(y1):int(y2), int(x1):int(x2)]
    face = cv2.resize(face, (60, round(60 * face.shape[0] / face.shape[1])))
    frame = np.full((360, 480, 3), 110, np.uint8)
    frame[100:100 + face.shape[0], 200:260] = face
    return frame, np.array([200, 100, 260, 100 + face.shape[0]], np.float32)


def test_audit_exempts_only_the_verified_face():
    frame, face = _face_frame()
    body = np.array([170, 80, 300, 350], np.float32)  # a kept person whose box holds a face that is not verified
    table = TrackTable(video={}, frames=1, models={}, params={}, tracks=[
        Track(1, "person", np.array([0]), body[None], np.ones(1, np.float32))])
    detector = AuditDetector()
    assert detector.detect(frame).with_label("face"), "the audit detector does not see the face"
    unverified = FrameAudit(detector, table, [1], verified=lambda i: np.zeros((0, 4), np.float32))
    unverified(frame, 0)
    assert [f.label for f in unverified.findings] == ["face"]  # a face inside a kept body is a finding
    verified = FrameAudit(detector, table, [1], verified=lambda i: face[None])
    verified(frame, 0)
    assert not verified.findings


def test_a_clerks_confirmation_shows_the_frames_it_covers(crossing):
    path, table = crossing
    plain = IdentityGuard(table, [1], path)
    plain.prepare()
    masked = {f for m in plain.masked_frames() for f in m["frames"]}
    assert masked
    confirmed = IdentityGuard(table, [1], path, confirmed=[{"first": min(masked), "last": max(masked),
                                                            "track": None, "by": "clerk1"}])
    confirmed.prepare()
    assert not {f for m in confirmed.masked_frames() for f in m["frames"]} & masked
    assert all(len(confirmed.verified(f)) for f in masked)
