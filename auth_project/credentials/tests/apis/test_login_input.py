"""The login's plain parsing of a body accepts exactly what ``LoginInputSerializer`` accepts, as it reads it."""

import pytest
from rest_framework.exceptions import ValidationError

from credentials.apis import _login_input
from credentials.serializers import LoginInputSerializer


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com", "password": "pw"},
        {"email": "First.Last+x@Gmail.com", "password": "  spaces count  ", "extra": 1},
        {"email": " ada@example.com ", "password": "pw"},
        {"email": "ada@example.com", "password": 12345},
        {"email": "ada@example.com", "password": ""},
        {"email": "ada@example.com", "password": "   "},
        {"email": "", "password": "pw"},
        {"email": "not-an-email", "password": "pw"},
        {"email": "ada@example.com", "password": "p\x00w"},
        {"email": "ada@exam\x00ple.com", "password": "pw"},
        {"email": "ada@example.com", "password": "\ud800"},
        {"email": "ada@example.com", "password": "p" * 4097},
        {"email": "a" * 250 + "@example.com", "password": "pw"},
        {"email": "ada@example.com", "password": "p" * 4096},
        {"email": "ada@example.com", "password": "pässwörd"},
        {"email": "ada@example.com", "password": None},
        {"email": None, "password": "pw"},
        {"email": ["ada@example.com"], "password": "pw"},
        {"email": True, "password": "pw"},
        {"password": "pw"},
        {},
        [],
        "ada@example.com",
    ],
)
def test_accepts_and_refuses_as_the_serializer_does(body):
    serializer = LoginInputSerializer(data=body)
    if serializer.is_valid():
        assert _login_input(body) == dict(serializer.validated_data)
    else:
        with pytest.raises(ValidationError) as refused:
            _login_input(body)
        assert refused.value.detail == serializer.errors
