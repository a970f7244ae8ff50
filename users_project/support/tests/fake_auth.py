"""The auth service's support endpoints (``/internal/credentials/<id>/<action>``), played by a local HTTP server.

The admin talks real HTTP to it through ``common.service_client``, as to the
auth service: it checks the internal credential, records each call and
answers as the test says.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common.internal_auth import InternalAuthError, verify_internal

PATH = re.compile(r"/internal/credentials/(?P<user_id>\d+)/(?P<action>state|unlock|end-sessions)")


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


class FakeAuthSupport:
    """Answers ``answers[(method, action)]`` (``(status, body)``); by default what the real service would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str, str]] = []  # (method, user_id, action, issuer)
        self.answers: dict[tuple[str, str], tuple[int, dict]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def calls_to(self, action: str) -> list[int]:
        """The user ids of the calls made to ``action``."""
        return [user_id for _, user_id, called, _ in self.calls if called == action]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer_for(self, method: str, user_id: int, action: str) -> tuple[int, dict]:
        if (method, action) in self.answers:
            return self.answers[(method, action)]
        return 200, credential_state(user_id)

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    issuer = verify_internal(
                        self.headers.get("X-Internal-Auth", ""), "auth", method=self.command, path=self.path
                    )["iss"]
                except InternalAuthError:
                    return self._answer(401, {"error": "Invalid internal credential"})
                match = PATH.fullmatch(self.path)
                if match is None:
                    return self._answer(404, {"error": "Not found"})
                user_id, action = int(match["user_id"]), match["action"]
                fake.calls.append((self.command, user_id, action, issuer))
                return self._answer(*fake._answer_for(self.command, user_id, action))

            def _answer(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, format, *args):
                pass

        return Handler
