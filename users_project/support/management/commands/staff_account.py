"""``manage.py staff_account create|disable <username>``: staff accounts of the admin, without a prompt.

For provisioning and tests. The password comes from ``DJANGO_STAFF_PASSWORD``
(never from the command line, where other users of the machine could read it).

    DJANGO_STAFF_PASSWORD=... manage.py staff_account create ana --email ana@example.com
    DJANGO_STAFF_PASSWORD=... manage.py staff_account create root --email root@example.com --superuser
    manage.py staff_account disable ana

``create`` makes a support account (staff, in the Support group) or with
``--superuser`` one that may do everything; run again, it brings the account
to what the command says (and sets the password if one is given). ``disable``
offboards: the account can no longer sign in and stays, so the staff trail
keeps its author.
"""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from support.services import staff_account_disable, staff_account_provision

PASSWORD_VARIABLE = "DJANGO_STAFF_PASSWORD"


class Command(BaseCommand):
    help = "Create (or update) or disable a staff account of the admin, non-interactively."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "disable"])
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="The staff member's work address.")
        parser.add_argument(
            "--superuser", action="store_true", help="May do everything, including managing staff accounts."
        )

    def handle(self, *args, action, username, email, superuser, **options):
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
