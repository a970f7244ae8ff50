"""The Argon2 parameters every password hash of the platform uses: customers' (auth) and staff's (users)."""

import re

from django.contrib.auth.hashers import Argon2PasswordHasher

# A hash's salt and digest segments: base64 without padding, whose decoded lengths follow from their own.
_BASE64_SEGMENT = re.compile(r"[A-Za-z0-9+/]*")
_MUST_UPDATE_SHAPES_KEPT = 64


class Argon2idPasswordHasher(Argon2PasswordHasher):
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

    _must_update_by_shape: dict = {}

    def must_update(self, encoded):
        """Django's answer, remembered by what it depends on: the hash's parameters and its salt's and digest's lengths.

        Every successful login asks, and Django parses the whole hash for it
        (~60 Python calls). A hash of another shape (not six segments, or not
        base64 where the salt and digest are) is Django's to answer each time.
        """
        parts = encoded.split("$")
        if len(parts) != 6 or not (_BASE64_SEGMENT.fullmatch(parts[4]) and _BASE64_SEGMENT.fullmatch(parts[5])):
            return super().must_update(encoded)
        shape = (type(self), self.time_cost, self.memory_cost, self.parallelism, self.salt_entropy,
                 *parts[:4], len(parts[4]), len(parts[5]))
        answer = self._must_update_by_shape.get(shape)
        if answer is None:
            answer = super().must_update(encoded)
            if len(self._must_update_by_shape) < _MUST_UPDATE_SHAPES_KEPT:
                self._must_update_by_shape[shape] = answer
        return answer
