import pytest

from common.emails import canonical_email


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("New.Person+x@Gmail.com", "newperson@gmail.com"),
        ("first.last@googlemail.com", "firstlast@gmail.com"),
        ("a..b.c@gmail.com", "a..bc@gmail.com"),
        ("User5@EXAMPLE.com", "user5@example.com"),
        ("Some.One+tag@example.com", "some.one+tag@example.com"),
        ("Joe+news@Hotmail.com", "joe@hotmail.com"),
        ("Joe+news@outlook.com.br", "joe@outlook.com.br"),
        ("Kim+x@me.com", "kim@me.com"),
        ("joe-list-x@yahoo.com", "joe-list@yahoo.com"),
        ("Joe@Ya.Ru", "joe@yandex.ru"),
        ("Ünïcode@Example.COM", "ünïcode@example.com"),
    ],
)
def test_addresses_take_the_form_the_monolith_stored(typed, stored):
    assert canonical_email(typed) == stored


@pytest.mark.parametrize("address", ["no-at-sign", "+only-tag@gmail.com", "-x@yahoo.com"])
def test_addresses_the_monolith_could_not_normalise(address):
    assert canonical_email(address) is None
