"""Settings from the environment, with embedded defaults (one machine, nothing to install but Python packages)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _home() -> Path:
    return Path(os.environ.get("REDACTOR_HOME", Path.home() / ".redactor")).expanduser()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_home)
    # Longest side we accept; a 16k "video" is a decompression bomb, not CCTV.
    max_width: int = int(os.environ.get("REDACTOR_MAX_WIDTH", "4096"))
    max_height: int = int(os.environ.get("REDACTOR_MAX_HEIGHT", "4096"))
    max_frames: int = int(os.environ.get("REDACTOR_MAX_FRAMES", str(25 * 60 * 60 * 4)))

    @property
    def models_dir(self) -> Path:
        return Path(os.environ.get("REDACTOR_MODELS", self.home / "models")).expanduser()

    @property
    def db_url(self) -> str:
        return os.environ.get("REDACTOR_DB", f"sqlite:///{self.home / 'redactor.db'}")


def settings() -> Settings:
    return Settings()
