"""The keys of users' tokens: the auth service signs, the gateway verifies.

A key's type decides its algorithm (``key_algorithm``): an EC key on P-256
signs ES256, an RSA key RS256; no other key is accepted. New local pairs are
EC P-256; an RSA pair already under ``VAR_DIR/keys`` keeps working, and so does
an RSA key in production, until it is rotated out (docs/deployment.md).

Production passes the keys in the environment: ``JWT_PRIVATE_KEY`` (the one
signing key) to the auth service only, ``JWT_PUBLIC_KEY`` (every public key a
token may be signed with, one PEM after another) to the gateway, and to the auth
service too while a key is being rotated. On a developer's machine and in tests,
with the variables unset, a pair is made once under ``VAR_DIR/keys/`` and shared
by the local processes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured

PRIVATE_KEY_FILE = "jwt-private.pem"
PUBLIC_KEY_FILE = "jwt-public.pem"

RS256 = "RS256"
ES256 = "ES256"
# The length of a P-256 coordinate in a JWK (RFC 7518, 6.2.1.2: the full length, leading zeros kept).
_P256_COORDINATE_BYTES = 32


class UnsupportedKey(ValueError):
    """A key of a type tokens are not signed with (neither RSA nor EC P-256)."""


def key_algorithm(key) -> str:
    """The algorithm a key (private or public, a PEM or a loaded key) signs or verifies tokens with.

    ``ES256`` for an EC key on P-256, ``RS256`` for an RSA key; ``UnsupportedKey``
    for anything else (another curve, Ed25519, DSA...). ``ValueError`` for a PEM
    that is not a key.
    """
    if isinstance(key, str):
        key = _load_pem(key)
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return RS256
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        if isinstance(key.curve, ec.SECP256R1):
            return ES256
        raise UnsupportedKey(f"must be an RSA key or an EC P-256 key, not an EC key on {key.curve.name}")
    kind = type(key).__name__.removeprefix("_").removesuffix("PrivateKey").removesuffix("PublicKey")
    raise UnsupportedKey(f"must be an RSA key or an EC P-256 key, not a key of type {kind}")


def _load_pem(pem: str):
    data = pem.encode()
    if b"PRIVATE KEY-----" in data:
        return serialization.load_pem_private_key(data, password=None)
    return serialization.load_pem_public_key(data)


def new_private_key_pem(algorithm: str = ES256) -> str:
    """A new unencrypted private key (PKCS #8 PEM) for ``algorithm``: an EC P-256 key, or a 2048-bit RSA key."""
    if algorithm == ES256:
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == RS256:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(f"no keys for {algorithm!r}")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _publish(path: Path, data: bytes) -> None:
    """Write ``path`` atomically, once: if another process got there first, keep theirs."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_bytes(data)
    os.chmod(temporary, 0o600)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def local_key_pair(directory: Path) -> tuple[str, str]:
    """(private PEM, public PEM) for local use, made on first call (EC P-256) and reused afterwards.

    A pair made before ES256 (RSA) is reused as it is.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / PRIVATE_KEY_FILE
    if not private_path.exists():
        _publish(private_path, new_private_key_pem(ES256).encode())
    private_pem = private_path.read_text()
    return private_pem, public_pem_from_private(private_pem)


def public_pem_from_private(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _b64url_uint(value: int, length: int | None = None) -> str:
    """``value`` big-endian in base64url without padding: in ``length`` bytes, or as few as it takes."""
    raw = value.to_bytes(length or (value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id(public_pem: str) -> str:
    """A stable id for a public key (its ``kid``): a hash of its DER form (SubjectPublicKeyInfo), RSA or EC alike.

    Every token issued so far carries this id: deriving it another way would
    make all of them name an unknown key, which logs everyone out.
    """
    key = serialization.load_pem_public_key(public_pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def public_jwk(public_pem: str) -> dict:
    """The public key as a JWK (RFC 7517, its parameters as RFC 7518 says), for ``/api/.well-known/jwks.json``.

    An RSA key: ``kty`` RSA, ``n`` and ``e``; an EC P-256 key: ``kty`` EC, ``crv``
    P-256, ``x`` and ``y`` (32 bytes each, leading zeros kept).
    """
    key = serialization.load_pem_public_key(public_pem.encode())
    algorithm = key_algorithm(key)
    numbers = key.public_numbers()
    jwk = {"kty": "RSA" if algorithm == RS256 else "EC", "use": "sig", "alg": algorithm, "kid": key_id(public_pem)}
    if algorithm == RS256:
        return {**jwk, "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
    return {
        **jwk,
        "crv": "P-256",
        "x": _b64url_uint(numbers.x, _P256_COORDINATE_BYTES),
        "y": _b64url_uint(numbers.y, _P256_COORDINATE_BYTES),
    }


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)


def pem_blocks(text: str) -> list[str]:
    """The PEM blocks in ``text``, in order, each ending in a newline.

    A variable may hold several keys one after another (a bundle), with real
    line breaks or ``\\n`` escapes. ``ValueError`` when there is no block, or
    anything but whitespace between blocks.
    """
    text = text.replace("\\n", "\n")
    blocks = [match.group(0) + "\n" for match in _PEM_BLOCK.finditer(text)]
    if not blocks:
        raise ValueError("no PEM block found")
    if _PEM_BLOCK.sub("", text).strip():
        raise ValueError("text outside the PEM blocks")
    return blocks


def accepted_public_keys(signing_key: str, listed: list[str], *, variable: str = "JWT_PUBLIC_KEY") -> list[str]:
    """The public keys the auth service accepts tokens with: its signing key's own first, then ``listed``.

    ``listed`` is what ``variable`` holds, the same value the gateway gets.
    When set, it must include the signing key: signing with a key the gateway
    does not know yet would make every new token invalid there
    (``ImproperlyConfigured``). Duplicates are dropped.
    """
    own = public_pem_from_private(signing_key)
    own_id = key_id(own)
    listed_ids = [key_id(pem) for pem in listed]
    if listed and own_id not in listed_ids:
        raise ImproperlyConfigured(
            f"{variable} does not include the public half of JWT_PRIVATE_KEY (kid {own_id}): publish a "
            f"new key to every verifier before signing with it (docs/deployment.md, key rotation)."
        )
    keys = {own_id: own}
    for kid, pem in zip(listed_ids, listed):
        keys.setdefault(kid, pem)
    return list(keys.values())
