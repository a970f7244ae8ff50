import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from common import service_client
from common.internal_auth import verify_internal
from common.request_context import request_id_var
from common.service_client import (
    ServiceClient,
    ServiceOutcomeUnknown,
    ServiceResponse,
    ServiceUnreachable,
)
from common.testing import free_port


class Peer:
    """A real HTTP server on a local port that records requests and answers as told."""

    def __init__(self):
        self.requests = []
        self.answer = (200, b'{"ok": true}', "application/json")
        self.behaviour = "answer"  # or "hang", "drop"
        self.release = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                peer.requests.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
                if peer.behaviour == "hang":
                    peer.release.wait()
                    return
                if peer.behaviour == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, body, content_type = peer.answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll interval lets shutdown() return at once at the end of a test.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer():
    with Peer() as running:
        yield running


def client_for(url, read_timeout=5.0):
    return ServiceClient(url, audience="auth", connect_timeout=1.0, read_timeout=read_timeout)


def test_sends_json_signed_for_the_peer_and_returns_status_and_json(peer):
    peer.answer = (201, b'{"token": "t"}', "application/json")
    answer = client_for(peer.url + "/").request("POST", "/internal/things", json_body={"a": 1})
    assert answer == ServiceResponse(201, {"token": "t"})
    assert answer.status == 201
    method, path, headers, body = peer.requests[0]
    assert (method, path, json.loads(body)) == ("POST", "/internal/things", {"a": 1})
    assert headers["Content-Type"] == "application/json"
    claims = verify_internal(headers["X-Internal-Auth"], "auth", method="POST", path="/internal/things")
    assert (claims["iss"], "sub" in claims) == ("common-tests", False)


def test_the_assertion_is_made_for_the_path_the_peer_sees(peer):
    client_for(peer.url + "/base").request("GET", "/internal/things?page=2")

    headers = peer.requests[0][2]
    assert verify_internal(headers["X-Internal-Auth"], "auth", method="GET", path="/base/internal/things")


def test_propagates_the_request_id_of_the_work_in_progress(peer):
    token = request_id_var.set("req-42")
    try:
        client_for(peer.url).request("GET", "/x")
    finally:
        request_id_var.reset(token)
    headers = peer.requests[0][2]
    assert headers["X-Request-ID"] == "req-42"
    assert verify_internal(headers["X-Internal-Auth"], "auth", method="GET", path="/x")["rid"] == "req-42"


def test_no_request_id_header_outside_a_request(peer):
    client_for(peer.url).request("DELETE", "/x/1")
    assert "X-Request-ID" not in peer.requests[0][2]


@pytest.mark.parametrize(
    "status, body, content_type",
    [(204, b"", "application/json"), (500, b"<html>boom</html>", "text/html"), (400, b"{not json", "application/json")],
)
def test_any_http_answer_is_returned_with_none_for_a_body_that_is_not_json(peer, status, body, content_type):
    peer.answer = (status, body, content_type)
    assert client_for(peer.url).request("POST", "/x", json_body={}) == (status, None)


def test_nothing_listening_is_unreachable_so_the_request_was_never_sent():
    with pytest.raises(ServiceUnreachable) as info:
        client_for(f"http://127.0.0.1:{free_port()}").request("POST", "/x", json_body={})
    assert info.value.service == "auth"


def test_no_answer_within_the_read_timeout_is_an_unknown_outcome(peer):
    peer.behaviour = "hang"
    with pytest.raises(ServiceOutcomeUnknown):
        client_for(peer.url, read_timeout=0.2).request("POST", "/x", json_body={})
    assert len(peer.requests) == 1  # it arrived, and was not sent twice


def test_a_connection_dropped_without_an_answer_is_an_unknown_outcome(peer):
    peer.behaviour = "drop"
    with pytest.raises(ServiceOutcomeUnknown):
        client_for(peer.url).request("POST", "/x", json_body={})
    assert len(peer.requests) == 1


def test_bodies_are_never_logged(peer, caplog):
    peer.behaviour = "hang"
    with caplog.at_level("DEBUG"), pytest.raises(ServiceOutcomeUnknown):
        client_for(peer.url, read_timeout=0.2).request("POST", "/x", json_body={"password": "hunter2-secret"})
    assert "hunter2-secret" not in caplog.text
    assert all("hunter2-secret" not in str(vars(record)) for record in caplog.records)


def test_the_pool_is_made_once_per_process_and_again_after_a_fork(monkeypatch):
    first = service_client.pool()
    assert service_client.pool() is first
    monkeypatch.setattr(service_client.os, "getpid", lambda: -1)
    assert service_client.pool() is not first
