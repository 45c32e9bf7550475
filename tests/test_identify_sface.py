"""SFace through onnxruntime against OpenCV's own FaceRecognizerSF, and same/different person on real photos."""

from __future__ import annotations

import json
from itertools import combinations

import cv2
import numpy as np
import pytest

from redactor.errors import BadInput
from redactor.identify.faces import largest_face
from redactor.identify.propose import embed_photo
from redactor.identify.sface import THRESHOLD, SFace, align, cosine
from redactor.weights.manifest import model_path


@pytest.fixture(scope="module")
def identities(evaldata):
    folder = evaldata / "identities"
    return folder, json.loads((folder / "labels.json").read_text())["people"]


def test_embeddings_match_opencv_face_recognizer(identities):
    folder, people = identities
    recognizer = cv2.FaceRecognizerSF.create(str(model_path("face_sface")), "")
    sface = SFace()
    photos = [folder / p / sorted(people[p]["photos"])[0] for p in ("p01", "p04", "p08", "p09", "p11")]
    for path in photos:
        image = cv2.imread(str(path))
        box, marks = largest_face(image)
        row = np.concatenate([[box[0], box[1], box[2] - box[0], box[3] - box[1]], marks.ravel(), [0.9]])
        theirs_crop = recognizer.alignCrop(image, row.astype(np.float32)[None])
        ours_crop = align(image, marks)
        assert np.abs(theirs_crop.astype(int) - ours_crop.astype(int)).max() <= 2, path
        theirs = recognizer.feature(theirs_crop).ravel()
        ours = sface.embed(image, marks[None])[0]
        assert float(cosine(theirs, ours)[0, 0]) > 0.999, path
        assert abs(float(np.linalg.norm(ours)) - 1) < 1e-5


def test_same_person_matches_and_others_do_not(identities):
    folder, people = identities
    emb = {}
    for p in sorted(people):
        for name in sorted(people[p]["photos"])[:3]:
            emb[(p, name)] = embed_photo(folder / p / name).embedding
    same = [float(cosine(emb[a], emb[b])[0, 0]) for a, b in combinations(emb, 2) if a[0] == b[0]]
    other = [float(cosine(emb[a], emb[b])[0, 0]) for a, b in combinations(emb, 2) if a[0] != b[0]]
    assert np.mean(np.array(same) >= THRESHOLD) >= 0.9
    assert np.mean(np.array(other) >= THRESHOLD) <= 0.01


def test_photo_without_face_or_unreadable_is_refused(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    with pytest.raises(BadInput, match="not a readable image"):
        embed_photo(junk)
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((300, 300, 3), 128, np.uint8))
    with pytest.raises(BadInput, match="no face"):
        embed_photo(blank)
    with pytest.raises(BadInput, match="cannot read"):
        embed_photo(tmp_path / "missing.jpg")
