"""Forensic watermark robustness: bit error rate and decoded entry under the attacks a third party would apply with
ffmpeg, on real clips (vtest.avi overhead CCTV; a panning clip made from evaldata crowd photos), plus false positives
on the unmarked clips. Prints a table, writes JSON.

usage: python gpu_benchmarks/watermark_robustness.py [--out DIR] [--seconds 24]
(CPU only: the scheme needs no accelerator; it lives here with the other recorded measurements.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redactor.media import decode, probe  # noqa: E402
from redactor.render import watermark_forensic as wf  # noqa: E402

KEY = b"benchmark watermark key 32 bytes"
ENTRY = 0xA5C3E1
NULL_KEYS = 25
# name -> ffmpeg video filter; every attack also re-encodes with libx264 -crf 28 and cuts 10 s from the middle
ATTACKS = {
    "crf28": None,
    "crf28+half": "scale=trunc(iw/4)*2:trunc(ih/4)*2",
    "crf28+crop3%": "crop=trunc(iw*0.94/2)*2:trunc(ih*0.94/2)*2",
    "crf28+crop-asym+half": "crop=trunc(iw*0.95/2)*2:trunc(ih*0.96/2)*2:iw*0.01:ih*0.03,"
                            "scale=trunc(iw/4)*2:trunc(ih/4)*2",
    "crf28+half+fps15": "scale=trunc(iw/4)*2:trunc(ih/4)*2,fps=15",
}


def ffmpeg(*args: str) -> list[str]:
    cmd = ["ffmpeg", "-y", "-v", "error", *args]
    subprocess.run(cmd, check=True)
    return cmd


def bit_errors(path: Path) -> tuple[wf.Extraction, int]:
    reader = wf.ForensicReader(KEY)
    for f in decode(path):
        reader.add(f.image, f.time)
    result = reader.result()
    # re-read the raw bits at the chosen crop to count errors even where the CRC rejects the word
    a, b = reader._demodulated()
    va, _ = reader._cells(a, result.crop)
    vb, _ = reader._cells(b, result.crop)
    lay = reader.layout
    ca = float(np.sum(va[lay.pilot] * lay.sign[lay.pilot]))
    cb = float(np.sum(vb[lay.pilot] * lay.sign[lay.pilot]))
    th = np.arctan2(cb, ca)
    v = np.cos(th) * va + np.sin(th) * vb
    bits = np.array([int(np.sum(v[lay.bit == k] * lay.sign[lay.bit == k]) > 0) for k in range(wf.PAYLOAD_BITS)])
    return result, int(np.sum(bits != wf.encode_payload(ENTRY)))


def sources(out: Path, evaldata: Path, vtest: Path, seconds: int) -> dict[str, Path]:
    cctv = out / "cctv.mp4"
    ffmpeg("-i", str(vtest), "-t", str(seconds), "-c:v", "libx264", "-crf", "18", "-an", str(cctv))
    faces = out / "faces.mp4"
    images = sorted(p.name for p in (evaldata / "faces").glob("*.jpg"))[: max(2, seconds // 3)]
    subprocess.run([sys.executable, str(ROOT.parent / "shared" / "tools" / "make_clip.py"),
                    str(evaldata / "faces" / "labels.json"), str(evaldata / "faces"), str(faces), "--seconds", "3",
                    "--size", "960x540", "--images", *images], check=True, capture_output=True)
    return {"vtest-cctv": cctv, "evaldata-pan": faces}


def run(out_dir: Path, evaldata: Path, vtest: Path, seconds: int = 24) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"entry": ENTRY, "payload_bits": wf.PAYLOAD_BITS, "attacks": [], "unmarked": [], "null_keys": [],
                     "commands": {}}
    for name, src in sources(out_dir, evaldata, vtest, seconds).items():
        marked = out_dir / f"{name}.marked.mp4"
        t0 = time.perf_counter()
        marker = wf.ForensicMarker(ENTRY, KEY)
        mse, n = 0.0, 0
        wf.mark_clip(src, marked, ENTRY, key=KEY)
        for f in decode(src):
            if f.index % 10 == 0:
                mse += float(np.mean((marker.apply(f.image, f.index, f.time).astype(float) - f.image) ** 2))
                n += 1
        psnr = 10 * np.log10(255**2 / (mse / n))
        embed_s = time.perf_counter() - t0
        mid = max(0.0, probe(marked).duration / 2 - 5)
        for attack, vf in ATTACKS.items():
            leaked = out_dir / f"{name}.{attack}.mp4"
            cmd = ffmpeg("-ss", f"{mid:.2f}", "-i", str(marked), "-t", "10", *(["-vf", vf] if vf else []),
                         "-c:v", "libx264", "-crf", "28", "-an", str(leaked))
            results["commands"][attack] = " ".join(c if " " not in c else repr(c) for c in cmd)
            t0 = time.perf_counter()
            r, errors = bit_errors(leaked)
            results["attacks"].append({"clip": name, "attack": attack, "bit_errors": errors,
                                       "ber": errors / wf.PAYLOAD_BITS, "entry": r.entry, "entry_ok": r.entry == ENTRY,
                                       "confidence": round(r.confidence, 2), "bit_margin": round(r.bit_margin, 2),
                                       "frames": r.frames, "psnr_db": round(float(psnr), 2),
                                       "extract_s": round(time.perf_counter() - t0, 2)})
        results.setdefault("embed", {})[name] = {"psnr_db": round(float(psnr), 2), "seconds": round(embed_s, 1)}
        r = wf.extract_clip(src, key=KEY)
        results["unmarked"].append({"clip": name, "found": r.entry is not None, "confidence": round(r.confidence, 2)})
        results["null_keys"].append(null_trials(name, src))
    return results


def null_trials(name: str, src: Path, keys: int = NULL_KEYS) -> dict:
    """False positives: the unmarked clip read with many other keys (each key is an independent pattern)."""
    readers = [wf.ForensicReader(f"null key {i:03d}".encode().ljust(32, b".")) for i in range(keys)]
    for f in decode(src):
        for r in readers:
            r.add(f.image, f.time)
        if readers[0].frames >= wf.EXTRACT_MAX_FRAMES:
            break
    got = [r.result() for r in readers]
    z = [g.confidence for g in got]
    return {"clip": name, "keys": keys, "found": sum(g.entry is not None for g in got),
            "above_threshold": sum(v >= wf.PILOT_Z_MIN for v in z), "max_confidence": round(max(z), 2),
            "mean_confidence": round(float(np.mean(z)), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/redactor-wm-bench"))
    ap.add_argument("--seconds", type=int, default=24)
    ap.add_argument("--evaldata", type=Path, default=ROOT.parent / "shared" / "evaldata")
    ap.add_argument("--vtest", type=Path, default=ROOT / ".cache" / "testdata" / "vtest.avi")
    args = ap.parse_args()
    res = run(args.out, args.evaldata, args.vtest, args.seconds)
    print(f"{'clip':14s} {'attack':22s} {'bit err':>7s} {'BER':>6s} {'entry ok':>8s} {'conf z':>7s} {'margin':>6s}")
    for row in res["attacks"]:
        print(f"{row['clip']:14s} {row['attack']:22s} {row['bit_errors']:7d} {row['ber']:6.3f} "
              f"{str(row['entry_ok']):>8s} {row['confidence']:7.2f} {row['bit_margin']:6.2f}")
    for row in res["unmarked"]:
        print(f"unmarked {row['clip']}: found={row['found']} confidence={row['confidence']}")
    for row in res["null_keys"]:
        print(f"null {row['clip']}: {row['keys']} other keys, found {row['found']}, z >= {wf.PILOT_Z_MIN}: "
              f"{row['above_threshold']}, max z {row['max_confidence']}, mean z {row['mean_confidence']}")
    print("embed:", res["embed"])
    for k, c in res["commands"].items():
        print(f"{k}: {c}")
    (args.out / "watermark_robustness.json").write_text(json.dumps(res, indent=2))
    print(f"JSON: {args.out / 'watermark_robustness.json'}")


if __name__ == "__main__":
    main()
