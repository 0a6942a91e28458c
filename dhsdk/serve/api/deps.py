"""What the routes share: the caller's tenant (bearer token + rate limit), the service, rows
as API models, and the one way a missing or foreign id answers (404)."""
from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from dhsdk.serve import schemas
from dhsdk.serve.auth import Principal


def service(request: Request) -> Any:
    """The running :class:`~dhsdk.serve.server.Service`."""
    return request.app.state.service


def principal_for(svc: Any, token: str | None) -> Principal | None:
    """The tenant of a bearer token (None: missing, unknown or revoked)."""
    return svc.tokens.lookup(token)


def bearer(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    scheme, _, token = (value or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal(request: Request) -> Principal:
    """FastAPI dependency: the calling tenant; 401 without a valid token, 429 over the rate."""
    svc = service(request)
    who = principal_for(svc, bearer(request.headers.get("authorization")))
    if who is None:
        raise HTTPException(401, "missing or invalid bearer token: send 'Authorization: Bearer <token>' "
                                 "(create one with: dhsdk serve token create --tenant NAME)",
                            headers={"WWW-Authenticate": "Bearer"})
    wait = svc.limiter.take(who.token_id)
    if wait > 0:
        raise HTTPException(429, f"rate limit: at most {svc.config.rate_per_s:g} requests/s per token; "
                                 f"retry in {wait:.2f} s", headers={"Retry-After": str(max(1, round(wait)))})
    return who


def owned(svc: Any, table: str, row_id: str, who: Principal, what: str) -> dict[str, Any]:
    """The tenant's row ``row_id`` of ``table``, else 404 (another tenant's rows do not exist)."""
    row = svc.store.get(table, row_id, who.tenant_id)
    if row is None:
        raise HTTPException(404, f"no {what} {row_id}")
    return row


def job_ref(job_id: str) -> schemas.JobRef:
    """A job's id and URL."""
    return schemas.JobRef(id=job_id, url=f"/v1/jobs/{job_id}")


def avatar_out(row: dict[str, Any]) -> schemas.AvatarOut:
    """An avatar row as the API shows it."""
    return schemas.AvatarOut(id=row["id"], name=row["name"] or "", state=row["state"], job_id=row["job_id"],
                             review=row["review"], info=row["info"], error=row["error"],
                             contact_sheet_url=f"/v1/avatars/{row['id']}/review.png" if row["sheet_id"] else None,
                             created_at=schemas.iso(row["created_at"]), updated_at=schemas.iso(row["updated_at"]))


def render_out(row: dict[str, Any]) -> schemas.RenderOut:
    """A render row as the API shows it."""
    return schemas.RenderOut(id=row["id"], avatar_id=row["avatar_id"], state=row["state"], job_id=row["job_id"],
                             video_url=f"/v1/renders/{row['id']}/video" if row["video_id"] else None,
                             info=row["info"], error=row["error"], created_at=schemas.iso(row["created_at"]))


def live_out(row: dict[str, Any]) -> schemas.LiveOut:
    """A live session row as the API shows it (the RTMP key is not shown back)."""
    cfg = row["config"] or {}
    sink = cfg.get("sink", "")
    if sink == "rtmp":
        sink = "rtmp: " + cfg.get("shown", "")
    elif sink == "obs":
        sink = f"obs:{cfg.get('target') or ''}"
    return schemas.LiveOut(id=row["id"], avatar_id=row["avatar_id"], state=row["state"], sink=sink,
                           viewer_url=row["viewer_url"], worker=row["worker"], restarts=row["restarts"] or 0,
                           metrics=row["metrics"], error=row["error"], created_at=schemas.iso(row["created_at"]),
                           started_at=schemas.iso(row["started_at"]), stopped_at=schemas.iso(row["stopped_at"]))


def job_out(svc: Any, row: dict[str, Any]) -> schemas.JobOut:
    """A job row with its log tail."""
    return schemas.JobOut(id=row["id"], kind=row["kind"], subject_id=row["subject_id"], state=row["state"],
                          progress=row["progress"] or 0.0, step=row["step"], attempts=row["attempts"] or 0,
                          max_attempts=row["max_attempts"] or 0, error=row["error"], result=row["result"],
                          worker=row["worker"], created_at=schemas.iso(row["created_at"]),
                          started_at=schemas.iso(row["started_at"]), finished_at=schemas.iso(row["finished_at"]),
                          log=[schemas.LogLine(t=schemas.iso(r["t"]), message=r["message"])
                               for r in svc.store.log_tail(row["id"])])


def file_response(svc: Any, file_id: str | None, who: Principal, what: str) -> Any:
    """A stored file (checked complete: never half-written), with its sha256 as ETag."""
    from fastapi.responses import FileResponse

    row = svc.store.get("files", file_id, who.tenant_id) if file_id else None
    if row is None:
        raise HTTPException(404, f"{what} is not ready")
    try:
        path = svc.files.path(row)
    except FileNotFoundError:
        raise HTTPException(410, f"{what} is gone from the server's disk") from None
    return FileResponse(path, media_type=row["content_type"], headers={"ETag": f'"{row["sha256"]}"'},
                        filename=row["name"] or None, content_disposition_type="inline")
