"""``/v1/jobs``: state, progress and the log tail of avatar and render jobs; cancelling one."""
from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Depends, Path, Query

from dhsdk.serve import schemas
from dhsdk.serve.jobs import settle_subject
from dhsdk.serve.api.deps import job_out, owned, principal, service
from dhsdk.serve.auth import Principal

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=schemas.errors(400, 401, 404, 422, 429))
JobId = Annotated[str, Path(pattern=schemas.ID)]


@router.get("", response_model=list[schemas.JobOut], summary="The tenant's jobs, newest first")
def list_jobs(svc=Depends(service), who: Principal = Depends(principal),
              state: Optional[schemas.JobState] = Query(None)):
    where = {"state": state} if state else {}
    return [job_out(svc, r) for r in svc.store.list("jobs", who.tenant_id, **where)]


@router.get("/{job_id}", response_model=schemas.JobOut, summary="A job: state, progress, log tail")
def get_job(job_id: JobId, svc=Depends(service), who: Principal = Depends(principal)):
    return job_out(svc, owned(svc, "jobs", job_id, who, "job"))


@router.post("/{job_id}/cancel", response_model=schemas.JobOut,
             summary="Cancel a job (a queued one at once, a running one at its next step)")
def cancel_job(job_id: JobId, svc=Depends(service), who: Principal = Depends(principal)):
    job = owned(svc, "jobs", job_id, who, "job")
    svc.store.update("jobs", job_id, only_if={"state": ["queued", "running"]}, cancel_requested=True)
    if svc.store.update("jobs", job_id, only_if={"state": "queued"}, state="cancelled",
                        error="cancelled on request"):
        svc.store.add_event(who.tenant_id, "job", job_id, "job.state", {"state": "cancelled"})
        settle_subject(svc.store, job, "cancelled", "cancelled on request")
    return job_out(svc, svc.store.get("jobs", job_id))
