"""REDACTOR_DECODE (issue 18): NVDEC through PyAV's hardware acceleration where asked for and possible; where not (no
CUDA device here, a PyAV without hardware acceleration), the CPU decoder, with the reason logged once, and the very
frames the CPU decoder gives."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from clips import short_clip

from redactor.config import ConfigError
from redactor.media import decode
from redactor.media.decode import _decoder, decoder


@pytest.fixture(autouse=True)
def fresh_choice():
    _decoder.cache_clear()
    yield
    _decoder.cache_clear()


@pytest.fixture(scope="module")
def clip(vtest: Path, tmp_path_factory) -> Path:
    return short_clip(vtest, tmp_path_factory.mktemp("decoder") / "c.mp4", seconds=1.0, audio=False)


def _gpu_here() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def test_cpu_is_the_default(monkeypatch) -> None:
    monkeypatch.delenv("REDACTOR_DECODE", raising=False)
    d = decoder()
    assert (d.asked, d.used, d.hwaccel) == ("cpu", "cpu", None)


@pytest.mark.skipif(_gpu_here(), reason="a GPU machine decodes with NVDEC (gpu_benchmarks/scale.py --sections decode)")
def test_nvdec_without_a_device_falls_back_to_the_cpu_with_the_reason(monkeypatch, clip: Path, caplog) -> None:
    monkeypatch.setenv("REDACTOR_DECODE", "cpu")
    want = list(decode(clip))
    monkeypatch.setenv("REDACTOR_DECODE", "nvdec")
    with caplog.at_level(logging.WARNING, logger="redactor.media.decode"):
        d = decoder()
        got = list(decode(clip))
        list(decode(clip))
    assert (d.asked, d.used, d.hwaccel) == ("nvdec", "cpu", None)
    assert "CUDA" in d.reason, d.reason
    warned = [r for r in caplog.records if "REDACTOR_DECODE=nvdec" in r.getMessage()]
    assert len(warned) == 1, caplog.text  # once a process, not once a clip
    assert [f.index for f in got] == [f.index for f in want] and [f.pts for f in got] == [f.pts for f in want]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(got, want, strict=True))


def test_a_pyav_without_hardware_acceleration_falls_back(monkeypatch, clip: Path) -> None:
    monkeypatch.setitem(sys.modules, "av.codec.hwaccel", None)  # as PyAV before 14: the import fails
    monkeypatch.setenv("REDACTOR_DECODE", "nvdec")
    d = decoder()
    assert d.used == "cpu" and "no hardware acceleration" in d.reason, d
    assert sum(1 for _ in decode(clip)) == 10


def test_an_unknown_decoder_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("REDACTOR_DECODE", "quicksync")
    with pytest.raises(ConfigError, match="REDACTOR_DECODE"):
        decoder()
