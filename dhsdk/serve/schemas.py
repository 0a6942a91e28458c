"""Request and response bodies of the HTTP API (pydantic models: they make the OpenAPI schema)."""
from __future__ import annotations

import datetime
import re
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

ID = r"^[a-z]{1,4}_[0-9a-f]{20}$"   # every id the service makes (dhsdk.serve.db.new_id)
_SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


def iso(t: float | None) -> Optional[str]:
    """Epoch seconds as ISO 8601 UTC (None stays None)."""
    if t is None:
        return None
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(timespec="milliseconds")


JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Strict(BaseModel):
    """Unknown fields are an error (a typo is told, not ignored)."""

    model_config = ConfigDict(extra="forbid")


class TrainOptions(Strict):
    """Optional per-person training after the avatar is created."""

    mouth: Optional[Literal["lite", "full"]] = Field(None, description="train the inpainting mouth UNet")
    a2k: bool = Field(False, description="adapt audio-to-lips to the person (needs material with speech)")
    minutes: Optional[float] = Field(None, gt=0, le=600, description="wall-clock budget per model")
    steps: Optional[int] = Field(None, ge=1, le=200000, description="optimiser steps of the mouth model")


class CreateAvatar(Strict):
    """``POST /v1/avatars/{id}/create``: build a reviewed avatar."""

    train: Optional[TrainOptions] = None


class ReviewCheck(BaseModel):
    """One check of the automated review."""

    name: str
    status: Literal["pass", "warn", "fail", "skip"]
    value: Optional[float] = None
    threshold: str = ""
    reason: str = ""
    fix: str = ""
    frames: list[int] = []


class Review(BaseModel):
    """The material's review: the verdict and every check with its fix."""

    verdict: Literal["pass", "warn", "fail"]
    kind: str
    source: str
    checks: list[ReviewCheck]
    info: dict[str, Any] = {}


class AvatarOut(BaseModel):
    """An avatar and where it is in upload -> review -> create -> train."""

    id: str
    name: str
    state: Literal["queued", "reviewing", "reviewed", "rejected", "creating", "training", "ready", "failed",
                   "cancelled"]
    job_id: Optional[str]
    review: Optional[Review]
    contact_sheet_url: Optional[str]
    info: Optional[dict[str, Any]]
    error: Optional[str]
    created_at: Optional[str]
    updated_at: Optional[str]


class JobRef(BaseModel):
    """A job started by a request."""

    id: str
    url: str


class AvatarCreated(BaseModel):
    """``POST /v1/avatars``: the avatar and its job."""

    avatar: AvatarOut
    job: JobRef


class LogLine(BaseModel):
    """One line of a job's log."""

    t: Optional[str]
    message: str


class JobOut(BaseModel):
    """A job: state, progress, the log's tail."""

    id: str
    kind: Literal["avatar", "render"]
    subject_id: str
    state: JobState
    progress: float = Field(description="0..1")
    step: Optional[str]
    attempts: int
    max_attempts: int
    error: Optional[str]
    result: Optional[dict[str, Any]]
    worker: Optional[str]
    created_at: Optional[str]
    started_at: Optional[str]
    finished_at: Optional[str]
    log: list[LogLine]


class RenderIn(Strict):
    """``POST /v1/renders``: what to say, on which avatar. Exactly one of ``text``,
    ``audio_id`` (from ``POST /v1/uploads``) and ``audio_url``."""

    avatar: str = Field(pattern=ID)
    text: Optional[str] = Field(None, min_length=1, max_length=5000)
    audio_id: Optional[str] = Field(None, pattern=ID)
    audio_url: Optional[str] = Field(None, max_length=2000)
    voice: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_+\-]{1,40}$",
                                 description="espeak-ng voice, e.g. en-us, cmn, auto (default)")
    size: Optional[str] = Field(None, description="WIDTHxHEIGHT, e.g. 720x1280 (the avatar's when absent)")

    @field_validator("size")
    @classmethod
    def _size(cls, v: Optional[str]) -> Optional[str]:
        if v is not None:
            m = _SIZE.match(v)
            if not m or not all(16 <= int(x) <= 3840 for x in m.groups()):
                raise ValueError("size must be WIDTHxHEIGHT with sides 16..3840, e.g. 720x1280")
        return v

    def sources(self) -> int:
        """How many of text / audio_id / audio_url were given."""
        return sum(x is not None for x in (self.text, self.audio_id, self.audio_url))


class RenderOut(BaseModel):
    """A render and, once ready, its video."""

    id: str
    avatar_id: str
    state: Literal["queued", "rendering", "ready", "failed", "cancelled"]
    job_id: Optional[str]
    video_url: Optional[str]
    info: Optional[dict[str, Any]]
    error: Optional[str]
    created_at: Optional[str]


class RenderCreated(BaseModel):
    """``POST /v1/renders``: the render and its job."""

    render: RenderOut
    job: JobRef


class FileOut(BaseModel):
    """An upload, stored and checksummed."""

    id: str
    name: str
    size: int
    sha256: str
    content_type: str


class HostIn(Strict):
    """What the commerce host presents."""

    catalog: Optional[dict[str, Any]] = Field(None, description="a catalogue (the format of dhsdk host "
                                                                "--catalog); the bundled sample when absent")
    products: Optional[list[str]] = Field(None, max_length=100, description="product ids to present, in order")
    script: Optional[str] = Field(None, max_length=20000, description="the merchant's own words for the first "
                                                                      "product, instead of the generated pitch")
    loops: int = Field(0, ge=0, le=1000, description="times through the products (0: until stopped)")
    voice: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_+\-]{1,40}$")


class LiveIn(Strict):
    """``POST /v1/live``: start a live session."""

    avatar: str = Field(pattern=ID)
    sink: str = Field(max_length=2000, description="rtmp://host/app/key (or rtmps://), browser, obs or obs:NAME")
    host: HostIn = HostIn()


class LiveOut(BaseModel):
    """A live session."""

    id: str
    avatar_id: str
    state: Literal["starting", "live", "stopped", "ended", "failed"]
    sink: str
    viewer_url: Optional[str]
    worker: Optional[str]
    restarts: int
    metrics: Optional[dict[str, Any]]
    error: Optional[str]
    created_at: Optional[str]
    started_at: Optional[str]
    stopped_at: Optional[str]


class CommentIn(Strict):
    """A viewer's comment."""

    user: str = Field("viewer", min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=2000)


class CommentOut(BaseModel):
    """Whether the host will answer it (spam, abuse, chatter and duplicates are dropped)."""

    accepted: bool


class Problem(BaseModel):
    """An error: ``detail`` says what is wrong and what to do (a list for invalid fields)."""

    detail: Union[str, list[dict[str, Any]]]


_STATUS = {400: "bad input (a file that cannot be used, an unreachable URL)", 401: "missing or invalid token",
           404: "no such thing for this tenant", 409: "not in a state that allows it",
           410: "the stored file is gone or damaged", 413: "request body over the limit",
           415: "not a file type this accepts", 422: "invalid request", 429: "rate limit (see Retry-After)"}


def errors(*codes: int) -> dict[int, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses."""
    return {c: {"model": Problem, "description": _STATUS[c]} for c in codes}


class Health(BaseModel):
    """``GET /healthz``."""

    ok: bool
    database: str
    backend: str
    model_config = ConfigDict(extra="allow")
