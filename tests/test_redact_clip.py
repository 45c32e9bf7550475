"""Clip-level acceptance, scored by the acceptance tools themselves (shared/tools): a virtual camera panning and
zooming across real labelled photos, with an audio track; redact must mask >= 99% of labelled boxes frame by frame,
change at most 15% of the rest of the picture, keep the frame count, and write no audio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clips import make_clip, score_redact
from conftest import EVALDATA


def redact_and_score(clip: Path, label: str, tmp: Path) -> dict:
    out, report = tmp / f"{clip.stem}.out.mp4", tmp / f"{clip.stem}.report.json"
    proc = subprocess.run([sys.executable, "-m", "redactor", "redact", str(clip), "-o", str(out), "--report",
                           str(report)], capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"redact failed ({proc.returncode}): {proc.stderr[-2000:]}"
    result = score_redact(clip, out, label)
    print(json.dumps(result))
    return result


def check(result: dict) -> None:
    assert result["output_audio_streams"] == 0
    assert result["output_codec"] == "h264"
    assert result["output_frames"] == result["source_frames"]
    assert result["masked_fraction"] >= 0.99, result
    assert result["collateral_fraction"] <= 0.15, result


def test_crowd_clip_short(tmp_path: Path) -> None:
    faces = EVALDATA / "faces"
    clip = make_clip(faces / "labels.json", faces, tmp_path / "crowd.mp4",
                     ["23_Shoppers_Shoppers_23_167.jpg", "54_Rescue_rescuepeople_54_102.jpg"], 1.0, "640x360")
    check(redact_and_score(clip, "face", tmp_path))


@pytest.mark.slow
def test_crowd_clip_full(tmp_path: Path) -> None:
    faces = EVALDATA / "faces"
    names = ["0_Parade_Parade_0_353.jpg", "12_Group_Large_Group_12_Group_Large_Group_12_107.jpg",
             "2_Demonstration_Protesters_2_561.jpg", "25_Soldier_Patrol_Soldier_Patrol_25_174.jpg"]
    clip = make_clip(faces / "labels.json", faces, tmp_path / "crowd.mp4", names, 2.0, "960x540")
    check(redact_and_score(clip, "face", tmp_path))


@pytest.mark.slow
def test_street_clip_plates(tmp_path: Path) -> None:
    plates = EVALDATA / "plates"
    labels = json.loads((plates / "labels.json").read_text())["images"]
    names = [n for n in sorted(labels) if n.startswith("us_wts")][:2] + [n for n in sorted(labels)
                                                                          if n.startswith("eu_")][:2]
    clip = make_clip(plates / "labels.json", plates, tmp_path / "street.mp4", names, 1.5, "960x540")
    check(redact_and_score(clip, "plate", tmp_path))
