"""Password hashers: Argon2 for every new hash, and the legacy monolith's bcryptjs hashes."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher, BCryptPasswordHasher

# bcrypt reads at most 72 bytes of key.
BCRYPT_MAX_PASSWORD_BYTES = 72


class ServiceArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's first recommended parameters: 19 MiB, 2 passes, 1 lane.

    Django's defaults (100 MiB, 8 lanes) cost 100 MiB per login in flight: a
    2-core box running 2 gunicorn workers x 8 threads could need 1.6 GB for
    logins alone, and 8 lanes buy no speed on 2 cores. 19 MiB x 2 passes takes
    about as long as the legacy bcrypt cost 10 (~60 ms), so old and new hashes
    cost an attacker and the server alike. The algorithm name stays "argon2":
    hashes made with other parameters still verify and are rehashed on login.
    """

    time_cost = 2
    memory_cost = 19456
    parallelism = 1


class LegacyBcryptPasswordHasher(BCryptPasswordHasher):
    """Verifies the monolith's bcryptjs hashes, stored as ``bcrypt$$2a$10$...`` (or ``$2b$``).

    bcryptjs hashed only the first 72 bytes of a password's UTF-8 form and
    ignored the rest; the ``bcrypt`` package (5.x) raises ``ValueError`` for
    longer input instead. Truncating the same way first lets a user whose
    password was longer log in with it, as they always did.
    """

    def encode(self, password, salt):
        truncated = password.encode()[:BCRYPT_MAX_PASSWORD_BYTES]
        bcrypt = self._load_library()
        data = bcrypt.hashpw(truncated, salt)
        return f"{self.algorithm}${data.decode('ascii')}"
