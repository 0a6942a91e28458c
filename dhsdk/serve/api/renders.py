"""``/v1/renders`` (text or audio -> mp4 on an avatar, as a job) and ``/v1/uploads`` (audio)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Path, Response, UploadFile

from dhsdk.serve import schemas
from dhsdk.serve.api.deps import file_response, job_ref, owned, principal, render_out, service
from dhsdk.serve.auth import Principal
from dhsdk.serve.db import new_id

router = APIRouter(tags=["renders"], responses=schemas.errors(400, 401, 404, 422, 429))
RenderId = Annotated[str, Path(pattern=schemas.ID)]


def _file_out(row: dict) -> schemas.FileOut:
    return schemas.FileOut(id=row["id"], name=row["name"], size=row["size"], sha256=row["sha256"],
                           content_type=row["content_type"])


@router.post("/v1/uploads", status_code=201, response_model=schemas.FileOut, responses=schemas.errors(400, 413, 415),
             summary="Upload audio to render (wav, mp3, m4a, ogg, flac, aac); stored checksummed")
def upload_audio(svc=Depends(service), who: Principal = Depends(principal), file: UploadFile = File()):
    row = svc.files.save_upload(who.tenant_id, "audio", file.file, file.filename or "audio",
                                int(svc.config.max_audio_mb * (1 << 20)))
    return _file_out(row)


@router.post("/v1/renders", status_code=202, response_model=schemas.RenderCreated,
             responses=schemas.errors(400, 409, 413, 415),
             summary="Render text or audio on an avatar into an mp4 (a job)")
def create_render(body: schemas.RenderIn, svc=Depends(service), who: Principal = Depends(principal)):
    if body.sources() != 1:
        raise HTTPException(422, "give exactly one of text, audio_id and audio_url")
    avatar = owned(svc, "avatars", body.avatar, who, "avatar")
    if avatar["state"] != "ready":
        raise HTTPException(409, f"avatar {body.avatar} is {avatar['state']}, not ready: wait for its job")
    audio_id = body.audio_id
    if audio_id is not None:
        f = svc.store.get("files", audio_id, who.tenant_id)
        if f is None or f["kind"] != "audio":
            raise HTTPException(404, f"no uploaded audio {audio_id} (upload it with POST /v1/uploads)")
    elif body.audio_url is not None:
        from dhsdk.serve.fetch import open_url

        src, conn = open_url(body.audio_url, svc.config.allow_private_urls)
        try:
            name = body.audio_url.rsplit("/", 1)[-1][:200] or "audio"
            audio_id = svc.files.save_upload(who.tenant_id, "audio", src, name,
                                             int(svc.config.max_audio_mb * (1 << 20)))["id"]
        finally:
            conn.close()
    size = [int(v) for v in body.size.split("x")] if body.size else None
    params = {"text": body.text, "audio_id": audio_id, "voice": body.voice, "size": size}
    rid, jid = new_id("rn"), new_id("job")
    row = svc.store.insert("renders", id=rid, tenant_id=who.tenant_id, avatar_id=body.avatar, state="queued",
                           params=params, job_id=jid)
    job = svc.store.add_job(who.tenant_id, "render", rid, params, svc.config.max_attempts, job_id=jid)
    row.update(video_id=None, info=None, error=None)
    return schemas.RenderCreated(render=render_out(row), job=job_ref(job["id"]))


@router.get("/v1/renders", response_model=list[schemas.RenderOut], summary="The tenant's renders, newest first")
def list_renders(svc=Depends(service), who: Principal = Depends(principal)):
    return [render_out(r) for r in svc.store.list("renders", who.tenant_id)]


@router.get("/v1/renders/{render_id}", response_model=schemas.RenderOut, summary="A render")
def get_render(render_id: RenderId, svc=Depends(service), who: Principal = Depends(principal)):
    return render_out(owned(svc, "renders", render_id, who, "render"))


@router.get("/v1/renders/{render_id}/video", summary="The rendered mp4 (only once complete)",
            responses={200: {"content": {"video/mp4": {}}}, **schemas.errors(410)})
def render_video(render_id: RenderId, svc=Depends(service), who: Principal = Depends(principal)):
    row = owned(svc, "renders", render_id, who, "render")
    return file_response(svc, row["video_id"], who, f"render {render_id}'s video")


@router.delete("/v1/renders/{render_id}", status_code=204, summary="Delete a render and its video")
def delete_render(render_id: RenderId, svc=Depends(service), who: Principal = Depends(principal)):
    row = owned(svc, "renders", render_id, who, "render")
    if row["job_id"]:
        svc.store.update("jobs", row["job_id"], cancel_requested=True)
        svc.store.update("jobs", row["job_id"], only_if={"state": "queued"}, state="cancelled",
                         error="the render was deleted")
    svc.store.delete("renders", render_id)
    f = svc.store.get("files", row["video_id"], who.tenant_id) if row["video_id"] else None
    if f is not None:
        svc.files.remove(f)
    return Response(status_code=204)
