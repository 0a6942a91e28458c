"""``/v1/avatars``: upload material -> a job reviews it, creates the avatar, optionally trains it."""
from __future__ import annotations

import shutil
from typing import Annotated, Optional

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Response, UploadFile
from pydantic import ValidationError

from dhsdk.serve import schemas
from dhsdk.serve.api.deps import avatar_out, file_response, job_ref, owned, principal, service
from dhsdk.serve.auth import Principal
from dhsdk.serve.db import new_id

router = APIRouter(prefix="/v1/avatars", tags=["avatars"], responses=schemas.errors(400, 401, 404, 422, 429))
AvatarId = Annotated[str, Path(pattern=schemas.ID)]
BUSY = ("queued", "reviewing", "creating", "training")


def _train(text: Optional[str]) -> Optional[dict]:
    if not text:
        return None
    try:
        return schemas.TrainOptions.model_validate_json(text).model_dump(exclude_none=True)
    except ValidationError as e:
        raise HTTPException(422, f"train must be JSON like {{\"mouth\": \"lite\", \"minutes\": 30}}: "
                                 f"{e.errors()[0]['msg']}") from None


@router.post("", status_code=202, response_model=schemas.AvatarCreated, responses=schemas.errors(400, 413, 415),
             summary="Upload a talking video or a photo; a job reviews it and creates the avatar")
def upload(svc=Depends(service), who: Principal = Depends(principal),
           file: UploadFile = File(description="video (mp4, mov, webm, mkv) or photo (jpg, png, webp)"),
           name: Optional[str] = Form(None, max_length=200),
           create: bool = Form(True, description="false: stop after the review (then POST .../create)"),
           train: Optional[str] = Form(None, max_length=2000, description="JSON TrainOptions")):
    options = _train(train)
    row = svc.files.save_upload(who.tenant_id, "material", file.file, file.filename or "material",
                                int(svc.config.max_material_mb * (1 << 20)))
    if options and options.get("a2k") and row["content_type"].startswith("image/"):
        svc.files.remove(row)
        raise HTTPException(422, "a2k adaptation learns from the person speaking: upload a video with sound, "
                                 "or leave out \"a2k\"")
    aid, jid = new_id("av"), new_id("job")
    avatar = svc.store.insert("avatars", id=aid, tenant_id=who.tenant_id, name=name or row["name"], state="queued",
                              material_id=row["id"], job_id=jid, options={"train": options})
    job = svc.store.add_job(who.tenant_id, "avatar", aid, {"create": create, "train": options},
                            svc.config.max_attempts, job_id=jid)
    avatar.update(updated_at=avatar["created_at"], review=None, sheet_id=None, info=None, error=None)
    return schemas.AvatarCreated(avatar=avatar_out(avatar), job=job_ref(job["id"]))


@router.get("", response_model=list[schemas.AvatarOut], summary="The tenant's avatars, newest first")
def list_avatars(svc=Depends(service), who: Principal = Depends(principal)):
    return [avatar_out(r) for r in svc.store.list("avatars", who.tenant_id)]


@router.get("/{avatar_id}", response_model=schemas.AvatarOut, summary="An avatar with its review")
def get_avatar(avatar_id: AvatarId, svc=Depends(service), who: Principal = Depends(principal)):
    return avatar_out(owned(svc, "avatars", avatar_id, who, "avatar"))


@router.get("/{avatar_id}/review.png", summary="The review's contact sheet (PNG)",
            responses={200: {"content": {"image/png": {}}}, **schemas.errors(410)})
def contact_sheet(avatar_id: AvatarId, svc=Depends(service), who: Principal = Depends(principal)):
    row = owned(svc, "avatars", avatar_id, who, "avatar")
    return file_response(svc, row["sheet_id"], who, "the contact sheet")


@router.post("/{avatar_id}/create", status_code=202, response_model=schemas.AvatarCreated, responses=schemas.errors(409),
             summary="Create a reviewed avatar (after an upload with create=false)")
def create_reviewed(avatar_id: AvatarId, body: schemas.CreateAvatar = schemas.CreateAvatar(),
                    svc=Depends(service), who: Principal = Depends(principal)):
    row = owned(svc, "avatars", avatar_id, who, "avatar")
    if row["state"] not in ("reviewed", "failed", "cancelled") or (row["review"] or {}).get("verdict") == "fail":
        raise HTTPException(409, f"avatar {avatar_id} is {row['state']}: only a reviewed avatar that passed "
                                 f"(or a failed attempt) can be created")
    train = body.train.model_dump(exclude_none=True) if body.train else None
    jid = new_id("job")
    svc.store.update("avatars", avatar_id, job_id=jid, state="queued", error=None)
    job = svc.store.add_job(who.tenant_id, "avatar", avatar_id, {"create": True, "train": train},
                            svc.config.max_attempts, job_id=jid)
    return schemas.AvatarCreated(avatar=avatar_out(svc.store.get("avatars", avatar_id)), job=job_ref(job["id"]))


@router.delete("/{avatar_id}", status_code=204, responses=schemas.errors(409), summary="Delete an avatar, its material and its bundle")
def delete_avatar(avatar_id: AvatarId, svc=Depends(service), who: Principal = Depends(principal)):
    row = owned(svc, "avatars", avatar_id, who, "avatar")
    if svc.store.list("live", who.tenant_id, avatar_id=avatar_id, state=["starting", "live"]):
        raise HTTPException(409, f"avatar {avatar_id} is live: stop its live sessions first")
    if row["state"] in BUSY and row["job_id"]:
        svc.store.update("jobs", row["job_id"], cancel_requested=True)
        svc.store.update("jobs", row["job_id"], only_if={"state": "queued"}, state="cancelled",
                         error="the avatar was deleted")
    svc.store.delete("avatars", avatar_id)
    for file_id in (row["material_id"], row["sheet_id"]):
        f = svc.store.get("files", file_id, who.tenant_id) if file_id else None
        if f is not None:
            svc.files.remove(f)
    shutil.rmtree(svc.files.tenant_dir("avatars", who.tenant_id) / avatar_id, ignore_errors=True)
    svc.store.add_event(who.tenant_id, "avatar", avatar_id, "avatar.state", {"state": "deleted"})
    return Response(status_code=204)
