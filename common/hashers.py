"""The Argon2 parameters every password hash of the platform uses: customers' (auth) and staff's (users)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


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
