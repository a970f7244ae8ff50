"""The auth service's internal credential endpoints, played by a real HTTP server on a local port.

Registration and support tests talk real HTTP to this, through
``users.auth_service``, exactly as to the auth service: it checks the
``X-Internal-Auth`` assertion, records each call, and answers as a test tells
it to, or hangs.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common.internal_auth import InternalAuthError, verify_internal

HANG = "hang"
# Registration's endpoints (an answer per method), then support's per-account ones (an answer per method and action).
REGISTRATION_PATH = re.compile(r"/internal/credentials(?:/(?P<user_id>\d+))?")
ACCOUNT_PATH = re.compile(r"/internal/credentials/(?P<user_id>\d+)/(?P<action>state|unlock|end-sessions)")


def credential_state(user_id: int, **changes) -> dict:
    """A state as the auth service answers it: an active, unlocked account with a current password."""
    return {
        "user_id": user_id,
        "is_active": True,
        "locked": False,
        "locked_until": None,
        "failed_login_count": 0,
        "password": "current",
        "password_changed_at": None,
        "last_login_at": "2026-11-20T09:15:00.000Z",
        **changes,
    }


@dataclass
class Call:
    method: str
    path: str
    body: dict | None
    issuer: str | None
    user_id: int | None = None
    action: str | None = None  # of a per-account endpoint (state, unlock, end-sessions)


class FakeAuthService:
    """Answers ``POST /internal/credentials``, ``DELETE /internal/credentials/<id>`` and ``.../<id>/<action>``.

    ``answers`` maps a method (registration's endpoints) or a ``(method, action)``
    (the per-account ones) to ``(status, json)`` or ``HANG``; by default each
    answers as the real service does: 201 with tokens, 204, the account's state.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answers: dict[str | tuple[str, str], tuple[int, dict | None] | str] = {
            "POST": (201, {"token": "access-token", "refresh": "refresh-token"}),
            "DELETE": (204, None),
        }
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval lets shutdown() return at once at the end of a test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def calls_to(self, method: str, action: str | None = None) -> list[Call]:
        """The calls made with ``method`` (to ``action``, when given)."""
        return [call for call in self.calls if call.method == method and (action is None or call.action == action)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _answer_for(self, method: str, path: str) -> tuple[Call | None, tuple[int, dict | None] | str | None]:
        """The call to record and the answer to give; ``(None, None)`` for an endpoint the service does not have."""
        if match := ACCOUNT_PATH.fullmatch(path):
            if method in ("GET", "POST"):
                user_id, action = int(match["user_id"]), match["action"]
                answer = self.answers.get((method, action), (200, credential_state(user_id)))
                return Call(method, path, None, None, user_id, action), answer
        elif match := REGISTRATION_PATH.fullmatch(path):
            user_id = int(match["user_id"]) if match["user_id"] else None
            if (method, user_id is None) in (("POST", True), ("DELETE", False)):
                return Call(method, path, None, None, user_id), self.answers[method]
        return None, None

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
                call, answer = fake._answer_for(self.command, self.path)
                if call is None:
                    return self._answer(404, {"error": "Not found"})
                call.body, call.issuer = (json.loads(raw) if raw else None), issuer
                fake.calls.append(call)
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

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format, *args):
                pass

        return Handler
