"""A real S3-protocol server for the tests: moto in server mode (`moto_server`), started as a subprocess on a free
loopback port, once per test session. Import the fixtures into a test module or conftest.py with
`from s3_server import s3_server, s3_url  # noqa: F401`.

`s3_server` yields an S3Endpoint (endpoint "127.0.0.1:PORT", access and secret key, `client()` for a minio client,
`url(bucket)` for REDACTOR_STORE). Moto's server keeps everything in memory and dies with the session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

__all__ = ["S3Endpoint", "start_moto", "s3_server", "s3_url"]


@dataclass
class S3Endpoint:
    host: str
    port: int
    access_key: str = "testing-access"
    secret_key: str = "testing-secret"  # noqa: S105 - moto accepts any credentials

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def client(self):
        from minio import Minio

        return Minio(self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False,
                     region="us-east-1")

    def url(self, bucket: str | None = None) -> str:
        bucket = bucket or f"redactor-{uuid.uuid4().hex[:8]}"
        return f"s3://{self.access_key}:{self.secret_key}@{self.endpoint}/{bucket}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moto_command() -> list[str]:
    exe = Path(sys.executable).with_name("moto_server")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    return [sys.executable, "-m", "moto.server"]


def start_moto(timeout: float = 30.0) -> tuple[subprocess.Popen, S3Endpoint]:
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing-access", "AWS_SECRET_ACCESS_KEY": "testing-secret"}
    proc = subprocess.Popen([*_moto_command(), "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=1.0)
            return proc, S3Endpoint("127.0.0.1", port)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("moto_server did not answer within {timeout} s")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Endpoint]:
    try:
        proc, endpoint = start_moto()
    except (RuntimeError, OSError) as err:
        pytest.fail(f"cannot start the S3 test server (moto[server]): {err}")
    try:
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def s3_url(s3_server: S3Endpoint) -> str:
    """A REDACTOR_STORE URL with a fresh bucket name."""
    return s3_server.url()
