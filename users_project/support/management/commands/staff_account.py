"""``manage.py staff_account create|disable|otp|unlock <username>``: staff accounts of the admin, without a prompt.

For provisioning and tests. The password comes from ``DJANGO_STAFF_PASSWORD``
(never from the command line, where other users of the machine could read it).

    DJANGO_STAFF_PASSWORD=... manage.py staff_account create ana --email ana@example.com
    DJANGO_STAFF_PASSWORD=... manage.py staff_account create root --email root@example.com --superuser
    manage.py staff_account disable ana
    manage.py staff_account otp ana       # enrol a TOTP device; prints its otpauth:// URI and secret once
    manage.py staff_account unlock ana    # lift a sign-in lockout of the username

``create`` makes a support account (staff, in the Support group) or with
``--superuser`` one that may do everything; run again, it brings the account
to what the command says (and sets the password if one is given). ``disable``
offboards: the account can no longer sign in and stays, so the staff trail
keeps its author. ``otp`` gives the account a new TOTP device (replacing any
it had) and prints, once, the provisioning URI for an authenticator app (as a
QR code or typed) and the base32 secret; ``--json`` prints them as one JSON
line for provisioning scripts and tests. ``unlock`` clears the failed sign-ins
counted against the username (``axes_reset_ip`` clears an address's).
"""

from __future__ import annotations

import json as _json
import os
from base64 import b32encode

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from support.services import (
    staff_account_disable,
    staff_account_otp_enrol,
    staff_account_provision,
    staff_account_unlock,
)

PASSWORD_VARIABLE = "DJANGO_STAFF_PASSWORD"


class Command(BaseCommand):
    help = "Create (or update), disable, enrol for two-factor or unlock a staff account of the admin, non-interactively."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "disable", "otp", "unlock"])
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="The staff member's work address.")
        parser.add_argument(
            "--superuser", action="store_true", help="May do everything, including managing staff accounts."
        )
        parser.add_argument("--json", action="store_true", help="otp: print the URI and secret as one JSON line.")

    def handle(self, *args, action, username, email, superuser, json: bool = False, **options):
        if action == "otp":
            self._otp(username, as_json=json)
            return
        if action == "unlock":
            cleared = staff_account_unlock(username=username)
            self.stdout.write(f"staff account {username}: unlocked ({cleared} failed sign-ins cleared)")
            return
        if action == "disable":
            try:
                staff_account_disable(username=username)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"staff account {username}: disabled")
            return
        password = os.environ.get(PASSWORD_VARIABLE) or None
        try:
            _, created = staff_account_provision(
                username=username, email=email, password=password, superuser=superuser
            )
        except ValidationError as exc:
            raise CommandError(f"{PASSWORD_VARIABLE} refused: {' '.join(exc.messages)}") from exc
        except ValueError as exc:
            raise CommandError(f"{exc}: set {PASSWORD_VARIABLE}") from exc
        role = "superuser" if superuser else "support staff"
        self.stdout.write(f"staff account {username} ({role}): {'created' if created else 'updated'}")

    def _otp(self, username: str, *, as_json: bool) -> None:
        try:
            device = staff_account_otp_enrol(username=username)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        secret = b32encode(device.bin_key).decode()
        if as_json:
            self.stdout.write(_json.dumps({"username": username, "uri": device.config_url, "secret": secret}))
            return
        self.stdout.write(f"staff account {username}: TOTP device enrolled (any earlier one removed)")
        self.stdout.write(f"provisioning URI (give it to the authenticator app, then forget it): {device.config_url}")
        self.stdout.write(f"secret (to type instead): {secret}")
