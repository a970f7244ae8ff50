"""URLs of the service: its API and its OpenAPI document, health and readiness, and the staff admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

from common.health import health_view, ready_view

urlpatterns = [
    # First: every login resolves here (no other path overlaps these).
    path("", include("credentials.urls")),
    path("health", health_view),
    path("ready", ready_view),
    path("admin/", admin.site.urls),
    # The gateway merges each service's document into the public /api/schema/.
    path("api/schema/auth", SpectacularJSONAPIView.as_view(), name="schema"),
]

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
