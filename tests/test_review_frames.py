"""Frames by number for review: straight from the sealed object, seeking to the keyframe before the frame (never
decoding from the start each time), bit-identical to the frames render decodes."""

from __future__ import annotations

from datetime import timedelta

import av
import numpy as np
import pytest

from redactor.errors import BadInput
from redactor.media import decode
from redactor.review.frames import FrameSource, SealedFile, Sources, recording_opener
from redactor.storage.base import utcnow
from redactor.storage.local import LocalStore


def gop_clip(src, out, frames: int = 90, gop: int = 12, size=(320, 240)):
    """Real footage (vtest.avi) re-encoded by libx264 with a keyframe every `gop` frames, as cameras write it."""
    import cv2

    with av.open(str(src)) as inp, av.open(str(out), "w", format="mp4") as dst:
        stream = dst.add_stream("libx264", rate=10, options={"g": str(gop), "keyint_min": str(gop)})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i, frame in enumerate(inp.decode(video=0)):
            if i >= frames:
                break
            img = np.ascontiguousarray(cv2.resize(frame.to_ndarray(format="bgr24"), size))
            for p in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                dst.mux(p)
        for p in stream.encode():
            dst.mux(p)
    return out


@pytest.fixture(scope="module")
def clip(vtest, tmp_path_factory):
    return gop_clip(vtest, tmp_path_factory.mktemp("frames") / "gop.mp4")


@pytest.fixture
def sealed(clip, tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REDACTOR_MASTER_KEY", raising=False)
    store = LocalStore()
    store.put("recordings/x/gop.mp4", clip, utcnow() + timedelta(days=1))
    return store


def test_frames_by_number_equal_the_decoded_ones_and_seek(clip, sealed):
    every = [f.image for f in decode(clip)]
    src = FrameSource(recording_opener(sealed, "recordings/x/gop.mp4"))
    assert src.frames == len(every) == 90
    assert src.keyframes[:3] == [0, 12, 24]
    for n in (4, 5, 6, 80, 13, 89, 0, 47, 48, 30):
        assert np.array_equal(src.frame(n), every[n]), n
    # 10 requests in a jumbled order cost less than one pass over the clip: each jumps to its keyframe
    assert src.decoded <= 90 and src.seeks >= 4
    before = src.decoded
    for n in range(31, 40):  # stepping on decodes one frame each
        src.frame(n)
    assert src.decoded - before == 9
    with pytest.raises(BadInput):
        src.frame(90)


def test_sealed_file_reads_as_the_plain_file(clip, sealed):
    data = clip.read_bytes()
    f = SealedFile(sealed, "recordings/x/gop.mp4")
    assert f.read(100) == data[:100]
    f.seek(-50, 2)
    assert f.read() == data[-50:]
    f.seek(len(data) // 2)
    assert f.read(3 << 20) == data[len(data) // 2:]


def test_registered_file_and_cache(clip, sealed, monkeypatch):
    monkeypatch.setenv("REDACTOR_IMPORT_DIRS", str(clip.parent))  # footage registered in place is re-checked
    cache = Sources(size=1)
    a = cache.get("a", recording_opener(sealed, str(clip)))
    assert cache.get("a", lambda: None) is a
    cache.get("b", recording_opener(sealed, "recordings/x/gop.mp4"))
    assert cache.get("a", recording_opener(sealed, str(clip))) is not a  # evicted: opened again
    with pytest.raises(BadInput):
        recording_opener(sealed, "/no/such/file.mp4")
