"""The base of dhsdk's small loopback HTTP endpoints (comment intake, the OpenAI-compatible
test server): a request handler that answers JSON and keeps quiet on stderr."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class JSONHandler(BaseHTTPRequestHandler):
    """``BaseHTTPRequestHandler`` with :meth:`send_json` and no per-request log lines."""

    def send_json(self, code: int, obj: Any) -> None:
        """Reply ``code`` with ``obj`` as a JSON body (Content-Length set)."""
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Silence the default access log (the endpoints report through dhsdk's own logging)."""
        return
