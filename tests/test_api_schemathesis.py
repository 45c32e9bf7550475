"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis), with a token of a role the
operation allows, so the generated input reaches the handler: no answer may be a 5xx. In process (ASGI), on a fresh
SQLite database with a camera and a request to find."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from services import ROLES

PASSWORD = "schemathesis-pass"  # noqa: S105 - a test account


@pytest.fixture(scope="module")
def app_and_tokens(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("fuzz")
    mp.setenv("REDACTOR_HOME", str(home))
    mp.setenv("REDACTOR_DB", f"sqlite:///{home / 'fuzz.db'}")
    mp.setenv("REDACTOR_LOGIN_ATTEMPTS", "100000")
    mp.setenv("REDACTOR_RATE_PER_MINUTE", "0")
    mp.delenv("REDACTOR_BROKER", raising=False)
    mp.delenv("REDACTOR_STORE", raising=False)
    from api.app import create_app
    from redactor import db
    from redactor.auth import accounts, tokens
    from redactor.disclosure.service import receive_request
    from redactor.registry.service import add_camera

    db.upgrade()
    issued = {}
    with db.session_scope() as s:
        for role in ROLES:
            user = accounts.create(s, role, role, PASSWORD)
            s.flush()
            issued[role] = tokens.issue(user.id, user.username, version=user.credential_version or 0)[0]
        cam = add_camera(s, code="C1", location="x", department="d", officer="o", staff="s", purpose="사회안정")
        now = dt.datetime.now(dt.UTC)
        receive_request(s, kind="열람", requester_name="가", period_from=now - dt.timedelta(hours=1), period_to=now,
                        camera_location="x", camera_id=cam.id, purpose="p", received_by="clerk")
    app = create_app()
    yield app, issued
    app.state.dispatch.shutdown()
    db.dispose_all()
    mp.undo()


@pytest.fixture(scope="module")
def api_schema(app_and_tokens):
    app, issued = app_and_tokens
    token = {"Authorization": f"Bearer {issued['auditor']}"}  # the schema is for logged-in staff (REDACTOR_DOCS)
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=token)


def fuzz_operation(op, headers: dict, failures: list[str]) -> None:
    @given(case=op.as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def fuzz(case) -> None:
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")

    fuzz()


def test_no_5xx_for_any_input(api_schema, app_and_tokens):
    # (schemathesis' own pytest plugin does not load under this pytest: operations are walked here instead)
    _, issued = app_and_tokens
    failures: list[str] = []
    count = 0
    for result in api_schema.get_all_operations():
        op = result.ok()
        allowed = (op.definition.raw or {}).get("x-roles") or ["admin"]
        headers = {"Authorization": f"Bearer {issued[allowed[0]]}"}

        fuzz_operation(op, headers, failures)
        count += 1
    assert count >= 30
    assert not failures, "\n".join(sorted(set(failures))[:20])
