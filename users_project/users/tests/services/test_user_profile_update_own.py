"""A user's own change of email: "Email already in use" at most a few times an hour, then 429 for any change."""

import pytest

from common.errors import ApiError
from common.revocation import client_for
from users.services import user_profile_update_own

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(autouse=True)
def limit(settings, redis_url):
    """A limit of 2, and no count left by an earlier test (user ids repeat across tests)."""
    settings.USERS_EMAIL_IN_USE_LIMIT = 2
    client = client_for(redis_url)
    for key in client.scan_iter(match="users:email-in-use:*"):
        client.delete(key)


def refusal(**kwargs) -> ApiError:
    with pytest.raises(ApiError) as raised:
        user_profile_update_own(**kwargs)
    return raised.value


def test_after_the_limit_every_change_of_email_is_refused_until_the_window_ends(make_profile):
    make_profile("taken@example.com")
    ada = make_profile("ada@example.com", name="Ada")

    for _ in range(2):
        assert refusal(user_id=ada.pk, email="Taken@Example.com").message == "Email already in use"
    over = refusal(user_id=ada.pk, email="taken@example.com")
    free = refusal(user_id=ada.pk, email="free@example.com")

    # A free address gets the same 429: otherwise the 429 itself would tell which addresses are taken.
    assert (over.status, over.message, free.status) == (429, "Too many requests", 429)
    assert 1 <= int(free.headers["Retry-After"]) <= 3600
    # The name, and the email as it is, still change.
    assert user_profile_update_own(user_id=ada.pk, name="Ada L.", email="ADA@example.com").name == "Ada L."


def test_the_count_is_per_account(make_profile):
    make_profile("taken@example.com")
    ada, bob = make_profile("ada@example.com"), make_profile("bob@example.com")
    for _ in range(2):
        refusal(user_id=ada.pk, email="taken@example.com")

    assert refusal(user_id=bob.pk, email="taken@example.com").message == "Email already in use"
    assert user_profile_update_own(user_id=bob.pk, email="bob2@example.com").email == "bob2@example.com"
