"""Password hashers: Argon2 for every new hash, and the legacy monolith's bcryptjs hashes.

Each hash runs on this process's hashing threads (``PASSWORD_HASH_THREADS``),
whichever request thread asked for it. gunicorn gives a worker 8 threads; left
to themselves, 8 logins hashing at once on 2 cores cost each hash 15-25% more CPU
(19 MiB of Argon2 memory per hash evicting the others' from the caches, memory
faulted in again per thread) than one hash per core at a time, the rest waiting
their turn at no cost: the cores are busy either way.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import BCryptPasswordHasher

from common.hashers import Argon2idPasswordHasher

# bcrypt reads at most 72 bytes of key.
BCRYPT_MAX_PASSWORD_BYTES = 72

_hashing_thread = threading.local()


@functools.cache
def _hashing_threads(pid: int) -> ThreadPoolExecutor:
    # Per process id: a process forked after making its threads has none of them.
    return ThreadPoolExecutor(
        max_workers=settings.PASSWORD_HASH_THREADS,
        thread_name_prefix="password-hash",
        initializer=setattr,
        initargs=(_hashing_thread, "active", True),
    )


def on_hashing_thread(function, *args):
    """``function(*args)`` run on one of this process's hashing threads; at once when already on one."""
    if getattr(_hashing_thread, "active", False):
        return function(*args)
    return _hashing_threads(os.getpid()).submit(function, *args).result()


class HashingThreadsMixin:
    """A hasher whose ``encode`` and ``verify`` run on the hashing threads (:func:`on_hashing_thread`)."""

    def encode(self, password, salt):
        return on_hashing_thread(super().encode, password, salt)

    def verify(self, password, encoded):
        return on_hashing_thread(super().verify, password, encoded)


class ServiceArgon2PasswordHasher(HashingThreadsMixin, Argon2idPasswordHasher):
    """The platform's Argon2id (``common.hashers``), hashing on this process's hashing threads."""


class LegacyBcryptPasswordHasher(HashingThreadsMixin, BCryptPasswordHasher):
    """Verifies the monolith's bcryptjs hashes, stored as ``bcrypt$$2a$10$...`` (or ``$2b$``).

    bcryptjs hashed only the first 72 bytes of a password's UTF-8 form and
    ignored the rest; the ``bcrypt`` package (5.x) raises ``ValueError`` for
    longer input instead. Truncating the same way first lets a user whose
    password was longer log in with it, as they always did. ``verify`` runs on
    the hashing threads, with the ``encode`` it calls.
    """

    def encode(self, password, salt):
        truncated = password.encode()[:BCRYPT_MAX_PASSWORD_BYTES]
        bcrypt = self._load_library()
        data = bcrypt.hashpw(truncated, salt)
        return f"{self.algorithm}${data.decode('ascii')}"
