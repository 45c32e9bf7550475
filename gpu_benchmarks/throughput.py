#!/usr/bin/env python3
"""Frames per second of redactor (analyze, render, audit and the whole redact) and of deface on the same clip, in the
same run.

Each side runs in its own child process, timed by wall clock from start to exit (interpreter start and model loading
included on both sides), and its peak resident memory read from os.wait4's rusage (ru_maxrss: the largest single
process of the child's tree, so deface's ffmpeg helpers count as their own peak, not added). redactor: `redact` with
its defaults (VIDEO profile, solid masks, the audit and its re-mask rounds); deface: its CLI with default settings
(`deface CLIP -o OUT`: CenterFace at full size, threshold 0.2, blurred ellipses, libx264). Runs alternate (R D, D R,
...), and the figures are medians. ratio = redactor fps / deface fps.

usage: throughput.py --clip CLIP [--vs-deface] --json OUT.json [--runs 3] [--seconds N]
REDACTOR_PROVIDERS / REDACTOR_THREADS reach the redactor child (e.g. CUDAExecutionProvider; CPU when absent).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def run_child(cmd: list[str], env: dict | None = None) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MiB, exit status and the tail of stderr of one child process."""
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-2000:]
    return wall, usage.ru_maxrss / 1024, proc.returncode, tail


def child_redact(clip: str, out: str, report: str) -> int:
    """The redactor side, in its own process: analyze, then redact with that table (render, audit, re-mask)."""
    from redactor.pipeline import analyze, redact
    from redactor.weights.runtime import providers

    t = time.perf_counter()
    table = analyze(clip, show_progress=False)
    analyze_s = time.perf_counter() - t
    rep = redact(clip, out, table=table, show_progress=False)
    counts = rep.tracks
    Path(report).write_text(json.dumps({
        "frames": rep.frames, "analyze_s": analyze_s, "render_s": rep.seconds["render"],
        "audit_s": rep.seconds["audit"], "released": rep.released, "remask_rounds": rep.remask_rounds,
        "findings": len(rep.findings), "renders": rep.renders,
        "findings_per_round": rep.findings_per_round, "tracks": counts, "providers": providers(),
        "profile": table.params}))
    return 0


def cut_clip(clip: Path, seconds: float, workdir: Path) -> Path:
    """The first `seconds` of the clip, stream-copied (no re-encode, so both sides read the same bitstream)."""
    out = workdir / f"{clip.stem}_{seconds:g}s{clip.suffix}"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip), "-t", str(seconds),
                    "-map", "0:v:0", "-c", "copy", str(out)], check=True)
    return out


def deface_command() -> list[str]:
    exe = shutil.which("deface") or str(Path(sys.executable).with_name("deface"))
    if not Path(exe).exists():
        sys.exit("throughput: deface is not installed (pip install -e '.[bench]', or scripts/setup.sh)")
    return [exe]


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _renders(run: dict) -> int:
    """Renders of the whole clip in one redactor run (reports before in-stream re-masks: one a round)."""
    return run.get("renders", 1 + run["remask_rounds"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="redactor vs deface frames per second on one clip")
    ap.add_argument("--clip", type=Path, required=True)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--vs-deface", action="store_true", help="time deface on the same clip, alternating runs")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=None, help="only the first N seconds of the clip")
    ap.add_argument("--child-redact", nargs=3, metavar=("CLIP", "OUT", "REPORT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_redact:
        return child_redact(*args.child_redact)

    from redactor.errors import RedactorError
    from redactor.media import probe

    if not args.clip.exists():
        sys.exit(f"throughput: {args.clip}: no such file")
    with tempfile.TemporaryDirectory(prefix="redactor-bench-") as tmp:
        work = Path(tmp)
        clip = cut_clip(args.clip, args.seconds, work) if args.seconds else args.clip
        try:
            info = probe(clip)
        except RedactorError as err:
            sys.exit(f"throughput: {err}")
        frames = info.frames
        sides = ["redactor", "deface"] if args.vs_deface else ["redactor"]
        runs: dict[str, list[dict]] = {s: [] for s in sides}
        for i in range(args.runs):
            for side in sides if i % 2 == 0 else sides[::-1]:
                out = work / f"{side}{i}.mp4"
                if side == "redactor":
                    report = work / f"report{i}.json"
                    cmd = [sys.executable, str(Path(__file__).resolve()), "--clip", str(clip), "--json", "-",
                           "--child-redact", str(clip), str(out), str(report)]
                    wall, rss, rc, err = run_child(cmd, os.environ.copy())
                    if rc != 0:
                        sys.exit(f"throughput: redactor failed (exit {rc}):\n{err}")
                    rep = json.loads(report.read_text())
                    frames = rep["frames"]
                    runs[side].append({"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1)} | rep)
                else:
                    wall, rss, rc, err = run_child(deface_command() + [str(clip), "-o", str(out)])
                    if rc != 0 or not out.exists():
                        sys.exit(f"throughput: deface failed (exit {rc}):\n{err}")
                    runs[side].append({"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1)})
                print(f"run {i + 1}/{args.runs} {side}: {runs[side][-1]['wall_s']:.1f} s", file=sys.stderr)

    r = runs["redactor"]
    last = r[-1]
    redactor = {
        "fps": median([frames / x["wall_s"] for x in r]),
        "peak_rss_mb": max(x["peak_rss_mb"] for x in r),
        "analyze_fps": median([frames / x["analyze_s"] for x in r]),
        # frames rendered (and audited) per second: the re-masks are painted in the one render now (renders 1),
        # where each re-mask round rendered the whole clip again before
        "render_fps": median([frames * _renders(x) / max(x["render_s"], 1e-6) for x in r]),
        "audit_fps": median([frames * _renders(x) / max(x["audit_s"], 1e-6) for x in r]),
        "in_process_fps": median([frames / (x["analyze_s"] + x["render_s"] + x["audit_s"]) for x in r]),
        "wall_s": median([x["wall_s"] for x in r]),
        "released": all(x["released"] for x in r), "masked_tracks": last["tracks"],
        "remask_rounds": last["remask_rounds"],
        "findings_per_round": last.get("findings_per_round"), "renders": last.get("renders"),
        "providers": last["providers"], "profile": last.get("profile"),
    }
    deface = None
    if args.vs_deface:
        d = runs["deface"]
        deface = {"fps": median([frames / x["wall_s"] for x in d]), "peak_rss_mb": max(x["peak_rss_mb"] for x in d),
                  "wall_s": median([x["wall_s"] for x in d])}
    ratio = round(redactor["fps"] / deface["fps"], 3) if deface else None
    result = {"clip": str(args.clip), "seconds": args.seconds, "frames": frames,
              "size": [info.width, info.height], "source_fps": info.fps, "runs": args.runs,
              "machine": f"{platform.machine()} {len(os.sched_getaffinity(0))} CPUs",
              "redactor": redactor, "deface": deface, "ratio": ratio, "raw": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0


def table(res: dict) -> str:
    r, d = res["redactor"], res["deface"]
    lines = [f"{res['clip']}: {res['frames']} frames {res['size'][0]}x{res['size'][1]} @ {res['source_fps']:g} fps, "
             f"{res['runs']} alternating runs (medians), {res['machine']}",
             "| tool | fps (end to end) | x real time | peak RSS MiB | analyze fps | render fps | audit fps |",
             "|---|---|---|---|---|---|---|",
             f"| redactor ({', '.join(p.removesuffix('ExecutionProvider') for p in r['providers'])}) | {r['fps']:.2f} "
             f"| {r['fps'] / res['source_fps']:.2f} | {r['peak_rss_mb']:.0f} | {r['analyze_fps']:.2f} | "
             f"{r['render_fps']:.2f} | {r['audit_fps']:.2f} |"]
    if d:
        lines.append(f"| deface | {d['fps']:.2f} | {d['fps'] / res['source_fps']:.2f} | {d['peak_rss_mb']:.0f} "
                     f"| | | |")
        lines.append(f"ratio redactor/deface: {res['ratio']:.3f}")
    lines.append(f"masked tracks: {r['masked_tracks']}; released: {r['released']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
