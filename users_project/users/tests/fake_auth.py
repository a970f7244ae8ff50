"""The auth service's internal credential endpoints, played by a real HTTP server on a local port.

Registration tests talk real HTTP to this, through ``common.service_client``,
exactly as to the auth service: it checks the ``X-Internal-Auth`` assertion,
records each call, and answers as a test tells it to, or hangs.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common.internal_auth import InternalAuthError, verify_internal

HANG = "hang"


@dataclass
class Call:
    method: str
    path: str
    body: dict | None
    issuer: str | None


class FakeAuthService:
    """Answers ``POST /internal/credentials`` and ``DELETE /internal/credentials/<id>``.

    ``answers`` maps a method to ``(status, json)`` or ``HANG``; by default the
    POST answers 201 with tokens and the DELETE 204, as the real service does.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answers: dict[str, tuple[int, dict | None] | str] = {
            "POST": (201, {"token": "access-token", "refresh": "refresh-token"}),
            "DELETE": (204, None),
        }
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval lets shutdown() return at once at the end of a test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    issuer = verify_internal(
                        self.headers.get("X-Internal-Auth", ""), "auth", method=self.command, path=self.path
                    )["iss"]
                except InternalAuthError:
                    return self._answer(401, {"error": "Invalid internal credential"})
                fake.calls.append(Call(self.command, self.path, json.loads(raw) if raw else None, issuer))
                known = (self.command == "POST" and self.path == "/internal/credentials") or (
                    self.command == "DELETE" and re.fullmatch(r"/internal/credentials/\d+", self.path)
                )
                if not known:
                    return self._answer(404, {"error": "Not found"})
                answer = fake.answers[self.command]
                if answer == HANG:
                    fake._release.wait()
                    return None
                return self._answer(*answer)

            def _answer(self, status, body):
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_DELETE = _handle

            def log_message(self, format, *args):
                pass

        return Handler
