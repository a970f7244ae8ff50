"""Email addresses in the canonical form the monolith stored.

The monolith ran express-validator's ``normalizeEmail()`` with default options on
every address it stored and looked up, so ``New.Person+x@Gmail.com`` was stored as
``newperson@gmail.com``. Users still type their addresses the old way; looking
them up by this same canonical form finds them. It is also the uniqueness key:
two addresses that differ only in case (or in a Gmail dot) are one account.
"""

from __future__ import annotations

import re

# Provider domain lists as validator.js's normalizeEmail knows them.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
ICLOUD_DOMAINS = frozenset({"icloud.com", "me.com"})
OUTLOOK_DOMAINS = frozenset(
    {f"hotmail.{tld}" for tld in (
        "at", "be", "ca", "cl", "co.il", "co.nz", "co.th", "co.uk", "com", "com.ar", "com.au", "com.br",
        "com.gr", "com.mx", "com.pe", "com.tr", "com.vn", "cz", "de", "dk", "es", "fr", "hu", "id", "ie",
        "in", "it", "jp", "kr", "lv", "my", "ph", "pt", "sa", "sg", "sk",
    )}
    | {f"live.{tld}" for tld in ("be", "co.uk", "com", "com.ar", "com.mx", "de", "es", "eu", "fr", "it", "nl")}
    | {f"outlook.{tld}" for tld in (
        "at", "be", "cl", "co.il", "co.nz", "co.th", "com", "com.ar", "com.au", "com.br", "com.gr", "com.pe",
        "com.tr", "com.vn", "cz", "de", "dk", "es", "fr", "hu", "id", "ie", "in", "it", "jp", "kr", "lv",
        "my", "ph", "pt", "sa", "sg", "sk",
    )}
    | {"msn.com", "passport.com"}
)
YAHOO_DOMAINS = frozenset(
    {"rocketmail.com", "yahoo.ca", "yahoo.co.uk", "yahoo.com", "yahoo.de", "yahoo.fr", "yahoo.in", "yahoo.it", "ymail.com"}
)
YANDEX_DOMAINS = frozenset({"yandex.ru", "yandex.ua", "yandex.kz", "yandex.com", "yandex.by", "ya.ru"})


def _drop_single_dots(local: str) -> str:
    # Gmail ignores dots; a run of two or more dots was left as it was.
    return re.sub(r"\.+", lambda match: match.group(0) if len(match.group(0)) > 1 else "", local)


def canonical_email(email: str) -> str | None:
    """The address as ``normalizeEmail()`` (defaults) turned it, or ``None`` where it gave up.

    The domain is lower-cased; so is the local part. Gmail/Googlemail drop a
    ``+tag`` and single dots and become ``gmail.com``; iCloud and Outlook drop a
    ``+tag``; Yahoo drops a ``-tag``; Yandex domains become ``yandex.ru``.
    """
    if "@" not in email:
        return None
    local, domain = email.rsplit("@", 1)
    domain = domain.lower()
    if domain in GMAIL_DOMAINS:
        local = _drop_single_dots(local.split("+", 1)[0])
        domain = "gmail.com"
    elif domain in ICLOUD_DOMAINS or domain in OUTLOOK_DOMAINS:
        local = local.split("+", 1)[0]
    elif domain in YAHOO_DOMAINS:
        pieces = local.split("-")
        local = "-".join(pieces[:-1]) if len(pieces) > 1 else pieces[0]
    elif domain in YANDEX_DOMAINS:
        domain = "yandex.ru"
    if not local:
        return None
    return f"{local.lower()}@{domain}"


def login_key(email: str) -> str | None:
    """The account an address typed at sign-in names: its canonical form, surrounding whitespace dropped.

    The auth service looks a login's credential up by it, and the gateway counts
    a login's per-account limit under it: however an address is re-spelt (case,
    spaces, Gmail dots), it is one account and one count.
    """
    return canonical_email(email.strip())
