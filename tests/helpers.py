"""One of each for the tests: where the test material lies, the `redactor` command line run as a user runs it, the
ffmpeg binary, and the one clip cutter (a piece of real footage re-encoded by a real codec). Import by bare name
(`from helpers import ...`), like the other helper modules here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The labelled photos and the acceptance tools, never copied into the project (REDACTOR_SHARED points elsewhere).
SHARED = Path(os.environ.get("REDACTOR_SHARED", ROOT.parent / "shared"))
EVALDATA = SHARED / "evaldata"
TOOLS = SHARED / "tools"
TESTDATA = ROOT / ".cache" / "testdata"  # Debian's opencv-doc footage and photos (scripts/setup.sh)
REDACTOR = str(Path(sys.executable).with_name("redactor"))


def clean_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without any REDACTOR_ setting (so a test sees the defaults), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")} | {"PYTHONPATH": str(ROOT)}
    return env | ({"REDACTOR_HOME": str(home)} if home is not None else {}) | extra


def run_redactor(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 120,
                 umask: int | None = None) -> subprocess.CompletedProcess:
    """`redactor ARGS...` as a separate process (its exit status, stdout and stderr as text)."""
    return subprocess.run([REDACTOR, *args], env=env, input=stdin, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, preexec_fn=None if umask is None else (lambda: os.umask(umask)))


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def cut_clip(src: Path, out: Path, seconds: float = 2.0, size: tuple[int, int] | str = (320, 240), start: float = 0.0,
             fps: float | None = None, audio: bool = False, title: str | None = None) -> Path:
    """`seconds` of `src` from `start` as H.264 MP4 at `size` (at the source's frame rate unless `fps`), with an AAC
    tone when `audio` and a title in the metadata when `title` (both must be gone from anything released)."""
    w, h = (int(v) for v in size.split("x")) if isinstance(size, str) else size
    args = ["-ss", str(start), "-t", str(seconds), "-i", str(src)]
    if audio:
        args += ["-f", "lavfi", "-t", str(seconds), "-i", "sine=frequency=440"]
    args += ["-vf", f"scale={w}:{h},setsar=1", *(["-r", str(fps)] if fps else []), "-c:v", "libx264",
             "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-shortest"] if audio else ["-an"]
    args += ["-metadata", f"title={title}"] if title else []
    ffmpeg(*args, str(out))
    return out
