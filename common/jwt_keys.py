"""The RS256 key pair that signs users' tokens: the auth service signs, the gateway verifies.

Production passes the keys in the environment (``JWT_PRIVATE_KEY`` to the auth
service only, ``JWT_PUBLIC_KEY`` to the gateway). On a developer's machine and in
tests, with the variables unset, a pair is made once under ``VAR_DIR/keys/`` and
shared by the local processes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PRIVATE_KEY_FILE = "jwt-private.pem"
PUBLIC_KEY_FILE = "jwt-public.pem"


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
    """(private PEM, public PEM) for local use, made on first call and reused afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / PRIVATE_KEY_FILE
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _publish(
            private_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    private_pem = private_path.read_text()
    return private_pem, public_pem_from_private(private_pem)


def public_pem_from_private(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id(public_pem: str) -> str:
    """A stable id for a public key (its ``kid``): a hash of its DER form."""
    key = serialization.load_pem_public_key(public_pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def public_jwk(public_pem: str) -> dict:
    """The public key as a JWK (RFC 7517), for ``/api/.well-known/jwks.json``."""
    numbers = serialization.load_pem_public_key(public_pem.encode()).public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": key_id(public_pem),
        "n": _b64url_uint(numbers.n),
        "e": _b64url_uint(numbers.e),
    }
