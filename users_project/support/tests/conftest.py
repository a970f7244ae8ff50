"""Fixtures of the support tests: staff accounts signed in to the admin, and the auth service's support endpoints."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from support.services import staff_account_provision

STAFF_PASSWORD = "Lantern-Orbit-Staple-42"


@pytest.fixture(autouse=True)
def auth_support(fake_auth):
    """The fake auth service (``users_project/conftest.py``) for every support test: the admin's pages ask it."""
    return fake_auth


@pytest.fixture
def support_staff():
    """A support staff account (staff, in the Support group), as ``staff_account create`` makes it."""
    user, _ = staff_account_provision(username="ana", email="ana@support.example.com", password=STAFF_PASSWORD)
    return user


@pytest.fixture
def support_client(support_staff) -> Client:
    """A browser signed in to the admin as support staff."""
    client = Client()
    client.force_login(support_staff)
    return client


@pytest.fixture
def staff_client_with():
    """``staff_client_with(*permissions)``: signed in as a staff member holding only these permissions."""

    def make(*permissions: str) -> Client:
        from django.contrib.auth.models import Permission

        user = get_user_model().objects.create_user(username="limited", password=STAFF_PASSWORD, is_staff=True)
        for name in permissions:
            app_label, codename = name.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        client = Client()
        client.force_login(user)
        return client

    return make

