"""Recipients' downloads: an HMAC-signed, expiring link (redactor.storage.sign_link) served by the API, which
decrypts the sealed object as it streams. Used for both back ends: an S3 presigned URL would hand out ciphertext
(the store seals every object with its own data key), so the S3 store's own presigned links stay for transfers
between the service's parts."""

from __future__ import annotations

import datetime as dt
import os

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import client_address, db
from redactor.access_log.service import record
from redactor.disclosure.models import Release
from redactor.disclosure.service import mark_handed_over
from redactor.storage import LinkInvalid, sign_link, verify_link
from redactor.storage.base import link_lifetime, utcnow

router = APIRouter(tags=["downloads"])


def download_url(request: Request, key: str, lifetime: dt.timedelta) -> tuple[str, dt.datetime]:
    store = request.app.state.store()
    now = utcnow()
    until = now + link_lifetime(store.expiry(key), lifetime, now)
    base = os.environ.get("REDACTOR_PUBLIC_URL", str(request.base_url)).rstrip("/")
    return f"{base}/objects/{sign_link(store.namespace, key, until)}", until


@router.get("/objects/{token}", summary="Download through an expiring link (no account; every use is logged)",
            response_class=StreamingResponse)
def download(request: Request, token: str, session: Session = Depends(db)) -> StreamingResponse:
    store = request.app.state.store()
    namespace, key = verify_link(token)
    if namespace != store.namespace:
        raise LinkInvalid("the link belongs to another store")
    chunks = store.get(key)
    first = next(chunks, b"")  # expired or missing: a clear 410/404 before any byte is sent
    rel = session.scalar(select(Release).where(Release.object_key == key))
    pkg = None if rel else mark_handed_over(session, key)  # a package's first download is its handover
    target = f"release:{rel.id}" if rel else f"package:{pkg.job_id}" if pkg else key[:128]
    record(session, actor=f"link:{target}", action="download", target=target, reason="수령인 다운로드 (서명 링크)",
           client=client_address(request))
    session.commit()

    def body():
        yield first
        yield from chunks

    name = key.rsplit("/", 1)[-1]
    return StreamingResponse(body(), media_type="video/mp4" if name.endswith(".mp4") else "application/octet-stream",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
