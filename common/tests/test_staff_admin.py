"""The staff admin's checks (common.staff_admin) in a project with Django's admin and without django-axes."""

import pytest
from django.core import checks
from django.test import override_settings

from common.staff_admin import staff_admin_deploy_check, staff_admin_middleware_check


def test_the_checks_are_registered_in_a_project_with_the_admin():
    registered = checks.registry.registry.get_checks(include_deployment_checks=True)
    assert staff_admin_middleware_check in registered
    assert staff_admin_deploy_check in registered


def test_the_lockout_middleware_is_asked_for_only_where_axes_is_installed(settings):
    assert "axes" not in str(settings.INSTALLED_APPS)
    assert staff_admin_middleware_check() == []


def test_a_middleware_missing_from_the_chain_is_named():
    with override_settings(STAFF_ADMIN_MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"]):
        errors = staff_admin_middleware_check()
    named = {error.msg.split()[0] for error in errors}
    assert {error.id for error in errors} == {"staff_admin.E001"}
    assert named == {
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    }


def test_deploy_asks_for_a_secure_csrf_cookie_and_deny_framing_in_the_chain():
    with override_settings(CSRF_COOKIE_SECURE=True, X_FRAME_OPTIONS="DENY"):
        assert staff_admin_deploy_check() == []
    with override_settings(CSRF_COOKIE_SECURE=False, X_FRAME_OPTIONS="SAMEORIGIN"):
        assert {warning.id for warning in staff_admin_deploy_check()} == {"security.W016", "security.W019"}


@pytest.mark.parametrize("setting", [{"CSRF_COOKIE_SECURE": False}, {"X_FRAME_OPTIONS": "SAMEORIGIN"}])
def test_deploy_leaves_middleware_listed_in_middleware_to_djangos_own_checks(settings, setting):
    every = [name for name in settings.MIDDLEWARE if "staff_admin" not in name] + settings.STAFF_ADMIN_MIDDLEWARE
    with override_settings(MIDDLEWARE=every, **setting):
        assert staff_admin_deploy_check() == []
