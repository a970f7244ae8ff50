"""Keys of every type for the tests of what accepts only some (``common.jwt_keys.key_algorithm``)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519

# Private keys tokens are never signed with: another curve, another kind of key.
UNSUPPORTED = {
    "ec-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ec-secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "dsa": lambda: dsa.generate_private_key(2048),
}


def pem_of(key) -> str:
    """The PEM of a private key (PKCS #8, unencrypted) or a public key (SubjectPublicKeyInfo)."""
    if hasattr(key, "private_bytes"):
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
