"""Hashers for the test settings only."""

from credentials.hashers import ServiceArgon2PasswordHasher


class FastArgon2PasswordHasher(ServiceArgon2PasswordHasher):
    """Real Argon2id at the lowest cost, so hundreds of hashes take milliseconds."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1
