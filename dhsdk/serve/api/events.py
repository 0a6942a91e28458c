"""``/v1/events``: a tenant's events over a WebSocket: job progress and state, avatar, render
and live-session states, live metrics every second, what the host says.

Authenticate with ``Authorization: Bearer`` on the upgrade request or, where a browser cannot
set headers, with ``{"token": "..."}`` as the first message. Messages are JSON objects
``{"id", "topic", "subject_id", "type", "data", "t"}``; ``?after=ID`` replays what came after
an event already seen (events are kept a day), so a client that reconnects misses nothing.
"""
from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dhsdk.serve.api.deps import bearer, principal_for

router = APIRouter(tags=["events"])
_POLL_S = 0.25      # how often the feed looks for new events
_AUTH_WAIT_S = 10.0


@router.websocket("/v1/events")
async def events(ws: WebSocket, after: int | None = None) -> None:
    svc = ws.app.state.service
    await ws.accept()
    token = bearer(ws.headers.get("authorization"))
    try:
        if token is None:
            first = await asyncio.wait_for(ws.receive_text(), _AUTH_WAIT_S)
            token = (json.loads(first) or {}).get("token") if first.startswith("{") else None
        who = await asyncio.to_thread(principal_for, svc, token)
        if who is None:
            await ws.close(code=4401, reason="missing or invalid token")
            return
        last = after if after is not None else await asyncio.to_thread(svc.store.last_event_id, who.tenant_id)
        await ws.send_json({"type": "hello", "tenant": who.tenant, "after": last})
        listener = asyncio.ensure_future(ws.receive())   # completes when the client goes away
        try:
            while True:
                rows = await asyncio.to_thread(svc.store.events_after, who.tenant_id, last)
                for r in rows:
                    last = r["id"]
                    await ws.send_json({"id": r["id"], "topic": r["topic"], "subject_id": r["subject_id"],
                                        "type": r["type"], "data": r["data"], "t": r["t"]})
                if rows:
                    continue
                await asyncio.wait({listener}, timeout=_POLL_S)
                if listener.done():
                    if listener.result().get("type") == "websocket.disconnect":
                        return
                    listener = asyncio.ensure_future(ws.receive())   # the client said something: ignored
        finally:
            listener.cancel()
    except (WebSocketDisconnect, asyncio.TimeoutError, ValueError, RuntimeError):
        return
