"""Rotating the token signing key as docs/deployment.md says, on a running system: nobody is logged out.

The system starts signing with key 1, an RSA key (RS256): the local pair under
VAR_DIR/keys as it was made before ES256, which still works. Key 2 is an EC
P-256 key (ES256), as new pairs are made now: the rotation every deployment
signing with RSA makes. Step by step, each a restart of the processes concerned
with new variables (the same for every process, as a deployment gives them):
key 2 is published beside key 1, the auth service signs with key 2, and key 1
is retired.
"""

from __future__ import annotations

import jwt
import pytest

from accounts import call, login, new_account, system_public_key
from common.jwt_keys import PRIVATE_KEY_FILE, key_id, local_key_pair, new_private_key_pem
from conftest import launched_system
from http_client import wait_for_status

INVALID = {"error": "Invalid or expired token"}
START_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def own_system(tmp_path_factory):
    """A system of its own (it is restarted), whose local key pair is an RSA pair made before ES256."""
    var_dir = tmp_path_factory.mktemp("rotation-system")
    (var_dir / "keys").mkdir()
    (var_dir / "keys" / PRIVATE_KEY_FILE).write_text(new_private_key_pem("RS256"))
    with launched_system(var_dir, embedded_redis=True) as started:
        yield started


def restart(system, names: list[str], **env: str) -> None:
    """Stop ``names``, set ``env`` for every process started from now on, start them again, wait until they answer."""
    for name in names:
        system.stop_process(name)
    system.config.env.update(env)
    for name in names:
        system.start_process(name)
    system.wait_ready(names, START_TIMEOUT)
    wait_for_status(f"{system.gateway_url}/api/health", 200)


def kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def alg(token: str) -> str:
    return jwt.get_unverified_header(token)["alg"]


def published_keys(gateway: str) -> list[tuple[str, str, str]]:
    """(kid, kty, alg) of each key the JWKS lists, in order."""
    status, _, body = call(gateway, "GET", "/api/.well-known/jwks.json")
    assert status == 200, body
    return [(jwk["kid"], jwk["kty"], jwk["alg"]) for jwk in body["keys"]]


def profile_status(gateway: str, token: str) -> int:
    return call(gateway, "GET", "/api/profile", token=token)[0]


def refreshed(gateway: str, refresh: str) -> dict:
    status, _, body = call(gateway, "POST", "/api/token/refresh", {"refresh": refresh})
    assert status == 200, body
    return body


def test_rotating_the_signing_key_logs_nobody_out_and_retiring_the_old_key_ends_its_tokens(own_system):
    system, _ = own_system
    gateway = system.gateway_url
    key_1 = system_public_key(system)
    private_2, key_2 = local_key_pair(system.config.var_dir / "rotated-keys")
    kid_1, kid_2 = key_id(key_1), key_id(key_2)
    rsa_1, ec_2 = (kid_1, "RSA", "RS256"), (kid_2, "EC", "ES256")
    # Token A and two refresh tokens from before the rotation: one used during it, one kept for after it.
    account = new_account(gateway, "rotation")
    token_a = account["token"]
    kept_session = login(gateway, account["email"])[1]
    assert kid(token_a) == kid(account["refresh"]) == kid_1
    assert alg(token_a) == alg(account["refresh"]) == "RS256"
    assert published_keys(gateway) == [rsa_1]

    # 1. Key 2 published beside key 1 at the gateway and the auth service; nothing signed with it yet.
    restart(system, ["gateway", "auth"], JWT_PUBLIC_KEY=key_1 + key_2)

    assert profile_status(gateway, token_a) == 200
    assert kid(login(gateway, account["email"])[1]["token"]) == kid_1
    assert published_keys(gateway) == [rsa_1, ec_2]

    # 2. The auth service signs with key 2; key 1 still verifies.
    restart(system, ["auth"], JWT_PRIVATE_KEY=private_2)

    assert profile_status(gateway, token_a) == 200
    fresh = login(gateway, account["email"])[1]
    assert kid(fresh["token"]) == kid(fresh["refresh"]) == kid_2
    assert alg(fresh["token"]) == alg(fresh["refresh"]) == "ES256"
    assert profile_status(gateway, fresh["token"]) == 200
    # A refresh token from before the switch (RS256) still refreshes, into tokens of key 2 (ES256).
    rotated = refreshed(gateway, account["refresh"])
    assert kid(rotated["token"]) == kid(rotated["refresh"]) == kid_2
    assert alg(rotated["token"]) == "ES256"
    assert profile_status(gateway, rotated["token"]) == 200
    assert kid(refreshed(gateway, rotated["refresh"])["token"]) == kid_2
    assert published_keys(gateway) == [ec_2, rsa_1]

    # 4. Key 1 retired everywhere (after the wait of step 3): its tokens are refused, key 2's are not.
    restart(system, ["gateway", "auth"], JWT_PUBLIC_KEY=key_2)

    assert call(gateway, "GET", "/api/profile", token=token_a)[0::2] == (403, INVALID)
    assert call(gateway, "POST", "/api/token/refresh", {"refresh": kept_session["refresh"]})[0::2] == (401, INVALID)
    assert profile_status(gateway, fresh["token"]) == 200
    assert kid(refreshed(gateway, fresh["refresh"])["token"]) == kid_2
    assert published_keys(gateway) == [ec_2]
    assert system.exited() == []
