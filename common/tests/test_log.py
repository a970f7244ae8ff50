import io
import json
import logging
import re

import pytest

from common.log import (
    ROUTINE_CELERY_LINES,
    ConsoleFormatter,
    JsonFormatter,
    RoutineCeleryLinesAsDebug,
    console_line,
    log_format,
    logging_config,
    parse_line,
    wants_colour,
)
from common.request_context import request_id_var


def _record(message="hello %s", args=("world",), **extra):
    record = logging.LogRecord("access", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def _formatted_during_request(formatter: logging.Formatter) -> str:
    """``formatter``'s line for a record with ``status=200``, written while request ``rid-1`` is handled."""
    token = request_id_var.set("rid-1")
    try:
        return formatter.format(_record(status=200))
    finally:
        request_id_var.reset(token)


def test_a_record_is_one_json_line_with_service_and_request_id():
    line = _formatted_during_request(JsonFormatter("users"))
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


def test_a_record_on_a_terminal_reads_time_service_level_message_extras_and_request_id():
    line = _formatted_during_request(ConsoleFormatter("users"))
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} users +INFO +hello world status=200 rid=rid-1", line), line


def test_an_access_line_reads_method_path_status_and_duration():
    entry = {"level": "INFO", "message": "request", "method": "GET", "path": "/api/health", "status": 200,
             "duration_ms": 1.5, "bytes": 15, "remote_addr": "127.0.0.1", "request_id": "abc"}
    assert console_line(entry, process="gateway").split(" ", 1)[1] == "gateway      INFO    GET /api/health 200 1.5ms rid=abc"


def test_colours_only_when_asked():
    entry = {"level": "WARNING", "message": "careful"}
    assert "\x1b[" not in console_line(entry, process="users")
    assert "\x1b[33mWARNING" in console_line(entry, process="users", colour=True)


def test_a_traceback_follows_its_line():
    entry = {"level": "ERROR", "message": "failed", "exc_info": "Traceback…\nValueError: boom"}
    assert console_line(entry, process="auth").splitlines()[1:] == ["Traceback…", "ValueError: boom"]


def test_child_lines_parse_as_json_or_as_redis_lines_and_nothing_else():
    assert parse_line('{"level": "INFO", "message": "hi"}') == {"level": "INFO", "message": "hi"}
    assert parse_line("8214:M 03 Dec 2026 18:17:27.769 * Ready to accept connections") == {
        "level": "INFO",
        "message": "Ready to accept connections",
    }
    assert parse_line("{not json") is None
    assert parse_line("celery beat v5.7.0 is starting.") is None


class _Stream(io.StringIO):
    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self):
        return self.terminal


@pytest.mark.parametrize(
    ("setting", "terminal", "expected"),
    [
        (None, True, "console"),
        (None, False, "json"),
        ("auto", True, "console"),
        ("json", True, "json"),
        ("console", False, "console"),
        ("CONSOLE", False, "console"),
    ],
)
def test_the_format_follows_the_terminal_unless_log_format_forces_one(monkeypatch, setting, terminal, expected):
    if setting is None:
        monkeypatch.delenv("LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("LOG_FORMAT", setting)
    assert log_format(_Stream(terminal)) == expected


def test_an_unknown_log_format_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of auto, json, console"):
        log_format(_Stream(True))


def test_colour_needs_a_terminal_and_no_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_colour(_Stream(True)) and not wants_colour(_Stream(False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(_Stream(True))


def test_logging_config_picks_the_formatter_for_stderr(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "console")
    assert logging_config("users")["formatters"]["default"]["()"] is ConsoleFormatter
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert logging_config("users")["formatters"]["default"]["()"] is JsonFormatter


def test_the_routine_lines_are_celerys_own_format_strings():
    from celery.app import trace

    assert ROUTINE_CELERY_LINES["celery.worker.strategy"] == trace.LOG_RECEIVED
    assert ROUTINE_CELERY_LINES["celery.app.trace"] == trace.LOG_SUCCESS


# Arguments fitting each routine line's format string.
ROUTINE_ARGS = {
    "celery.worker.strategy": ({"name": "users.events.relay", "id": "1"},),
    "celery.app.trace": ({"name": "users.events.relay", "id": "1", "runtime": 0.001, "return_value": 0},),
    "celery.beat": ("users-events-relay", "users.events.relay"),
}


def _emitted(logger_name: str, message: str, args: tuple, logger_level: int) -> list[logging.LogRecord]:
    """The records a handler with the routine-lines filter emits for one INFO line of ``logger_name``."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    handler.addFilter(RoutineCeleryLinesAsDebug())
    logger = logging.getLogger(logger_name)
    saved = (logger.level, logger.handlers, logger.propagate)
    logger.setLevel(logger_level)
    logger.handlers, logger.propagate = [handler], False
    try:
        logger.info(message, *args)
    finally:
        logger.level, logger.handlers, logger.propagate = saved
    return seen


@pytest.mark.parametrize("logger_name", list(ROUTINE_CELERY_LINES))
def test_celerys_routine_lines_say_nothing_at_info_and_show_as_debug_at_debug(logger_name):
    message, args = ROUTINE_CELERY_LINES[logger_name], ROUTINE_ARGS[logger_name]
    assert _emitted(logger_name, message, args, logging.INFO) == []
    [record] = _emitted(logger_name, message, args, logging.DEBUG)
    assert record.levelname == "DEBUG"


def test_other_celery_lines_keep_their_level():
    from celery.app import trace

    retry = {"name": "users.events.consume", "id": "1", "exc": "Retry in 1s"}
    [record] = _emitted("celery.app.trace", trace.LOG_RETRY, (retry,), logging.INFO)
    assert record.levelname == "INFO"
    [record] = _emitted("celery.apps.worker", "%s ready.", ("users@host",), logging.INFO)
    assert record.levelname == "INFO"


def test_at_debug_the_beats_logger_lets_its_routine_line_through():
    config = logging_config("users", "DEBUG")
    assert config["loggers"]["celery.beat"]["level"] == "DEBUG"
    assert logging_config("users", "WARNING")["loggers"]["celery.beat"]["level"] == "INFO"
