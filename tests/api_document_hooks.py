"""Schemathesis hooks for ``test_api_document.py``: what the generator cannot know, supplied by the run.

Loaded by ``schemathesis run`` (``SCHEMATHESIS_HOOKS``), in its process. Four things:

- a valid access token on protected operations, a fresh one per case: logout and
  a password change revoke tokens, so one token would not last the run;
- the secrets a well-formed case needs to get past a credential check: the
  session's refresh token and current password, the login account's password.
  Without them every such case would end in a 401 and no success answer would
  be checked against the document;
- each email once: the coverage phase sends the same address many times, and a
  second registration with it would be a refusal, not a new account;
- the refusals of a well-formed request that depend on what the server holds (an
  email already taken, a common password): JSON Schema cannot state them, so the
  document says them in words, and the legacy contract answers them 400 where
  schemathesis counts only a 409 as such a refusal (``STATED_IN_WORDS``).
"""

from __future__ import annotations

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

from accounts import PASSWORD, call, register, unique_email

PASSWORD_REFUSALS = ("This password is too common", "The password is too similar")
# Per operation: the plain errors, and the messages (by their start) per field of a validation error.
STATED_IN_WORDS = {
    "user_register": {"error": {"User already exists"}, "password": PASSWORD_REFUSALS},
    "user_profile_update": {"error": {"Email already in use"}},
    "change_password": {"newPassword": PASSWORD_REFUSALS},
}


class Session:
    """A signed-in user whose tokens and password follow what the cases change; and an account to log in as."""

    def __init__(self, gateway: str):
        self.gateway = gateway
        self.login = {"email": unique_email("document-login"), "password": PASSWORD}
        self.emails: set[str] = set()  # given to an account by a case, lower-cased
        status, answer = register(gateway, self.login["email"])
        assert status == 201, answer
        self._sign_up()

    def _sign_up(self) -> None:
        status, answer = register(self.gateway, unique_email("document"))
        assert status == 201, answer
        self.password, self.refresh = PASSWORD, answer["refresh"]

    def access_token(self) -> str:
        """A new access token of this session; of a new user's when the session was ended."""
        status, _, answer = call(self.gateway, "POST", "/api/token/refresh", {"refresh": self.refresh})
        if status != 200:
            self._sign_up()
            return self.access_token()
        self.refresh = answer["refresh"]
        return answer["token"]

    def complete(self, case) -> None:
        """Put the session's secrets into a well-formed ``case`` where a credential check would stop it.

        An email a case already gave an account is swapped for a new one.
        """
        body = case.body
        if not case.meta.generation.mode.is_positive or not isinstance(body, dict):
            return
        operation = operation_id(case)
        if operation in ("user_register", "user_profile_update") and isinstance(body.get("email"), str):
            if body["email"].lower() in self.emails:
                body["email"] = unique_email("document")
            self.emails.add(body["email"].lower())
        if operation == "login":
            body.update(self.login)
        elif operation == "token_refresh" or (operation == "logout" and body.get("refresh")):
            body["refresh"] = self.refresh
        elif operation == "change_password":
            body["currentPassword"] = self.password

    def observe(self, case, response) -> None:
        """Follow what ``case`` changed: a refresh token used up, a new password."""
        # The coverage phase sends other methods too (an OPTIONS answers 200, with no tokens).
        if response.status_code != 200 or case.method.upper() != case.operation.method.upper():
            return
        operation = operation_id(case)
        if operation == "change_password":
            self.password = case.body["newPassword"]
        if operation in ("change_password", "token_refresh"):
            self.refresh = response.json()["refresh"]


_session: Session | None = None


def session(case) -> Session:
    """The run's session, made on first use against the gateway the document was read from."""
    global _session
    if _session is None:
        _session = Session(case.operation.base_url.rstrip("/"))
    return _session


def operation_id(case) -> str:
    return case.operation.definition.raw["operationId"]


def protected(case) -> bool:
    return bool(case.operation.definition.raw.get("security"))


def stated_in_words(case, response) -> bool:
    """Whether ``response`` refuses a well-formed ``case`` only for reasons the document states in words."""
    stated = STATED_IN_WORDS.get(operation_id(case))
    if stated is None or response.status_code != 400:
        return False
    body = response.json()
    if "error" in body:
        return body["error"] in stated.get("error", ())
    return all(error["msg"].startswith(stated.get(error["path"], ())) for error in body["errors"])


# No caching, no replay: each protected case gets a token of its own, and an answer is never sent twice.
@schemathesis.auth(refresh_interval=None, retry_on=[])
class SessionToken:
    def get(self, case, context):
        return session(case).access_token() if protected(case) else None

    def set(self, case, data, context):
        if data is not None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(context, case, kwargs):
    session(case).complete(case)


@schemathesis.hook
def after_call(context, case, response):
    session(case).observe(case, response)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    return not (isinstance(failure, RejectedPositiveData) and stated_in_words(case, response))
