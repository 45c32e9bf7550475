"""Shared test fixtures: where the real test material lies, and the real services.

Real parts only: evaldata photos from ../shared (never copied into the project), Debian's opencv-doc footage
(scripts/setup.sh puts it in .cache/testdata), the fetched model weights, PostgreSQL on 127.0.0.1:5432.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import EVALDATA, ROOT, SHARED, TESTDATA

__all__ = ["EVALDATA", "ROOT", "SHARED", "TESTDATA"]
POSTGRES_URL = os.environ.get("REDACTOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def evaldata() -> Path:
    if not (EVALDATA / "faces" / "labels.json").exists():
        pytest.fail(f"evaldata not found at {EVALDATA} (set REDACTOR_SHARED)")
    return EVALDATA


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not (TESTDATA / "vtest.avi").exists():
        pytest.fail(f"{TESTDATA}/vtest.avi missing: run scripts/setup.sh")
    return TESTDATA


@pytest.fixture(scope="session")
def vtest(testdata: Path) -> Path:
    return testdata / "vtest.avi"
