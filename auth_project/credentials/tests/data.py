"""Values the auth service's tests share."""

from datetime import datetime, timezone

import bcrypt

PASSWORD = "correct horse battery staple"
USER_CREATED_AT = datetime(2019, 1, 1, 0, 0, 37, tzinfo=timezone.utc)
# Over 72 bytes in UTF-8 (the é and the emoji take 2 and 4 bytes), so bcryptjs used only a prefix of it.
LONG_PASSWORD = "correct horse battery staple, é, 🦄, and a tail that bcryptjs never read: 0123456789"


def legacy_hash(password: str, prefix: str = "$2a$") -> str:
    """A hash as the monolith stored it, behind Django's ``bcrypt$`` algorithm name.

    bcryptjs wrote ``$2a$10$...`` (sometimes ``$2b$``) from at most the first
    72 bytes of the password; the bcrypt package makes the same hash from the
    same bytes, with ``$2b$`` in front.
    """
    made = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(10)).decode()
    return "bcrypt$" + made.replace("$2b$", prefix, 1)
