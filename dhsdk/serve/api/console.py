"""The merchant console (``/``), the sample catalogue it offers, and ``/healthz``.

The console is one static page (``dhsdk/serve/console/index.html``) that talks to the same
API as any client; the token a merchant pastes stays in the browser's local storage.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from dhsdk.serve import schemas
from dhsdk.serve.api.deps import principal, service
from dhsdk.serve.auth import Principal

router = APIRouter(tags=["console"])
PAGE = Path(__file__).resolve().parents[1] / "console" / "index.html"
CSP = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def console_page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"Content-Security-Policy": CSP,
                                                                   "Cache-Control": "no-cache"})


@router.get("/healthz", response_model=schemas.Health, summary="Is the service up (database, workers)")
def health(svc=Depends(service)):
    return svc.health()


@router.get("/v1/catalog/sample", responses=schemas.errors(401, 429), summary="The bundled sample catalogue (products a live session can present)")
def sample_catalog(_who: Principal = Depends(principal)) -> dict:
    import yaml

    from dhsdk.commerce.host_cli import SAMPLE_CATALOG

    return yaml.safe_load(SAMPLE_CATALOG.read_text(encoding="utf-8"))
