"""Proposing the requester's tracks from a photo, given with the requester's consent.

The photo's largest face is embedded with SFace; each face track is scored by its best crops (mean of its two best
cosines, so one odd crop cannot carry a track); tracks at or above the published operating point (0.363) are
proposed, best first. Pieces of one person's track (the tracker lost and re-found them) become one proposal: they
match the photo, match each other, and never coexist in time unless they are the same box (a duplicate track).
The clerk decides; `keep_from_photo` is the shortcut that takes the best proposal and records the consent."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from redactor.errors import BadInput, RedactorError
from redactor.hashing import sha256_file
from redactor.identify.embeddings import enrich_embeddings, has_embeddings
from redactor.identify.faces import largest_face
from redactor.identify.sface import THRESHOLD, SFace, cosine
from redactor.track.table import Track, TrackTable


class NoMatch(RedactorError):
    """No track matches the requester's photo: nothing is kept (the clerk picks tracks by hand or by thumbnail)."""

    exit_code = 5


@dataclass
class Proposal:
    tracks: list[int]
    score: float
    scores: dict[int, float] = field(default_factory=dict)
    by: str = "face"  # "face" (SFace against the photo) or "appearance" (the body, where faces are too small)

    def to_json(self) -> dict:
        track: int | list[int] = self.tracks[0] if len(self.tracks) == 1 else self.tracks
        out = {"track": track, "score": round(self.score, 3)}
        if self.by != "face":
            out["by"] = self.by
        return out


@dataclass
class PhotoEmbedding:
    embedding: np.ndarray  # (128,) unit vector
    box: np.ndarray
    sha256: str


def embed_photo(path: str | Path) -> PhotoEmbedding:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BadInput(f"{path}: cannot read the photo ({err.strerror or err})") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadInput(f"{path}: not a readable image")
    found = largest_face(image)
    if found is None:
        raise BadInput(f"{path}: no face found in the photo (a clear frontal photo of the requester is needed)")
    box, landmarks = found
    return PhotoEmbedding(SFace().embed(image, landmarks[None])[0], box, hashlib.sha256(data).hexdigest())


def track_score(track: Track, reference: np.ndarray) -> float | None:
    if not track.embeddings:
        return None
    sims = np.sort(cosine(np.asarray(track.embeddings), reference).ravel())[::-1]
    return float(sims[:2].mean())


def _same_face_where_coexisting(a: Track, b: Track) -> bool:
    """True when the two tracks never coexist, or coexist only as the same box (a duplicate track of one face)."""
    common, ia, ib = np.intersect1d(a.frames, b.frames, return_indices=True)
    if not len(common):
        return True
    ba, bb = a.boxes[ia], b.boxes[ib]
    ix = np.clip(np.minimum(ba[:, 2], bb[:, 2]) - np.maximum(ba[:, 0], bb[:, 0]), 0, None)
    iy = np.clip(np.minimum(ba[:, 3], bb[:, 3]) - np.maximum(ba[:, 1], bb[:, 1]), 0, None)
    inter = ix * iy
    # Intersection over the smaller box: a head-region track (from the person box) sits offset over the same face.
    smaller = np.minimum((ba[:, 2] - ba[:, 0]) * (ba[:, 3] - ba[:, 1]), (bb[:, 2] - bb[:, 0]) * (bb[:, 3] - bb[:, 1]))
    return bool(np.median(inter / np.maximum(smaller, 1e-6)) >= 0.4)


def propose(table: TrackTable, reference: np.ndarray, threshold: float = THRESHOLD) -> list[Proposal]:
    """Face tracks matching the reference embedding, pieces of one person grouped, best first."""
    scored = [(s, t) for t in table.tracks if t.label == "face" and (s := track_score(t, reference)) is not None]
    matches = sorted(((s, t) for s, t in scored if s >= threshold), key=lambda st: -st[0])
    groups: list[list[tuple[float, Track]]] = []
    for s, t in matches:
        for g in groups:
            mutual = max(float(cosine(np.asarray(t.embeddings), np.asarray(u.embeddings)).max()) for _, u in g)
            if mutual >= threshold and all(_same_face_where_coexisting(t, u) for _, u in g):
                g.append((s, t))
                break
        else:
            groups.append([(s, t)])
    out = [Proposal(tracks=sorted(t.id for _, t in g), score=max(s for s, _ in g),
                    scores={t.id: round(s, 3) for s, t in g}) for g in groups]
    return sorted(out, key=lambda p: -p.score)


def consent_record(photo: PhotoEmbedding, proposal: Proposal | None, who: str | None = None) -> dict:
    """What the report keeps of the requester's consent to a face match: who, when, which photo (its hash only;
    the photo itself and its embedding are never stored)."""
    return {"who": who or "requester", "recorded_by": _operator(),
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "photo_sha256": photo.sha256,
            "purpose": "face match to find the requester's own tracks (지침 제33조 열람 request)",
            "model": "face_sface", "threshold": THRESHOLD,
            "matched": proposal.tracks if proposal else [], "score": round(proposal.score, 3) if proposal else None}


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def ensure_embeddings(table: TrackTable, video: str | Path | None) -> None:
    if has_embeddings(table):
        return
    if video is None or not Path(video).exists():
        raise BadInput(f"the track table has no face embeddings and the video ({video}) to compute them is not "
                       "found: give --video")
    expected = table.video.get("sha256")
    if expected and expected != sha256_file(Path(video)):
        raise BadInput(f"{video}: the track table was made from another video (sha256 differs)")
    enrich_embeddings(table, video)


def keep_from_photo(table: TrackTable, video: str | Path | None, photo: str | Path, who: str | None = None
                    ) -> tuple[list[int], dict]:
    """The best proposal's face tracks plus their parent person tracks (the body stays visible), and the consent
    record. Raises NoMatch when no track reaches the threshold."""
    ref = embed_photo(photo)
    ensure_embeddings(table, video)
    proposals = propose(table, ref.embedding)
    if not proposals:
        raise NoMatch(f"no face track matches the requester's photo (cosine >= {THRESHOLD}); pick tracks by hand "
                      "with --keep (see `redactor tracks --sheet`)")
    best = proposals[0]
    by_id = table.by_id()
    ids = set(best.tracks)
    ids |= {by_id[i].parent for i in best.tracks if by_id[i].parent is not None and by_id[i].parent in by_id}
    return sorted(ids), consent_record(ref, best, who)


def locate_video(table: TrackTable, tracks_path: str | Path, given: str | Path | None) -> Path | None:
    """The analysed video: as given, else beside the track table under its recorded name, else where it was
    analysed (`location`, recorded by analyze), else as recorded."""
    if given:
        p = Path(given)
        if not p.exists():
            raise BadInput(f"{p}: no such video")
        return p
    recorded = table.video.get("path")
    candidates = [Path(tracks_path).parent / Path(recorded).name] if recorded else []
    if table.video.get("location"):
        candidates.append(Path(table.video["location"]))
    if recorded:
        candidates.append(Path(recorded))
    for p in candidates:
        if p.is_file():
            return p
    return None


def largest_face_px(table: TrackTable) -> float:
    """The tallest face box of any face track (detector boxes, not head guesses), 0 without one."""
    sizes = [float(np.max(t.boxes[:, 3] - t.boxes[:, 1])) for t in table.tracks
             if t.label == "face" and len(t.frames) and set(t.sources) - {"head", "flow", "identity", "audit"}]
    return max(sizes, default=0.0)


def propose_by_appearance(table: TrackTable, video: str | Path, photo: str | Path,
                          threshold: float | None = None) -> list[Proposal]:
    """Where the clip's faces are too small to recognise: person tracks whose body looks like the requester's body
    in the photo (colours of head, upper and lower body, redactor.identify.appearance), best first; [] when the
    photo shows no body. Weaker than a face match: the clerk checks every one."""
    from redactor.detect.yolo import COCO_PERSON, Yolo
    from redactor.identify.appearance import LINK_APPEARANCE, describe, person_looks, similarity

    image = cv2.imdecode(np.frombuffer(Path(photo).read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    boxes, _, cls = Yolo("coco_yolov8n", threshold=0.4)(image)
    boxes = boxes[cls == COCO_PERSON]
    if not len(boxes):
        return []
    body = boxes[int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))]
    ref = describe(image, body[None])
    if np.isnan(ref).any():
        return []
    looks = person_looks(table, video)
    t = LINK_APPEARANCE if threshold is None else threshold
    out = []
    for tid, look in looks.items():
        s = float(similarity(look, ref)[0, 0])
        if s >= t:
            out.append(Proposal(tracks=[tid], score=s, scores={tid: round(s, 3)}, by="appearance"))
    return sorted(out, key=lambda p: -p.score)
