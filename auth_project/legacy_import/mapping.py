"""How a row of the monolith's users.db becomes a credential."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password

from common.legacy_import.mapping import LegacyMapping, SourceValues, stored_moment
from common.legacy_import.values import is_bcrypt_hash, row_checksum
from credentials.models import Credential
from legacy_import.models import ImportRun, LegacyRowState

# Django's form of a bcrypt hash: the hasher's name, then the hash as bcryptjs wrote it
# ("bcrypt$$2a$10$..."). credentials.hashers.LegacyBcryptPasswordHasher verifies it,
# passwords over 72 bytes included, and Argon2 replaces it on the next login.
BCRYPT_PREFIX = "bcrypt$"


class CredentialMapping(LegacyMapping):
    """users.db's id, email and password hash, with copies of name and created_at, as an active credential.

    ``Credential.user_id`` is the users service's id, not generated here: there
    is no sequence to move on.
    """

    service = "auth"
    model = Credential
    state_model = LegacyRowState
    run_model = ImportRun
    has_id_sequence = False
    stored_fields = ("user_id", "email", "name", "user_created_at", "password")
    insert_fields = ("user_id", "email", "email_canonical", "password", "name", "user_created_at")
    update_fields = ("email", "email_canonical", "password", "name", "user_created_at", "updated_at")

    def prepare(self, values: SourceValues) -> None:
        """A password that is not a bcrypt hash becomes ``None``: the credential gets an unusable one."""
        if not is_bcrypt_hash(values.password):
            values.password = None
            values.issues.append(("not_bcrypt", "the stored password is not a bcrypt hash"))

    def checksum(self, values: SourceValues) -> int:
        # An unusable password counts as Django's "!", whatever random characters follow it.
        password = values.password or UNUSABLE_PASSWORD_PREFIX
        return row_checksum(values.id, values.email, values.name, values.created_at, password)

    def stored_checksum(self, stored: tuple) -> int:
        user_id, email, name, user_created_at, password = stored
        if password.startswith(BCRYPT_PREFIX):
            form = password[len(BCRYPT_PREFIX) :]
        elif password.startswith(UNUSABLE_PASSWORD_PREFIX):
            form = UNUSABLE_PASSWORD_PREFIX
        else:
            form = password  # rehashed (Argon2) or changed since the import
        return row_checksum(user_id, email, name, stored_moment(user_created_at), form)

    def insert_row(self, values: SourceValues) -> tuple:
        return (
            values.id, values.email, values.email_canonical, self._password(values), values.name, values.created_at
        )

    def update_row(self, values: SourceValues, now: datetime) -> tuple:
        return (values.email, values.email_canonical, self._password(values), values.name, values.created_at, now)

    @staticmethod
    def _password(values: SourceValues) -> str:
        return BCRYPT_PREFIX + values.password if values.password else make_password(None)
