import pytest

from credentials.selectors import credential_get_by_email

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


@pytest.mark.parametrize("typed", ["firstlast@gmail.com", "First.Last+x@Gmail.com", "firstlast@googlemail.com"])
def test_finds_the_credential_however_the_address_is_typed(make_credential, typed):
    credential = make_credential(email="firstlast@gmail.com")

    assert credential_get_by_email(email=typed) == credential


def test_an_unknown_or_unusable_address_finds_nothing(make_credential):
    make_credential(email="ada@example.com")

    assert credential_get_by_email(email="grace@example.com") is None
    assert credential_get_by_email(email="not an address") is None
