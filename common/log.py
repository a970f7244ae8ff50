"""Logging: JSON lines for machines, readable lines for a person at a terminal.

Every line carries the time, the level, the service, the request id and the
message, plus whatever was passed through ``extra=``. ``LOG_FORMAT`` picks the
shape: ``json``, ``console``, or ``auto`` (the default): readable on a
terminal, JSON whenever the output is not one (a file, a pipe, a container's
log). The production image sets ``json``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import TextIO

from common.request_context import current_request_id

LOG_FORMATS = ("auto", "json", "console")

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}

# Celery's lines about every task and every beat tick, by logger: routine, so DEBUG
# rather than INFO. An idle system otherwise prints three lines per relay run (every
# 2 s per service). What a task did (events relayed, consumed, retried, parked) its
# own lines say; Celery's retry and failure lines keep their level. The messages are
# Celery's own format strings (celery.app.trace.LOG_RECEIVED, LOG_SUCCESS, and
# celery.beat.Scheduler.apply_entry's), compared without importing Celery here.
ROUTINE_CELERY_LINES = {
    "celery.worker.strategy": "Task %(name)s[%(id)s] received",
    "celery.app.trace": "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
    "celery.beat": "Scheduler: Sending due task %s (%s)",
}


class RoutineCeleryLinesAsDebug(logging.Filter):
    """A handler filter: Celery's routine lines become DEBUG, and pass only where DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and ROUTINE_CELERY_LINES.get(record.name) == record.msg:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as a JSON line: time, level, service, request id, message, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def entry(self, record: logging.LogRecord) -> dict:
        """What a line says about ``record``, as a dict (the JSON line's fields)."""
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return entry

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.entry(record), default=str, ensure_ascii=False)


class ConsoleFormatter(JsonFormatter):
    """Formats a record as a line for a person: the same fields as ``JsonFormatter``, laid out by ``console_line``."""

    def __init__(self, service: str, colour: bool = False) -> None:
        super().__init__(service)
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        return console_line(self.entry(record), process=self.service, colour=self.colour)


# ANSI colours (SGR codes) of the console lines.
_LEVEL_COLOURS = {"DEBUG": "2", "INFO": "32", "WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"}
_PROCESS_COLOURS = ("36", "35", "34", "96", "95", "94", "33")
_DIM = "2"
# Fields a console line shows in their own place, or not at all (the JSON line keeps them).
_LAID_OUT = {"ts", "level", "service", "logger", "request_id", "message", "exc_info", "taskName", "data"}
_ACCESS_FIELDS = {"method", "path", "status", "duration_ms", "bytes", "remote_addr"}
PROCESS_WIDTH = 12


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and text and code else text


def console_line(entry: dict, *, process: str, colour: bool = False) -> str:
    """A log entry (a JSON line's fields) as one line for a person.

    ``HH:MM:SS.mmm process LEVEL message key=value … rid=<request id>``, the time
    local (now, for an entry without one), a traceback on the lines below.
    gunicorn's access line reads ``GET /path 200 1.2ms``.
    """
    moment = datetime.now(timezone.utc)
    if isinstance(entry.get("ts"), str):
        try:
            moment = datetime.fromisoformat(entry["ts"])
        except ValueError:
            pass
    level = str(entry.get("level") or "")
    message = str(entry.get("message", ""))
    extras = {key: value for key, value in entry.items() if key not in _LAID_OUT}
    if message == "request" and _ACCESS_FIELDS <= set(extras):
        message = f"{extras['method']} {extras['path']} {extras['status']} {extras['duration_ms']}ms"
        extras = {key: value for key, value in extras.items() if key not in _ACCESS_FIELDS}
    details = [f"{key}={_compact(value)}" for key, value in extras.items()]
    if entry.get("request_id"):
        details.append(f"rid={entry['request_id']}")
    line = " ".join(
        part
        for part in (
            _paint(moment.astimezone().strftime("%H:%M:%S.%f")[:-3], _DIM, colour),
            _paint(f"{process:<{PROCESS_WIDTH}}", _process_colour(process), colour),
            _paint(f"{level:<7}", _LEVEL_COLOURS.get(level, ""), colour),
            message,
            _paint(" ".join(details), _DIM, colour),
        )
        if part
    )
    if entry.get("exc_info"):
        line += "\n" + _paint(str(entry["exc_info"]), _LEVEL_COLOURS["ERROR"], colour)
    return line


def _compact(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if text and " " not in text else json.dumps(text, ensure_ascii=False)


def _process_colour(process: str) -> str:
    return _PROCESS_COLOURS[sum(process.encode()) % len(_PROCESS_COLOURS)]


# redis-server's own lines: "pid:role 03 Dec 2026 18:17:27.769 * message", the mark its level.
_REDIS_LINE = re.compile(r"^\d+:[A-Z] \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} ([.*#-]) (.*)$")
_REDIS_LEVELS = {".": "DEBUG", "-": "DEBUG", "*": "INFO", "#": "WARNING"}


def parse_line(line: str) -> dict | None:
    """A child process's output line as a log entry: a JSON line, or redis-server's own; else ``None``."""
    if line.startswith("{"):
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        return entry if isinstance(entry, dict) else None
    match = _REDIS_LINE.match(line)
    if match:
        return {"level": _REDIS_LEVELS[match.group(1)], "message": match.group(2)}
    return None


def log_format(stream: TextIO) -> str:
    """``json`` or ``console`` for output to ``stream``: ``LOG_FORMAT``, and for ``auto`` whether it is a terminal."""
    chosen = os.environ.get("LOG_FORMAT", "auto").strip().lower() or "auto"
    if chosen not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {chosen!r}")
    if chosen == "auto":
        return "console" if _is_terminal(stream) else "json"
    return chosen


def wants_colour(stream: TextIO) -> bool:
    """Colours on a terminal that has them, unless ``NO_COLOR`` is set (no-color.org)."""
    return _is_terminal(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


def logging_config(service: str, level: str = "INFO") -> dict:
    """``LOGGING`` for a project: everything to stderr, JSON or readable (``log_format``)."""
    if log_format(sys.stderr) == "console":
        formatter = {"()": ConsoleFormatter, "service": service, "colour": wants_colour(sys.stderr)}
    else:
        formatter = {"()": JsonFormatter, "service": service}
    # Lifecycle lines are INFO; at DEBUG their loggers let the demoted routine lines through too.
    lifecycle = "DEBUG" if logging.getLevelName(level.upper()) == logging.DEBUG else "INFO"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"routine_celery_lines": {"()": RoutineCeleryLinesAsDebug}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["routine_celery_lines"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # gunicorn's access log (common.gunicorn_conf) says the same thing once, structured.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": level, "handlers": ["stderr"], "propagate": False},
            "celery": {"level": level},
            # Lifecycle lines ("celery@host ready.", "beat: Starting...") whatever the
            # level: `manage_all.py up` reads them to know a worker or beat is up.
            "celery.apps.worker": {"level": lifecycle},
            "celery.beat": {"level": lifecycle},
        },
    }
