"""`redactor tracks --sheet`: numbered thumbnails, faces and persons first, a person shown by its own face."""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
from PIL import Image

from redactor.cli import main
from redactor.identify.sheet import CAPTION, TILE, ordered
from redactor.track.table import Track, TrackTable


def _thumb(image: np.ndarray, box) -> dict:
    x1, y1, x2, y2 = (int(v) for v in box)
    ok, jpg = cv2.imencode(".jpg", image[y1:y2, x1:x2])
    assert ok
    return {"frame": 0, "box": [float(v) for v in box], "jpeg_b64": base64.b64encode(jpg.tobytes()).decode()}


def _track(tid, label, box, image, parent=None, thumb=True):
    return Track(id=tid, label=label, frames=np.arange(3), boxes=np.tile(np.float32(box), (3, 1)),
                 scores=np.full(3, 0.9, np.float32), sources=["yunet"] * 3, parent=parent,
                 thumbnail=_thumb(image, box) if thumb else None)


def test_sheet_draws_numbered_tiles_with_person_faces(evaldata, tmp_path):
    folder = evaldata / "identities"
    people = json.loads((folder / "labels.json").read_text())["people"]
    photo = cv2.imread(str(folder / "p04" / "01.jpg"))
    face = people["p04"]["photos"]["01.jpg"]["face"]
    h, w = photo.shape[:2]
    tracks = [_track(5, "vehicle", [0, h // 2, w // 2, h], photo),
              _track(2, "person", [0, 0, w, h], photo),
              _track(3, "face", face, photo, parent=2),
              _track(9, "plate", [10, 10, 60, 30], photo, thumb=False)]
    table = TrackTable(video={"path": "x.mp4"}, frames=3, models={}, params={}, tracks=tracks)
    assert [t.id for t in ordered(table)] == [3, 2, 5, 9]
    path = tmp_path / "T.json"
    table.save(path)
    sheet = tmp_path / "sheet.png"
    assert main(["tracks", str(path), "--sheet", str(sheet)]) == 0
    img = np.asarray(Image.open(sheet).convert("RGB"))
    assert img.shape == (TILE + CAPTION, 4 * TILE, 3)
    face_tile, person_tile = img[22:TILE - 2, 2:TILE - 2], img[22:TILE - 2, TILE + 2:2 * TILE - 2]
    # the person is shown by its own face track's thumbnail, not its body crop
    assert np.abs(face_tile.astype(int) - person_tile.astype(int)).mean() < 3
    assert face_tile.std() > 20  # a real picture, not a blank tile


def test_tracks_lists_without_sheet(tmp_path, capsys, evaldata):
    photo = cv2.imread(str(evaldata / "identities" / "p01" / "01.jpg"))
    table = TrackTable(video={}, frames=3, models={}, params={},
                       tracks=[_track(1, "face", [75, 57, 187, 199], photo)])
    table.save(tmp_path / "T.json")
    assert main(["tracks", str(tmp_path / "T.json")]) == 0
    assert "#1" in capsys.readouterr().out
    assert main(["tracks", str(tmp_path / "missing.json")]) == 2
