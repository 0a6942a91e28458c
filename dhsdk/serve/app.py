"""The FastAPI application: routes, request-size limits, errors as JSON, the console page.

:func:`create_app` wires a :class:`~dhsdk.serve.server.Service` (started and closed by the
app's lifespan) into the routes of :mod:`dhsdk.serve.api`. Errors a client can fix answer
4xx with a one-line ``detail``; request bodies above the limits are cut off with 413 while
they stream in (a declared ``Content-Length`` over the limit is refused before any is read).
"""
from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from dhsdk._optional import require

log = logging.getLogger("dhsdk.serve")
UPLOAD_PATHS = ("/v1/avatars", "/v1/uploads")


class BodyLimit:
    """ASGI middleware: bodies of upload paths up to ``upload_bytes``, others up to ``other_bytes``.

    A body that passes its limit while streaming is answered 413 at once; the app then sees
    the client disconnect, and whatever it tries to send is dropped.
    """

    def __init__(self, app: Any, upload_bytes: int, other_bytes: int):
        self.app, self.upload_bytes, self.other_bytes = app, upload_bytes, other_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = self.upload_bytes if path in UPLOAD_PATHS else self.other_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _too_large(send, limit)
        seen, started, refused = 0, False, False

        async def counting_receive() -> dict:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await _too_large(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit / (1 << 20):.1f} MiB: send a smaller "
                                 f"file (the server's limit)"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _allowed(app: Any, path: str) -> set[str]:
    """Every method some route of ``app`` accepts at ``path``."""
    methods: set[str] = set()
    for route in app.routes:
        regex, more = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and more and regex.match(path):
            methods |= set(more)
    return methods


def create_app(service: Any) -> Any:
    """The ASGI app of ``service`` (the app's lifespan starts and closes it)."""
    fastapi = require("fastapi", "dhsdk serve")
    from fastapi.responses import JSONResponse

    from dhsdk import __version__
    from dhsdk.errors import DhsdkError
    from dhsdk.serve.api import avatars, console, events, jobs, live, renders
    from dhsdk.serve.files import UploadError

    users = [0]   # lifespans entered: a test client may run one per request, the service starts once

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any):
        if users[0] == 0:
            service.start()
        users[0] += 1
        try:
            yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                service.close()

    app = fastapi.FastAPI(title="dhsdk serve", version=__version__, lifespan=lifespan,
                          description="Lip-synced digital humans as a service: avatars, renders, live commerce "
                                      "sessions, jobs and events. Authenticate with `Authorization: Bearer "
                                      "<token>` (`dhsdk serve token create --tenant NAME`).")
    app.state.service = service
    for module in (avatars, renders, live, jobs, events, console):
        app.include_router(module.router)
    cfg = service.config
    app.add_middleware(BodyLimit, upload_bytes=cfg.max_upload_bytes, other_bytes=int(cfg.max_json_kb * 1024))

    @app.middleware("http")
    async def security_headers(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        if response.status_code == 405:   # Starlette names only the first matching route's methods
            response.headers["Allow"] = ", ".join(sorted(_allowed(app, request.url.path)))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.exception_handler(UploadError)
    async def upload_error(_request: Any, e: UploadError) -> Any:
        return JSONResponse({"detail": str(e)}, status_code=e.status)

    @app.exception_handler(DhsdkError)
    async def user_error(_request: Any, e: DhsdkError) -> Any:
        return JSONResponse({"detail": str(e)}, status_code=422)

    return app
