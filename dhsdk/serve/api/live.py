"""``/v1/live``: live sessions (an avatar hosting the show into RTMP, a browser page or OBS),
viewers' comments, stop."""
from __future__ import annotations

import re
import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path

from dhsdk.serve import schemas
from dhsdk.serve.api.deps import live_out, owned, principal, service
from dhsdk.serve.auth import Principal
from dhsdk.serve.db import new_id

router = APIRouter(prefix="/v1/live", tags=["live"], responses=schemas.errors(400, 401, 404, 409, 413, 422, 429))
LiveId = Annotated[str, Path(pattern=schemas.ID)]
_OBS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_sink(spec: str) -> dict:
    """``{"sink": kind, "target": ..., "shown": ...}`` of a sink spec, or 422 naming the problem."""
    spec = spec.strip()
    if spec.startswith(("rtmp://", "rtmps://")):
        parts = urlsplit(spec)
        if not parts.hostname or len(parts.path.strip("/").split("/")) < 2:
            raise HTTPException(422, "an RTMP sink needs rtmp://host[:port]/app/streamkey")
        return {"sink": "rtmp", "target": spec, "shown": f"{parts.scheme}://{parts.netloc}/"
                                                         f"{parts.path.strip('/').split('/')[0]}/***"}
    if spec == "browser":
        return {"sink": "browser", "target": None}
    if spec == "obs" or spec.startswith("obs:"):
        name = spec[4:] or None
        if name is not None and not _OBS_NAME.match(name):
            raise HTTPException(422, "obs:NAME takes letters, digits, '-' and '_' (the OBS source's ring name)")
        return {"sink": "obs", "target": name}
    raise HTTPException(422, f"unknown sink {spec[:80]!r}: use rtmp://host/app/key, browser, obs or obs:NAME")


def _catalog_check(host: schemas.HostIn) -> None:
    """Validate the catalogue and picks now, so a bad one fails the request, not the show."""
    from dhsdk.errors import InputError
    from dhsdk.serve.engine import show_catalog

    try:
        show_catalog(host.model_dump())
    except InputError as e:
        raise HTTPException(422, str(e)) from None


@router.post("", status_code=201, response_model=schemas.LiveOut,
             summary="Go live: the avatar hosts the show into an RTMP ingest, a browser page or OBS")
def start(body: schemas.LiveIn, svc=Depends(service), who: Principal = Depends(principal)):
    avatar = owned(svc, "avatars", body.avatar, who, "avatar")
    if avatar["state"] != "ready":
        raise HTTPException(409, f"avatar {body.avatar} is {avatar['state']}, not ready")
    config = parse_sink(body.sink)
    _catalog_check(body.host)
    config["host"] = body.host.model_dump()
    sid = new_id("lv")
    svc.store.insert("live", id=sid, tenant_id=who.tenant_id, avatar_id=body.avatar, state="starting",
                     config=config, restarts=0)
    result = svc.backend.start_live(sid)
    if result["state"] != "live":
        raise HTTPException(422, result["error"] or "the session could not start")
    return live_out(svc.store.get("live", sid))


@router.get("", response_model=list[schemas.LiveOut], summary="The tenant's live sessions, newest first")
def list_live(svc=Depends(service), who: Principal = Depends(principal)):
    return [live_out(r) for r in svc.store.list("live", who.tenant_id)]


@router.get("/{session_id}", response_model=schemas.LiveOut, summary="A live session with its latest metrics")
def get_live(session_id: LiveId, svc=Depends(service), who: Principal = Depends(principal)):
    return live_out(owned(svc, "live", session_id, who, "live session"))


@router.post("/{session_id}/comments", response_model=schemas.CommentOut,
             summary="A viewer's comment for the host to answer")
def comment(session_id: LiveId, body: schemas.CommentIn, svc=Depends(service), who: Principal = Depends(principal)):
    row = owned(svc, "live", session_id, who, "live session")
    accepted = svc.backend.comment(session_id, body.user, body.text) if row["state"] == "live" else None
    if accepted is None:
        raise HTTPException(409, f"live session {session_id} is {row['state']}, not on air")
    return schemas.CommentOut(accepted=accepted)


@router.delete("/{session_id}", response_model=schemas.LiveOut, summary="Stop a live session")
def stop(session_id: LiveId, svc=Depends(service), who: Principal = Depends(principal)):
    row = owned(svc, "live", session_id, who, "live session")
    if row["state"] in ("starting", "live") and not svc.backend.stop_live(session_id):
        svc.store.update("live", session_id, state="stopped", stopped_at=time.time())
    return live_out(svc.store.get("live", session_id))
