"""Keep only the requester where faces are too small to recognise (issue 14), measured as acceptance does: real
pedestrians from vtest.avi (heads 8-16 px) pasted along known paths that cross, overtake and run side by side
(tests/make_pedestrian_clips.py); analyze, the clerk's pick (shared/tools/pick_keep.py), `redact --keep --report`,
scored by shared/tools/score_redact.py: no frame may show another person's head, the requester stays visible in
at least 60% of their frames, and the report lists the frames masked for identity."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import SHARED
from make_pedestrian_clips import make_clips

from redactor.cli import main


def _tool(name: str, *args) -> str:
    return subprocess.run([sys.executable, str(SHARED / "tools" / name), *map(str, args)], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.slow
def test_pedestrians_crossing_keep_the_requester_only(tmp_path, vtest):
    clips = make_clips(tmp_path, clips=2, frames=40, seed=21, vtest=vtest)
    for clip in clips:
        gt_path = clip.with_suffix(".gt.json")
        who = json.loads(gt_path.read_text())["requester"]
        tracks = tmp_path / f"{clip.stem}.tracks.json"
        assert main(["analyze", str(clip), "--out", str(tracks)]) == 0
        frame, *ids = _tool("pick_keep.py", tracks, gt_path).split()
        assert ids, f"{clip.stem}: the clerk's pick found no track at frame {frame}"
        out, report = tmp_path / f"{clip.stem}.out.mp4", tmp_path / f"{clip.stem}.report.json"
        assert main(["redact", str(clip), "-o", str(out), "--keep", *ids, "--report", str(report)]) == 0
        score = json.loads(_tool("score_redact.py", clip, out, gt_path, "--keep", who))
        assert score["frames_with_unmasked"] == 0, (clip.stem, score)
        assert score["kept_visible_fraction"] >= 0.6, (clip.stem, score)
        rep = json.loads(report.read_text())
        assert isinstance(rep["masked_for_identity"], list)
        for m in rep["masked_for_identity"]:
            assert m["reason"] and m["frames"] and all(isinstance(f, int) for f in m["frames"])
