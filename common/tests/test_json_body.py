"""Request bodies read as JSON strictly, in their charset, with bounds a hostile body cannot get past."""

import codecs

import pytest
from django.test import RequestFactory

from common.emails import login_key
from common.json_body import MAX_DEPTH, BodyError, body_text, json_body, json_loads


def test_an_ordinary_body_reads_as_json():
    assert json_loads('{"email": "a@example.com", "n": 12, "x": 1.5, "ok": true}') == {
        "email": "a@example.com",
        "n": 12,
        "x": 1.5,
        "ok": True,
    }


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # the C parser's own RecursionError
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        '{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
        "1" * 5000,  # past the interpreter's integer limit, and slow to parse
        "1" + "0" * 40,
        "1e999",
        "-1e999",
        "NaN",
        "[Infinity]",
        "{not json",
        "",
    ],
)
def test_a_hostile_or_broken_body_is_a_body_error(text):
    with pytest.raises(BodyError, match="^JSON parse error - "):
        json_loads(text)


def test_nesting_up_to_the_limit_is_fine():
    assert json_loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


@pytest.mark.parametrize("charset", ["utf-8", "utf-16", "latin-1"])
def test_the_body_is_decoded_with_its_charset(charset):
    request = RequestFactory().post("/", data='{"name": "Ren\\u00e9e"}', content_type=f"application/json; charset={charset}")
    assert json_body(request) == {"name": "Ren\u00e9e"}


def test_an_undecodable_body_is_a_body_error():
    request = RequestFactory().post("/", data=b"\xff\xfe\xfa", content_type="application/json")
    with pytest.raises(BodyError):
        json_body(request)
    with pytest.raises(BodyError):
        body_text(b"{}", "no-such-codec")


@pytest.mark.parametrize("charset", ["bz2_codec", "zlib_codec", "base64_codec", "rot13"])
def test_a_charset_that_is_not_a_text_encoding_is_a_body_error(charset):
    # 81 bytes of bz2 are 50 MB of spaces: a decompression bomb must not be read as a charset.
    packed = codecs.encode(b"{}", charset) if charset != "rot13" else b"{}"
    # As it came off the wire with that charset (the factory would try to encode it).
    request = RequestFactory().post("/", data=b"", content_type="application/json")
    request._body, request.encoding = packed, charset
    with pytest.raises(BodyError):
        json_body(request)


@pytest.mark.parametrize(
    "typed, key",
    [
        ("ada@example.com", "ada@example.com"),
        ("  ADA@Example.COM\t\n", "ada@example.com"),
        (" A.D.A+x@GoogleMail.com ", "ada@gmail.com"),
        ("   ", None),
    ],
)
def test_login_key_is_one_key_however_an_address_is_typed(typed, key):
    assert login_key(typed) == key
