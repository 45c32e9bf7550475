#!/usr/bin/env python3
"""How the engine scales (issue 18): decoding frames/s on the CPU and with NVDEC (REDACTOR_DECODE), detection
frames/s per backend and batch size, segment-parallel render against one render, end-to-end `redact --segments N`
against `redact` and against deface in the same run (as ratios), and the peak memory of analysis as the recording
grows. Prints a table, writes JSON.

Runs on the CPU now and on a lent GPU later (gpu_benchmarks/device_check.sh): the backends measured are those that
can run here (cpu and array always; torch where installed, on CUDA where there is one, FP32 and FP16).

usage: scale.py --json OUT.json [--size 640x360] [--frames 16] [--batches 1 2 4 8] [--segments 2]
                [--seconds 8] [--minutes 1 5 15 --memory-size 160x120 --memory-stride 25] [--no-deface]
                [--sections decode detect render e2e memory]

Each end-to-end run and each memory run is a child process timed by wall clock (models loaded included) with its
peak RSS from os.wait4 (ru_maxrss: the largest single process of its tree).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpu_benchmarks.throughput import run_child  # noqa: E402


def make_clip(src: Path, out: Path, seconds: float, size: str, fps: int = 10, gop: int = 50) -> Path:
    """`seconds` of vtest.avi (looped as needed) at `size`, H.264 with a keyframe every `gop` frames."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(src), "-t", str(seconds),
                    "-vf", f"scale={size.replace('x', ':')}", "-r", str(fps), "-c:v", "libx264", "-preset",
                    "veryfast", "-g", str(gop), "-pix_fmt", "yuv420p", "-an", str(out)], check=True)
    return out


def backends() -> list[tuple[str, object]]:
    import numpy as np

    from redactor.detect.backend import ArrayBackend, CpuBackend

    out: list[tuple[str, object]] = [("cpu", CpuBackend()), ("array-numpy", ArrayBackend(np))]
    try:
        import torch

        from redactor.detect.backend import TorchBackend
    except ImportError:
        return out
    if torch.cuda.is_available():
        out += [("torch-cuda-fp32", TorchBackend("cuda", fp16=False)), ("torch-cuda-fp16", TorchBackend("cuda",
                                                                                                     fp16=True))]
        try:
            import cupy  # noqa: F401

            out.append(("array-cupy+ort", ArrayBackend()))
        except ImportError:
            pass
    else:
        tb = TorchBackend("cpu")
        tb.graph_on_cpu = True
        out.append(("torch-cpu-graph", tb))
    return out


def detect_section(clip: Path, frames: int, batches: list[int]) -> list[dict]:
    from redactor.detect.engine import VIDEO, DetectionEngine
    from redactor.media import decode

    images = [f.image for _, f in zip(range(frames), decode(clip), strict=False)]
    rows = []
    for name, runner in backends():
        engine = DetectionEngine(VIDEO, runner)
        engine.detect_batch(images[:1])  # load and warm
        for b in batches:
            t = time.perf_counter()
            n = 0
            for i in range(0, len(images), b):
                n += len(engine.detect_batch(images[i:i + b]))
            sec = time.perf_counter() - t
            rows.append({"backend": name, "batch": b, "frames": n, "seconds": round(sec, 3),
                         "fps": round(n / sec, 2)})
            print(f"detect  {name:18s} batch {b:3d}: {n / sec:8.2f} frames/s", flush=True)
    return rows


def decode_section(clip: Path) -> list[dict]:
    """Frames/s of `decode` with each decoder REDACTOR_DECODE offers (what was asked, what decoded, why not), and
    how far its pixels are from the CPU decoder's (NVDEC's colour conversion may round otherwise)."""
    import numpy as np

    from redactor.media import decode
    from redactor.media.decode import DECODERS, _decoder, decoder

    rows, reference = [], None
    before = os.environ.get("REDACTOR_DECODE")
    try:
        for name in DECODERS:
            os.environ["REDACTOR_DECODE"] = name
            _decoder.cache_clear()
            chosen = decoder()
            t = time.perf_counter()
            frames = [f.image for f in decode(clip)]
            sec = time.perf_counter() - t
            row = chosen.to_json() | {"frames": len(frames), "seconds": round(sec, 3),
                                      "fps": round(len(frames) / sec, 2)}
            if reference is None:
                reference = frames
            else:
                diff = [np.abs(a.astype(np.int16) - b).max() for a, b in zip(frames, reference, strict=True)]
                row["max_abs_diff_vs_cpu"] = int(max(diff, default=0))
            rows.append(row)
            print(f"decode  {name:6s} (used {chosen.used}{': ' + chosen.reason if chosen.reason else ''}): "
                  f"{len(frames) / sec:8.2f} frames/s", flush=True)
            del frames
    finally:
        if before is None:
            os.environ.pop("REDACTOR_DECODE", None)
        else:
            os.environ["REDACTOR_DECODE"] = before
        _decoder.cache_clear()
    return rows


def render_section(clip: Path, segments: int, tmp: Path) -> dict:
    from redactor.jobs.segments import plan, render_segmented
    from redactor.pipeline import analyze, render

    table = analyze(clip, show_progress=False)
    t = time.perf_counter()
    single = render(clip, table, tmp / "single.mp4", show_progress=False)
    single_s = time.perf_counter() - t
    p = plan(clip, segments, overlap=1.0)
    t = time.perf_counter()
    render_segmented(clip, table, p, tmp / "segmented.mp4", tmp=tmp)
    seg_s = time.perf_counter() - t
    out = {"frames": single.frames, "single_s": round(single_s, 2), "single_fps": round(single.frames / single_s, 2),
           "segments": len(p.segments), "segmented_s": round(seg_s, 2),
           "segmented_fps": round(single.frames / seg_s, 2), "speedup": round(single_s / seg_s, 3)}
    print(f"render  single {out['single_fps']} frames/s, {len(p.segments)} segments {out['segmented_fps']} frames/s "
          f"(x{out['speedup']}; process start and model load included)", flush=True)
    return out


def e2e_section(clip: Path, segments: int, tmp: Path, deface: bool) -> dict:
    from redactor.media import probe

    frames = probe(clip).frames
    env = os.environ.copy()
    runs = {}
    for n in (1, segments):
        out = tmp / f"e2e{n}.mp4"
        wall, rss, rc, tail = run_child([sys.executable, "-m", "redactor", "redact", str(clip), "-o", str(out),
                                         "--overwrite", "--segments", str(n)], env)
        # peak_rss_mib: ru_maxrss, floored by this process's RSS at fork (see _ANALYZE_HWM)
        runs[f"redact_segments_{n}"] = {"wall_s": round(wall, 2), "fps": round(frames / wall, 2),
                                        "peak_rss_mib": round(rss), "rc": rc, "error": tail[-300:] if rc else ""}
    exe = shutil.which("deface") or str(Path(sys.executable).with_name("deface"))
    if deface and Path(exe).exists():
        wall, rss, rc, tail = run_child([exe, str(clip), "-o", str(tmp / "deface.mp4")], env)
        runs["deface"] = {"wall_s": round(wall, 2), "fps": round(frames / wall, 2), "peak_rss_mib": round(rss),
                          "rc": rc, "error": tail[-300:] if rc else ""}
        for key in [k for k in runs if k.startswith("redact")]:
            runs[key]["ratio_vs_deface"] = round(runs[key]["fps"] / runs["deface"]["fps"], 3)
    for key, r in runs.items():
        print(f"e2e     {key:20s}: {r['fps']:7.2f} frames/s, {r['wall_s']:7.1f} s, peak {r['peak_rss_mib']} MiB"
              + (f", x{r['ratio_vs_deface']} of deface" if "ratio_vs_deface" in r else "")
              + (f" (exit {r['rc']})" if r["rc"] else ""), flush=True)
    return {"frames": frames, **runs}


# The child reports its own high-water mark (VmHWM: of its address space, made new at exec): ru_maxrss from wait4
# would start at the RSS of this process at fork (models loaded here by the detect section: 989 MiB on each run).
_ANALYZE_HWM = """
import sys
from redactor.pipeline import analyze
analyze(sys.argv[1], sys.argv[2], show_progress=False)
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
open(sys.argv[3], 'w').write(str(int(hwm.split()[1]) / 1024))
"""


def memory_section(src: Path, minutes: list[float], size: str, stride: int, tmp: Path) -> dict:
    env = os.environ.copy() | {"REDACTOR_STRIDE": str(stride)}
    rows = []
    for m in minutes:
        clip = make_clip(src, tmp / f"mem{m:g}.mp4", m * 60, size, fps=10, gop=100)
        hwm = tmp / f"mem{m:g}.hwm"
        wall, _, rc, tail = run_child([sys.executable, "-c", _ANALYZE_HWM, str(clip), str(tmp / f"mem{m:g}.json"),
                                       str(hwm)], env)
        rss = float(hwm.read_text()) if hwm.exists() else 0.0
        rows.append({"minutes": m, "frames": int(m * 600), "wall_s": round(wall, 1), "peak_rss_mib": round(rss),
                     "rc": rc, "error": tail[-300:] if rc else ""})
        print(f"memory  analyze {m:5g} min ({size}, stride {stride}): peak {rss:7.0f} MiB, {wall:6.1f} s"
              + (f" (exit {rc})" if rc else ""), flush=True)
    out = {"size": size, "stride": stride, "runs": rows}
    if len(rows) > 1 and rows[0]["peak_rss_mib"]:
        out["rss_ratio_longest_to_shortest"] = round(rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"], 3)
        print(f"memory  peak RSS {rows[-1]['minutes']:g} min / {rows[0]['minutes']:g} min: "
              f"x{out['rss_ratio_longest_to_shortest']}", flush=True)
    return out


def machine() -> dict:
    info = {"python": platform.python_version(), "cpus": len(os.sched_getaffinity(0)), "platform": platform.platform()}
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        info["torch"] = None
    import onnxruntime

    info["onnxruntime"] = onnxruntime.__version__
    info["ort_providers"] = onnxruntime.get_available_providers()
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--src", default=str(REPO / ".cache" / "testdata" / "vtest.avi"))
    ap.add_argument("--clip", help="measure on this clip instead of one made from --src")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the render and end-to-end clip")
    ap.add_argument("--frames", type=int, default=16, help="frames per detection measurement")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--segments", type=int, default=2)
    ap.add_argument("--minutes", type=float, nargs="*", default=[])
    ap.add_argument("--memory-size", default="160x120")
    ap.add_argument("--memory-stride", type=int, default=25)
    ap.add_argument("--no-deface", action="store_true")
    ap.add_argument("--sections", nargs="+", default=["detect", "render", "e2e", "memory"])
    args = ap.parse_args()
    result: dict = {"machine": machine(), "args": vars(args), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                          time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="redactor-scale-") as tmp_name:
        tmp = Path(tmp_name)
        clip = Path(args.clip) if args.clip else make_clip(Path(args.src), tmp / "clip.mp4", args.seconds, args.size)
        if "decode" in args.sections:
            result["decode"] = decode_section(clip)
        if "detect" in args.sections:
            result["detect"] = detect_section(clip, args.frames, args.batches)
        if "render" in args.sections:
            result["render"] = render_section(clip, args.segments, tmp)
        if "e2e" in args.sections:
            result["e2e"] = e2e_section(clip, args.segments, tmp, not args.no_deface)
        if "memory" in args.sections and args.minutes:
            result["memory"] = memory_section(Path(args.src), args.minutes, args.memory_size, args.memory_stride, tmp)
    Path(args.json).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
