"""The staff admin's middleware, run for every path but the services' API.

The admin needs its sessions, CSRF, the signed-in staff member, messages and
framing (in the users service also its static files, the second factor and the
lockout). The API's views use none of them: the end user comes from the
gateway's assertion, a peer service is its signed caller, and neither carries
the admin's cookies. Run on every forwarded API request, that middleware costs
more Python calls than the view's own work (~180 of ~2,000 per ``GET
/api/profile`` in the users service).

``StaffAdminMiddleware`` holds it as a chain of its own, built as Django builds
its own (``BaseHandler.load_middleware``, synchronous only) from
``STAFF_ADMIN_MIDDLEWARE``, and sends through it every request outside
``STAFF_ADMIN_SKIPPED_PATHS``. An API answer goes straight to the view and gets
what the chain would have added to it: ``X-Frame-Options`` and
``Content-Length``, by those middleware's own ``process_response``, in the
chain's order (each service's ``config/tests/test_staff_admin.py`` holds every
API answer equal to the full list's). Their ``process_view`` /
``process_exception`` / ``process_template_response`` hooks run as Django would
run them, for the chain's paths only (this middleware is the last of
``MIDDLEWARE``, and has those hooks only when one of the chain has them).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.checks.security import base as security_base
from django.core.checks.security import csrf as security_csrf
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.utils.module_loading import import_string


class StaffAdminMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        self.skipped_paths = tuple(settings.STAFF_ADMIN_SKIPPED_PATHS)
        self._view_hooks, self._template_response_hooks, self._exception_hooks = [], [], []
        handler = get_response  # Django's, already converting exceptions to responses
        for path in reversed(settings.STAFF_ADMIN_MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_hooks.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_hooks.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_hooks.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self.chain = handler
        # Django calls the hooks a middleware has: this one has those of the chain (CSRF's process_view).
        if self._view_hooks:
            self.process_view = self._process_view
        if self._exception_hooks:
            self.process_exception = self._process_exception
        if self._template_response_hooks:
            self.process_template_response = self._process_template_response
        # What the chain adds to an API answer, innermost first as the chain adds it.
        self._api_response_hooks = [
            XFrameOptionsMiddleware(get_response).process_response,
            CommonMiddleware(get_response).process_response,
        ]

    def _skips(self, request) -> bool:
        return request.path_info.startswith(self.skipped_paths)

    def __call__(self, request):
        if not self._skips(request):
            return self.chain(request)
        response = self.get_response(request)
        for hook in self._api_response_hooks:
            response = hook(request, response)
        return response

    def _process_view(self, request, view_func, view_args, view_kwargs):
        if self._skips(request):
            return None
        for hook in self._view_hooks:
            response = hook(request, view_func, view_args, view_kwargs)
            if response is not None:
                return response
        return None

    def _process_exception(self, request, exception):
        if self._skips(request):
            return None
        for hook in self._exception_hooks:
            response = hook(request, exception)
            if response is not None:
                return response
        return None

    def _process_template_response(self, request, response):
        if self._skips(request):
            return response
        for hook in self._template_response_hooks:
            response = hook(request, response)
        return response


# What Django's (and, where it is installed, django-axes') checks look for in MIDDLEWARE, the app whose check it
# is, and the check each would raise: silenced (common.settings.service.SILENCED_SYSTEM_CHECKS), since these are
# in STAFF_ADMIN_MIDDLEWARE, and checked there instead by ``staff_admin_middleware_check``.
STAFF_ADMIN_REQUIRED_MIDDLEWARE = {
    "django.contrib.sessions.middleware.SessionMiddleware": ("django.contrib.admin", "admin.E410"),
    "django.contrib.auth.middleware.AuthenticationMiddleware": ("django.contrib.admin", "admin.E408"),
    "django.contrib.messages.middleware.MessageMiddleware": ("django.contrib.admin", "admin.E409"),
    "django.middleware.csrf.CsrfViewMiddleware": ("django.contrib.admin", "security.W003"),
    "django.middleware.clickjacking.XFrameOptionsMiddleware": ("django.contrib.admin", "security.W002"),
    "axes.middleware.AxesMiddleware": ("axes", "axes.W002"),
}
STAFF_ADMIN_PATHS = ("/admin/", "/admin")
STAFF_ADMIN_MIDDLEWARE_PATH = f"{__name__}.StaffAdminMiddleware"


def _middleware_in_effect() -> set[str]:
    in_effect = set(settings.MIDDLEWARE)
    if STAFF_ADMIN_MIDDLEWARE_PATH in settings.MIDDLEWARE:
        in_effect |= set(settings.STAFF_ADMIN_MIDDLEWARE)
    return in_effect


def staff_admin_middleware_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The admin's middleware in effect for the admin's paths and static files, wherever it is listed."""
    in_effect = _middleware_in_effect()
    errors = [
        checks.Error(
            f"{path} must be in MIDDLEWARE, or in STAFF_ADMIN_MIDDLEWARE with {STAFF_ADMIN_MIDDLEWARE_PATH} in "
            f"MIDDLEWARE (the check {check_id}, silenced, looks in MIDDLEWARE only).",
            id="staff_admin.E001",
        )
        for path, (app, check_id) in STAFF_ADMIN_REQUIRED_MIDDLEWARE.items()
        if apps.is_installed(app) and path not in in_effect
    ]
    for prefix in getattr(settings, "STAFF_ADMIN_SKIPPED_PATHS", ()):
        if any(path.startswith(prefix) for path in (*STAFF_ADMIN_PATHS, settings.STATIC_URL)):
            errors.append(
                checks.Error(
                    f"STAFF_ADMIN_SKIPPED_PATHS: {prefix!r} would skip the staff admin's middleware for the admin "
                    "or its static files.",
                    id="staff_admin.E002",
                )
            )
    return errors


def staff_admin_deploy_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Django's deploy checks of the CSRF cookie and of framing, which run only for a middleware in MIDDLEWARE.

    The same warnings (``security.W016``, ``security.W019``), raised for the middleware in effect.
    """
    in_effect = _middleware_in_effect()
    warnings = []
    if (
        "django.middleware.csrf.CsrfViewMiddleware" in in_effect
        and "django.middleware.csrf.CsrfViewMiddleware" not in settings.MIDDLEWARE
        and not (settings.CSRF_USE_SESSIONS or settings.CSRF_COOKIE_SECURE)
    ):
        warnings.append(security_csrf.W016)
    if (
        "django.middleware.clickjacking.XFrameOptionsMiddleware" in in_effect
        and "django.middleware.clickjacking.XFrameOptionsMiddleware" not in settings.MIDDLEWARE
        and settings.X_FRAME_OPTIONS != "DENY"
    ):
        warnings.append(security_base.W019)
    return warnings


def staff_admin_checks_register() -> None:
    """Both checks above, in a project with the admin (``common.apps``)."""
    checks.register(staff_admin_middleware_check, checks.Tags.admin, checks.Tags.security)
    checks.register(staff_admin_deploy_check, checks.Tags.security, deploy=True)
