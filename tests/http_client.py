"""A tiny HTTP client for the cross-service tests: status, headers and parsed JSON."""

import json
import time
import urllib.error
import urllib.request


def request(url, method="GET", headers=None, body=None, timeout=10):
    """(status, headers, parsed JSON body) of one HTTP request."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read() or b"null")


def wait_for_status(url, expected, timeout=30.0):
    """Poll ``url`` until it answers ``expected``; return that answer's JSON body."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = request(url, timeout=5)
        if status == expected:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} still answers {status} {body}, expected {expected}")
        time.sleep(0.1)


def raw_request(url, method="GET", headers=None, body=None, timeout=10):
    """(status, headers, body bytes) of one HTTP request, whatever the body is."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()
