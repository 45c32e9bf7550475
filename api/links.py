"""Recipients' downloads: an HMAC-signed, expiring link (redactor.storage.sign_link) served by the API, which
decrypts the sealed object as it streams. Used for both back ends: an S3 presigned URL would hand out ciphertext
(the store seals every object with its own data key), so the S3 store's own presigned links stay for transfers
between the service's parts."""

from __future__ import annotations

import datetime as dt
import os

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import client_address, db
from api.ranges import serve_object
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
def download(request: Request, token: str, session: Session = Depends(db)) -> Response:
    store = request.app.state.store()
    namespace, key = verify_link(token)
    if namespace != store.namespace:
        raise LinkInvalid("the link belongs to another store")
    name = key.rsplit("/", 1)[-1]
    # fails (410/404) before any byte is sent; a player's seek asks for a range and decrypts only its chunks
    response = serve_object(request, store, key,
                            "video/mp4" if name.endswith(".mp4") else "application/octet-stream",
                            {"Content-Disposition": f'attachment; filename="{name}"'})
    rel = session.scalar(select(Release).where(Release.object_key == key))
    pkg = None if rel else mark_handed_over(session, key)  # a package's first download is its handover
    target = f"release:{rel.id}" if rel else f"package:{pkg.job_id}" if pkg else key[:128]
    span = request.headers.get("range")
    record(session, actor=f"link:{target}", action="download", target=target,
           reason="수령인 다운로드 (서명 링크)" + (" (부분 요청)" if span else ""), client=client_address(request))
    session.commit()
    return response
