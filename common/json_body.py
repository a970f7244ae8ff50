"""Request bodies as JSON, strictly: the one reading of a body the gateway and every service share.

A body is decoded with the charset its ``Content-Type`` names (UTF-8 without
one), as Django REST framework's parser does, then parsed with bounds a hostile
body cannot get past: nesting at most ``MAX_DEPTH`` deep, numbers of at most
``MAX_NUMBER_CHARS`` characters and finite, no ``NaN``/``Infinity``. Anything
else is ``BodyError`` (a 400 at every layer), never a ``RecursionError`` or an
interpreter limit's crash (a 500). How large a body may be is
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413 over it, ``common.middleware``).
"""

from __future__ import annotations

import json
import math

from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper than any body of the API (2 levels) by far; the C parser itself stops near 1,000 with a RecursionError.
MAX_DEPTH = 32
# An id, a count or a timestamp fits many times over; Python parses a huge integer in quadratic time.
MAX_NUMBER_CHARS = 40
DEFAULT_ENCODING = "utf-8"


class BodyError(ValueError):
    """The body is not JSON this API reads; the message says why, for a 400."""


def _number_too_long(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise BodyError(f"JSON parse error - a number longer than {MAX_NUMBER_CHARS} characters")


def _int(text: str) -> int:
    _number_too_long(text)
    return int(text)


def _float(text: str) -> float:
    _number_too_long(text)
    value = float(text)
    if not math.isfinite(value):
        raise BodyError("JSON parse error - a number out of range")
    return value


def _constant(name: str):
    raise BodyError(f"JSON parse error - {name} is not a JSON value")


def _depth_within(value, limit: int) -> bool:
    # Breadth first, level by level: no recursion for a hostile body to exhaust.
    level, depth = [value], 0
    while level:
        containers = [item for item in level if isinstance(item, (dict, list))]
        if not containers:
            return True
        depth += 1
        if depth > limit:
            return False
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]
    return True


def json_loads(text: str):
    """``text`` as JSON within the bounds above; ``BodyError`` otherwise."""
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise BodyError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels") from None
    except BodyError:
        raise
    except ValueError as exc:
        raise BodyError(f"JSON parse error - {exc}") from None
    if not _depth_within(value, MAX_DEPTH):
        raise BodyError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
    return value


def body_text(raw: bytes, encoding: str | None) -> str:
    """``raw`` decoded as its ``Content-Type``'s charset says (``request.encoding``), UTF-8 without one.

    Text encodings only: ``bytes.decode`` refuses the bytes-to-bytes codecs
    (``bz2_codec``, ``zlib_codec``...), which would inflate a small body into gigabytes.
    """
    try:
        return raw.decode(encoding or DEFAULT_ENCODING)
    except (LookupError, UnicodeDecodeError, TypeError):
        raise BodyError(f"JSON parse error - the body is not valid {encoding or DEFAULT_ENCODING}") from None


def json_body(request):
    """A Django request's body as JSON, read exactly as the services' ``StrictJSONParser`` reads it."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise BodyError("the body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE") from None
    return json_loads(body_text(raw, request.encoding))


class StrictJSONParser(JSONParser):
    """Django REST framework's JSON parser with the bounds above: every service's API parses bodies with it."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding")
        try:
            return json_loads(body_text(stream.read(), encoding))
        except BodyError as exc:
            raise ParseError(str(exc)) from None
