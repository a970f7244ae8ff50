"""``manage.py staff_account``: staff accounts made and disabled without a prompt."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from support.services import SUPPORT_GROUP
from support.tests.admin_pages import sign_in
from support.tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db(databases="__all__")


def run(monkeypatch, *args, password: str | None = STAFF_PASSWORD) -> str:
    if password is None:
        monkeypatch.delenv("DJANGO_STAFF_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("DJANGO_STAFF_PASSWORD", password)
    out = StringIO()
    call_command("staff_account", *args, stdout=out)
    return out.getvalue().strip()


def staff(username: str):
    return get_user_model().objects.get(username=username)


def test_create_makes_a_support_account_in_the_support_group(monkeypatch):
    output = run(monkeypatch, "create", "ana", "--email", "ana@support.example.com")

    assert output == "staff account ana (support staff): created"
    user = staff("ana")
    assert (user.is_staff, user.is_superuser, user.is_active, user.email) == (
        True,
        False,
        True,
        "ana@support.example.com",
    )
    assert list(user.groups.values_list("name", flat=True)) == [SUPPORT_GROUP]
    assert user.check_password(STAFF_PASSWORD)
    assert user.has_perm("support.deactivate_account") and not user.has_perm("auth.add_user")


def test_create_with_superuser_makes_one_that_may_do_everything(monkeypatch):
    assert run(monkeypatch, "create", "root", "--superuser") == "staff account root (superuser): created"

    user = staff("root")
    assert user.is_superuser and user.is_staff and user.has_perm("auth.add_user")
    assert not user.groups.exists()


def test_running_it_again_updates_the_account_and_keeps_the_password_unless_given(monkeypatch):
    run(monkeypatch, "create", "ana", "--email", "ana@support.example.com")

    output = run(monkeypatch, "create", "ana", "--email", "ana@new.example.com", password=None)

    assert output == "staff account ana (support staff): updated"
    user = staff("ana")
    assert user.email == "ana@new.example.com" and user.check_password(STAFF_PASSWORD)
    run(monkeypatch, "create", "ana", password="Another-Long-Passphrase-7")
    assert staff("ana").check_password("Another-Long-Passphrase-7")


def test_a_new_account_needs_a_password_that_passes_the_validators(monkeypatch):
    with pytest.raises(CommandError, match="needs a password: set DJANGO_STAFF_PASSWORD"):
        run(monkeypatch, "create", "ana", password=None)
    with pytest.raises(CommandError, match="DJANGO_STAFF_PASSWORD refused: .*too short"):
        run(monkeypatch, "create", "ana", password="short")

    assert not get_user_model().objects.filter(username="ana").exists()


def test_disable_keeps_the_account_but_it_cannot_sign_in(monkeypatch, client):
    run(monkeypatch, "create", "ana")

    assert run(monkeypatch, "disable", "ana") == "staff account ana: disabled"

    assert not staff("ana").is_active
    assert "correct username and password" in sign_in(client, "ana", STAFF_PASSWORD).content.decode()
    with pytest.raises(CommandError, match="no staff account named 'bob'"):
        run(monkeypatch, "disable", "bob")
