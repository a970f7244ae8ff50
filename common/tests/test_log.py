import json
import logging

from common.log import JsonFormatter
from common.request_context import request_id_var


def _record(message="hello %s", args=("world",), **extra):
    record = logging.LogRecord("access", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_record_is_one_json_line_with_service_and_request_id():
    token = request_id_var.set("rid-1")
    try:
        line = JsonFormatter("users").format(_record(status=200))
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["service"] == "users"
    assert entry["request_id"] == "rid-1"
    assert entry["message"] == "hello world"
    assert entry["status"] == 200
    assert entry["level"] == "INFO"


def test_an_exception_is_kept_inside_the_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter("auth").format(record))
    assert "ValueError: boom" in entry["exc_info"]


def test_the_middleware_echoes_the_request_id_and_leaves_the_access_line_to_gunicorn(client, caplog):
    with caplog.at_level(logging.DEBUG):
        response = client.get("/health", HTTP_X_REQUEST_ID="trace-me")

    assert response["X-Request-ID"] == "trace-me"
    assert [record for record in caplog.records if record.getMessage() == "request"] == []
