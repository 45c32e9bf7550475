"""Handover packages through the real CLI: create, verify, reject a changed byte (naming the file), the 인수증 PDF,
the destruction slip and the overdue list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from redactor.disclosure.package import (
    PackageInvalid,
    PackageRecord,
    Party,
    destruction_ledger_fields,
    destruction_slip,
    overdue_packages,
    verify_package,
    verify_slip,
)
from redactor.keys import load_private_key


def redactor(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDACTOR_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "redactor", *args], env=env, capture_output=True, text=True)


@pytest.fixture
def made(tmp_path, vtest):
    home = tmp_path / "home"
    assert redactor("keys", "generate", "--out", str(tmp_path / "city"), home=home).returncode == 0
    assert redactor("keys", "generate", "--out", str(tmp_path / "other"), home=home).returncode == 0
    assert (tmp_path / "city.key").stat().st_mode & 0o777 == 0o600
    clip = tmp_path / "OS-001_20260302.avi"
    clip.write_bytes(vtest.read_bytes()[:400_000])
    pkg = tmp_path / "pkg.zip"
    r = redactor("package", "create", str(clip), "--recipient", "오산경찰서 형사과/경위/김수사", "--basis", "32-1-7",
                 "--key", str(tmp_path / "city.key"), "-o", str(pkg), "--camera", "OS-001 고정형 200만화소",
                 "--place", "오산시청 앞 교차로", "--span", "2026-03-02 18:30 ~ 19:00", "--approver", "총괄책임관 박",
                 "--entry", "17", "--expires", "2026-06-30", home=home)
    assert r.returncode == 0, r.stderr
    return tmp_path, home, pkg


def _rewrite(src: Path, dst: Path, name: str, change) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, change(data) if item.filename == name else data)


def _flip(data: bytes) -> bytes:
    b = bytearray(data)
    b[len(b) // 2] ^= 0x01
    return bytes(b)


def test_fresh_package_verifies_and_holds_the_receipt(made):
    tmp, home, pkg = made
    r = redactor("package", "verify", str(pkg), "--key", str(tmp / "city.pub"), home=home)
    assert r.returncode == 0 and "valid" in r.stdout, r.stderr
    assert redactor("package", "verify", str(pkg), home=home).returncode == 0  # integrity with the key inside
    m = verify_package(pkg).manifest
    assert m["ledger_entry"] == 17 and m["basis"] == "32-1-7" and m["expires"] == "2026-06-30"
    assert m["recipient"] == {"affiliation": "오산경찰서 형사과", "rank": "경위", "name": "김수사"}
    assert set(m["files"]) == {"clips/OS-001_20260302.avi", "receipt.pdf"}
    with zipfile.ZipFile(pkg) as z:
        (tmp / "receipt.pdf").write_bytes(z.read("receipt.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(tmp / "receipt.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    for needed in ("영상정보 인수증", "오산시청 앞 교차로", "1개 파일", "2026-03-02 18:30 ~ 19:00", "목적 외의 용도",
                   "제3자에게 제공", "파기", "김수사", "인계자", "서명"):
        assert needed in text, needed


@pytest.mark.parametrize("target", ["clips/OS-001_20260302.avi", "manifest.json", "receipt.pdf"])
def test_changed_byte_is_rejected_and_named(made, target):
    tmp, home, pkg = made
    bad = tmp / "bad.zip"
    _rewrite(pkg, bad, target, _flip)
    r = redactor("package", "verify", str(bad), "--key", str(tmp / "city.pub"), home=home)
    assert r.returncode != 0
    assert target in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("target", ["clips/OS-001_20260302.avi", "manifest.json"])
def test_byte_patched_in_the_zip_itself_is_named(made, target):
    """A byte changed in place inside the ZIP file (no re-zipping): the ZIP's CRC fails first; still named."""
    tmp, home, pkg = made
    with zipfile.ZipFile(pkg) as z:
        info = z.getinfo(target)
    data = bytearray(pkg.read_bytes())
    header = info.header_offset
    name_len, extra_len = int.from_bytes(data[header + 26:header + 28], "little"), int.from_bytes(
        data[header + 28:header + 30], "little")
    start = header + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x10
    bad = tmp / "patched.zip"
    bad.write_bytes(bytes(data))
    r = redactor("package", "verify", str(bad), "--key", str(tmp / "city.pub"), home=home)
    assert r.returncode != 0 and target in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_other_signer_and_added_file_are_rejected(made):
    tmp, home, pkg = made
    r = redactor("package", "verify", str(pkg), "--key", str(tmp / "other.pub"), home=home)
    assert r.returncode != 0 and "manifest.json" in r.stderr
    added = tmp / "added.zip"
    _rewrite(pkg, added, "", lambda d: d)
    with zipfile.ZipFile(added, "a") as z:
        z.writestr("clips/extra.mp4", b"not listed")
    with pytest.raises(PackageInvalid, match="clips/extra.mp4"):
        verify_package(added)
    r = redactor("package", "verify", str(tmp / "missing.zip"), home=home)
    assert r.returncode != 0 and "Traceback" not in r.stderr


def _with_entry(src: Path, dst: Path, name: str, data: bytes, first: bool = False) -> None:
    """The package re-zipped with one entry more (before the others when `first`), as a forger would add it."""
    import warnings

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of a duplicate name: that is the point
        if first:
            zout.writestr(name, data)
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        if not first:
            zout.writestr(name, data)


@pytest.mark.parametrize("first", [True, False], ids=["forged-first", "forged-last"])
def test_two_entries_of_one_name_fail_verify(made, first):
    """Issue 20: a forged clip beside the genuine one under the same name passed verify (zipfile reads the last
    entry of a name, a plain unzip may take the other)."""
    tmp, home, pkg = made
    forged = tmp / "forged.zip"
    _with_entry(pkg, forged, "clips/OS-001_20260302.avi", b"forged footage", first=first)
    r = redactor("package", "verify", str(forged), "--key", str(tmp / "city.pub"), home=home)
    assert r.returncode == 3, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "clips/OS-001_20260302.avi: in the ZIP twice" in lines[0], r.stderr
    # a name an unzip on a case-folding file system writes to the same file
    folded = tmp / "folded.zip"
    _with_entry(pkg, folded, "clips/OS-001_20260302.AVI", b"forged footage")
    with pytest.raises(PackageInvalid, match="again as clips/OS-001_20260302.avi"):
        verify_package(folded)


@pytest.mark.parametrize("name", ["../evil.avi", "/etc/cron.d/x", "clips/sub/x.avi", "clips/..", "notes.txt",
                                  "clips/", "clips/a\\..\\b.avi", "CLIPS/x.avi", "clips/x\x1b[2J.avi"])
def test_unexpected_names_fail_verify(made, name):
    tmp, home, pkg = made
    odd = tmp / "odd.zip"
    _with_entry(pkg, odd, name, b"x")
    r = redactor("package", "verify", str(odd), "--key", str(tmp / "city.pub"), home=home)
    assert r.returncode == 3 and "an unexpected name in the package" in r.stderr, r.stderr
    assert "\x1b" not in r.stderr and "Traceback" not in r.stderr


def test_bad_input_is_clear(made):
    tmp, home, _ = made
    r = redactor("package", "create", str(tmp / "nope.mp4"), "--recipient", "x", "--basis", "32-1-6", "--key",
                 str(tmp / "city.key"), "-o", str(tmp / "p.zip"), home=home)
    assert r.returncode == 2 and "nope.mp4" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp / "p.zip").exists()


def test_destruction_slip_and_overdue(made):
    tmp, home, pkg = made
    r = redactor("package", "confirm-destruction", str(pkg), "--by", "오산경찰서 형사과/경위/김수사", "--key",
                 str(tmp / "other.key"), "-o", str(tmp / "slip.json"), "--officer", "clerk.lee", home=home)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ledger_fields"]["file"] == "OS-001_20260302.avi" and "제공:17" in out["ledger_fields"]["ref"]
    signed = json.loads((tmp / "slip.json").read_text())
    assert verify_slip(signed)["ledger_entry"] == 17
    signed["slip"]["destroyed_at"] = "2020-01-01T00:00:00+00:00"
    with pytest.raises(PackageInvalid):
        verify_slip(signed)
    slip = destruction_slip(pkg, Party(name="김수사"), load_private_key(tmp / "other.key"))
    fields = destruction_ledger_fields(slip, officer="clerk.lee")
    assert fields["officer"] == "clerk.lee"
    records = [PackageRecord("a", "경찰", date(2026, 1, 1)), PackageRecord("b", "법원", date(2026, 1, 1), True),
               PackageRecord("c", "경찰", date(2027, 1, 1)), PackageRecord("d", "경찰", None)]
    assert [r.manifest_sha256 for r in overdue_packages(records, today=date(2026, 3, 1))] == ["a"]
