"""Settings from the environment, with embedded defaults (one machine, nothing to install but Python packages).

Every value is read when `settings()` is called, never once at import: a worker, a test or an operator that sets a
variable sees it take effect on the next job."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from redactor.errors import RedactorError

HOUR = 3600


class ConfigError(RedactorError):
    """A setting in the environment is malformed: the message names the variable."""

    exit_code = 4


def _home() -> Path:
    return Path(os.environ.get("REDACTOR_HOME", Path.home() / ".redactor")).expanduser()


def _number(name: str, default: float, kind: type = int):
    def read():
        raw = os.environ.get(name, "").strip()
        if not raw:
            return kind(default)
        try:
            value = kind(float(raw)) if kind is int else kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: not a number") from None
        if value < 0:
            raise ConfigError(f"{name}={raw!r}: must not be negative")
        return value

    return field(default_factory=read)


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_home)
    # Limits on what is decoded, checked on every frame (redactor.media.limits), not on what the container declares.
    # Longest sides: a 16k "video" is a decompression bomb, not CCTV.
    max_width: int = _number("REDACTOR_MAX_WIDTH", 4096)
    max_height: int = _number("REDACTOR_MAX_HEIGHT", 4096)
    # Pixels of one frame: 4096x2160 (DCI 4K, above UHD 3840x2160). Detection of one UHD frame takes 3.6 GB and a
    # 4096x4096 clip took 12 GB in analysis (docs/decisions.md, issue 20).
    max_pixels: int = _number("REDACTOR_MAX_PIXELS", 4096 * 2160)
    # A day of footage at 30 fps: frames counted as decoded, seconds by the decoded timestamps.
    max_frames: int = _number("REDACTOR_MAX_FRAMES", 24 * HOUR * 30)
    max_seconds: float = _number("REDACTOR_MAX_SECONDS", 24 * HOUR, float)
    # Pixels decoded per second of video: 4096x2160 at 60 fps. Also catches timestamps that do not advance.
    max_pixel_rate: float = _number("REDACTOR_MAX_PIXEL_RATE", 4096 * 2160 * 60, float)

    @property
    def models_dir(self) -> Path:
        return Path(os.environ.get("REDACTOR_MODELS", self.home / "models")).expanduser()

    @property
    def db_url(self) -> str:
        return os.environ.get("REDACTOR_DB", f"sqlite:///{self.home / 'redactor.db'}")


def settings() -> Settings:
    return Settings()


def private_path(path: Path, mode: int) -> None:
    """Tighten a path of ours to `mode` (a folder or file made earlier, or under a loose umask, may be wider)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid == os.getuid() and st.st_mode & 0o777 & ~mode:
        path.chmod(mode)


def data_home() -> Path:
    """REDACTOR_HOME, made if missing, and 0700: it holds footage, the database and (by default) the keys."""
    home = settings().home
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path(home, 0o700)
    return home
