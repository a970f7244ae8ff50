import time

import jwt
import pytest
from django.test import override_settings
from jwt.algorithms import HMACAlgorithm

from common.internal_auth import (
    INTERNAL_AUTH_HEADER,
    InternalAuthError,
    _Signatures,
    callers_for,
    end_user_from_claims,
    sign_internal,
    verify_internal,
)
from common.settings.core import LOCAL_INTERNAL_AUTH_KEYS

GATEWAY_KEY = LOCAL_INTERNAL_AUTH_KEYS["gateway"]


def verify(value: str, audience: str = "users", method: str = "GET", path: str = "/api/profile") -> dict:
    return verify_internal(value, audience, method=method, path=path)


def sign(audience: str = "users", issuer: str = "gateway", method: str = "GET", path: str = "/api/profile", **extra):
    return sign_internal(audience, issuer=issuer, method=method, path=path, **extra)


def test_a_signed_assertion_verifies_for_its_audience_and_request_and_carries_the_user():
    value = sign(user_id=7, email="a@b.c", jti="j1", token_exp=123)
    claims = verify(value)
    user = end_user_from_claims(claims)
    assert (claims["iss"], user.id, user.email, user.jti, user.token_exp) == ("gateway", 7, "a@b.c", "j1", 123)
    assert (claims["method"], claims["path"], claims["exp"] - claims["iat"]) == ("GET", "/api/profile", 30)
    assert jwt.get_unverified_header(value)["kid"] == "gateway"


def test_an_anonymous_assertion_has_no_user():
    assert end_user_from_claims(verify(sign("auth", path="/api/login"), "auth", path="/api/login")) is None


def test_each_caller_signs_with_its_own_key():
    users_signed = sign("auth", issuer="users", method="POST", path="/internal/credentials")

    assert verify(users_signed, "auth", "POST", "/internal/credentials")["iss"] == "users"
    with pytest.raises(jwt.InvalidSignatureError):  # the users service's assertion checked with the gateway's key
        jwt.decode(users_signed, GATEWAY_KEY, algorithms=["HS256"], audience="auth")


def _claims(**changes) -> dict:
    now = int(time.time())
    return {"iss": "gateway", "aud": "users", "iat": now, "exp": now + 30, "method": "GET", "path": "/api/profile",
            **changes}


@pytest.mark.parametrize(
    "forge",
    [
        lambda: sign("auth"),  # meant for another service
        lambda: sign(key="another-key-that-is-long-enough-for-hs256"),
        lambda: sign(method="PUT"),  # made for another request: the same path, another method
        lambda: sign(path="/api/profile/preferences"),  # ... another path
        lambda: jwt.encode(_claims(exp=int(time.time()) - 5), GATEWAY_KEY, headers={"kid": "gateway"}),
        lambda: jwt.encode(_claims(method=None, path=None), GATEWAY_KEY, headers={"kid": "gateway"}),
        # A leaked gateway key: claiming to be the users service, or naming it only in the header.
        lambda: jwt.encode(_claims(iss="users"), GATEWAY_KEY, headers={"kid": "users"}),
        lambda: jwt.encode(_claims(iss="users"), GATEWAY_KEY, headers={"kid": "gateway"}),
        lambda: jwt.encode(_claims(), GATEWAY_KEY),  # no kid: no caller
        lambda: jwt.encode(_claims(iss="monolith"), GATEWAY_KEY, headers={"kid": "monolith"}),
        lambda: jwt.encode(_claims(), None, algorithm="none", headers={"kid": "gateway"}),
        lambda: "not-a-token",
    ],
    ids=["wrong-audience", "wrong-key", "other-method", "other-path", "expired", "unbound", "gateway-key-as-users",
         "kid-and-iss-differ", "no-kid", "unknown-caller", "alg-none", "garbage"],
)
def test_anything_but_a_valid_assertion_for_this_request_is_refused(forge):
    with pytest.raises(InternalAuthError):
        verify(forge())


def test_a_service_checks_only_with_the_keys_it_holds():
    value = sign("auth", issuer="users", method="POST", path="/internal/credentials")

    with pytest.raises(InternalAuthError):
        verify_internal(value, "auth", method="POST", path="/internal/credentials", keys={"gateway": GATEWAY_KEY})


def test_each_key_is_checked_once_however_many_assertions_it_signs_and_verifies(monkeypatch):
    checked = []
    prepare_key = HMACAlgorithm.prepare_key
    monkeypatch.setattr(HMACAlgorithm, "prepare_key", lambda self, key: checked.append(key) or prepare_key(self, key))
    key = "a-key-only-this-test-signs-with-long-enough"

    for _ in range(3):
        value = sign(key=key)
        assert verify_internal(value, "users", method="GET", path="/api/profile", keys={"gateway": key})["iss"] == "gateway"

    assert checked == [key]


@pytest.mark.parametrize(
    "user",
    [{}, {"user_id": 7, "email": "ana@example.com", "jti": "j-1", "token_exp": 1_900_000_000},
     {"user_id": 8, "email": "zoë@exämple.com", "jti": "legacy-\"x\"", "token_exp": 1}],
)
def test_an_assertion_is_signed_byte_for_byte_as_pyjwt_signs_it(monkeypatch, user):
    from common import internal_auth

    monkeypatch.setattr(internal_auth.time, "time", lambda: 1_800_000_000.5)
    value = sign(issuer="auth", method="post", path="/api/ünïcode path", **user)
    claims = jwt.decode(value, options={"verify_signature": False})
    expected = jwt.encode(claims, LOCAL_INTERNAL_AUTH_KEYS["auth"], algorithm="HS256", headers={"kid": "auth"})

    assert value == expected


def test_a_key_pyjwt_refuses_is_refused_every_time():
    public_pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"

    for _ in range(2):
        with pytest.raises(jwt.InvalidKeyError):
            sign(key=public_pem)
        with pytest.raises(InternalAuthError):
            verify_internal(sign(), "users", method="GET", path="/api/profile", keys={"gateway": public_pem})


@pytest.mark.parametrize(
    "segment",
    [b"", b"e30", b"eyJhIjoxfQ", b"eyJhIjoxfQ==", b"eyJhIjoxfQ=", b"eyJhIjoxfQ===", b"QQ", b"QR", b"QQ==", b"QQ=",
     b"QUI=", b"QUJD", b"Q", b"QUJDR", b"QU+D", b"QU/D", b"QU!D", b"QU D", b"QU\nD", b"=", b"==", b"QQ=A",
     "é".encode(), b"-_-_", b"____", b"AAAA====", b"QUJDRA", b"QUJDRB"],
)
def test_segments_are_read_as_pyjwt_reads_them(segment):
    def verdict(decode):
        try:
            return decode(segment, "payload")
        except jwt.DecodeError as exc:
            return str(exc)

    assert verdict(_Signatures._decode_base64url_segment) == verdict(jwt.PyJWS._decode_base64url_segment)


def test_the_callers_of_a_path_are_those_of_its_longest_prefix():
    callers = {"/api/": ("gateway",), "/internal/": ("users",), "/internal/open": ("users", "gateway")}

    assert callers_for("/api/login", callers) == ("gateway",)
    assert callers_for("/internal/credentials/4/state", callers) == ("users",)
    assert callers_for("/internal/open/x", callers) == ("users", "gateway")
    assert callers_for("/elsewhere", callers) == ()


@override_settings(
    SERVICE_NAME="users",
    MIDDLEWARE=["common.internal_auth.InternalAuthMiddleware"],
    INTERNAL_AUTH_CALLERS={"/refuse": ("gateway",), "/echo": ("users",)},
)
def test_the_middleware_refuses_api_requests_without_a_credential_for_them_from_a_caller_they_accept(client):
    assert client.get("/refuse").json() == {"error": "Requests must come through the gateway"}
    assert client.get("/refuse", HTTP_X_INTERNAL_AUTH="forged").status_code == 401
    signed = sign(path="/refuse")
    response = client.get("/refuse", headers={INTERNAL_AUTH_HEADER: signed})
    assert response.json() == {"error": "User already exists"}  # reached the view
    # The same assertion replayed on another request.
    replayed = client.post("/refuse", headers={INTERNAL_AUTH_HEADER: signed})
    assert (replayed.status_code, replayed.json()) == (401, {"error": "Invalid internal credential"})
    # A valid assertion of a caller this path does not accept.
    refused = client.get("/echo", headers={INTERNAL_AUTH_HEADER: sign(path="/echo")})
    assert (refused.status_code, refused.json()) == (403, {"error": "Permission denied"})
    assert client.get("/health").status_code == 200  # probes stay open


# An assertion as sign_internal writes it is read without PyJWT's layers: the same verdicts as jwt.decode.

_PARITY_NOW = int(time.time())


def _forged(claims=None, *, kid="gateway", key=GATEWAY_KEY, payload=None, header=None, signature=None, tail=""):
    import base64
    import hashlib
    import hmac
    import json as json_module

    from common.internal_auth import _signing_header

    def segment(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = header if header is not None else _signing_header(kid).decode()
    if payload is None:
        payload = json_module.dumps(claims, separators=(",", ":")).encode()
    signing_input = f"{header}.{segment(payload)}"
    if signature is None:
        signature = segment(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())
    return f"{signing_input}.{signature}{tail}"


def _parity_claims(**changes):
    claims = {"iss": "gateway", "aud": "users", "iat": _PARITY_NOW, "exp": _PARITY_NOW + 30, "method": "GET",
              "path": "/api/profile", **changes}
    return {name: value for name, value in claims.items() if value != "<absent>"}


PARITY_CASES = {
    "valid": lambda: _forged(_parity_claims()),
    "valid-with-user": lambda: _forged(_parity_claims(sub="7", email="a@example.com", jti="j", token_exp=1)),
    "signed-by-sign_internal": lambda: sign(),
    "expired": lambda: _forged(_parity_claims(exp=_PARITY_NOW - 5)),
    "exp-a-string": lambda: _forged(_parity_claims(exp="soon")),
    "exp-a-float": lambda: _forged(_parity_claims(exp=_PARITY_NOW + 30.5)),
    "iat-in-the-future": lambda: _forged(_parity_claims(iat=_PARITY_NOW + 3600)),
    "iat-a-string": lambda: _forged(_parity_claims(iat="now")),
    "nbf-in-the-future": lambda: _forged(_parity_claims(nbf=_PARITY_NOW + 3600)),
    "nbf-past": lambda: _forged(_parity_claims(nbf=_PARITY_NOW - 5)),
    **{f"no-{name}": (lambda name=name: _forged(_parity_claims(**{name: "<absent>"})))
       for name in ("iss", "aud", "iat", "exp", "method", "path")},
    "method-null": lambda: _forged(_parity_claims(method=None)),
    "aud-a-list": lambda: _forged(_parity_claims(aud=["users", "auth"])),
    "aud-another-list": lambda: _forged(_parity_claims(aud=["auth"])),
    "aud-another": lambda: _forged(_parity_claims(aud="auth")),
    "aud-a-number": lambda: _forged(_parity_claims(aud=5)),
    "aud-a-list-of-numbers": lambda: _forged(_parity_claims(aud=[5])),
    "sub-a-number": lambda: _forged(_parity_claims(sub=7)),
    "jti-a-number": lambda: _forged(_parity_claims(jti=7)),
    "payload-a-list": lambda: _forged(payload=b"[1, 2]"),
    "payload-no-json": lambda: _forged(payload=b"{nope"),
    "payload-not-utf8": lambda: _forged(payload=b'{"iss": "\xff"}'),
    "payload-deep": lambda: _forged(payload=b"[" * 100_000),
    "another-key": lambda: _forged(_parity_claims(), key="another-key-that-is-long-enough-for-hs256"),
    "signature-cut": lambda: _forged(_parity_claims())[:-2],
    "signature-padded": lambda: _forged(_parity_claims()) + "=",
    "signature-empty": lambda: _forged(_parity_claims(), signature=""),
    "a-fourth-segment": lambda: _forged(_parity_claims(), tail=".e30"),
    "payload-padded": lambda: _forged(_parity_claims()).replace(".", "==.", 2).replace("==.", ".", 1),
    "kid-unknown": lambda: _forged(_parity_claims(iss="monolith"), kid="monolith"),
    "kid-users-signed-by-gateway": lambda: _forged(_parity_claims(iss="users"), kid="users"),
    "iss-other-than-kid": lambda: _forged(_parity_claims(iss="users")),
    "header-in-another-form": lambda: jwt.encode(_parity_claims(), GATEWAY_KEY, headers={"kid": "gateway", "x": 1}),
    "header-alg-none": lambda: jwt.encode(_parity_claims(), None, algorithm="none", headers={"kid": "gateway"}),
    "garbage": lambda: "not-a-token",
    "empty": lambda: "",
    "dots": lambda: "..",
}


@pytest.mark.parametrize("keys", ["local", "short-key"])
@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_an_assertion_is_verified_as_pyjwt_verifies_it(case, keys):
    import warnings

    from common.internal_auth import _REQUIRED_CLAIMS, _verified_claims

    keys = dict(LOCAL_INTERNAL_AUTH_KEYS) if keys == "local" else {"gateway": "short", "users": "short"}
    value = PARITY_CASES[case]()

    def pyjwt_verdict():
        try:
            caller = jwt.get_unverified_header(value).get("kid")
            key = keys.get(caller) if isinstance(caller, str) else None
            if not key:
                return "refused"
            return caller, jwt.decode(
                value, key, algorithms=["HS256"], audience="users", options={"require": _REQUIRED_CLAIMS}
            )
        except jwt.PyJWTError:
            return "refused"

    def verdict():
        try:
            return _verified_claims(value, "users", keys)
        except (jwt.PyJWTError, InternalAuthError):
            return "refused"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pyjwt_verdict()
        assert verdict() == expected
    accepted = {"valid", "valid-with-user", "signed-by-sign_internal", "exp-a-float", "nbf-past", "aud-a-list",
                "iss-other-than-kid", "signature-padded", "header-in-another-form"}
    assert (expected != "refused") == (case in accepted and keys["gateway"] != "short")


def test_a_key_pyjwt_warns_about_is_left_to_pyjwt_and_its_warning():
    from jwt.warnings import InsecureKeyLengthWarning

    value = _forged(_parity_claims(), key="short")

    with pytest.warns(InsecureKeyLengthWarning):
        claims = verify_internal(value, "users", method="GET", path="/api/profile", keys={"gateway": "short"})
    assert claims["iss"] == "gateway"
