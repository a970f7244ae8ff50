"""URLs of the service: its API and that API's OpenAPI schema, health and readiness, and the staff admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView

from common.health import health_view, ready_view

urlpatterns = [
    path("api/", include("users.urls")),
    path("api/schema/users", SpectacularJSONAPIView.as_view(), name="schema"),
    path("health", health_view),
    path("ready", ready_view),
    path("admin/", admin.site.urls),
    # Legacy paths have no trailing slash (APPEND_SLASH is off); staff typing /admin land on the admin anyway.
    path("admin", RedirectView.as_view(url="/admin/")),
]

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
