"""Compact JWS as PyJWT's ``jwt.encode`` writes it, for the tokens signed on hot paths.

PyJWT works out the header, the algorithm and the key again for every token;
the callers here make the header's segment once (:func:`header_segment`) and
join each token with :func:`compact`. The same bytes as ``jwt.encode``: the
header's JSON with sorted keys and no spaces, the payload's with no spaces,
base64url without padding. Used by the internal assertions
(``common.internal_auth``) and users' tokens (``common.token_backend``), whose
tests hold both equal to PyJWT's output.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from jwt.utils import base64url_encode


def header_segment(header: dict) -> bytes:
    """The first segment of a token with ``header``, as PyJWT writes it."""
    return base64url_encode(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def compact(header: bytes, payload: bytes, sign: Callable[[bytes], bytes]) -> str:
    """The token of the ``header`` segment and the ``payload`` JSON, signed by ``sign(signing input)``."""
    signing_input = header + b"." + base64url_encode(payload)
    return (signing_input + b"." + base64url_encode(sign(signing_input))).decode()
