"""The RS256 keys of users' tokens: the auth service signs, the gateway verifies.

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
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

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
    """A stable id for a public key (its ``kid``): a hash of its DER form.

    Every token issued so far carries this id: deriving it another way would
    make all of them name an unknown key, which logs everyone out.
    """
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
