"""The gateway's URLs: its own endpoints (health, the API document and its page), then the proxy for everything else."""

from django.urls import path, re_path

from common.health import health_view, ready_view
from gateway import views

urlpatterns = [
    path("health", health_view),
    path("ready", ready_view),
    path("api/health", views.api_health),
    re_path(r"^api/schema/?$", views.api_schema),
    re_path(r"^api/docs/?$", views.api_docs),
    path("api/docs/<str:name>", views.api_docs_asset),
    re_path(r"^(?P<path>.*)$", views.proxy_view),
]

handler400 = "common.errors.bad_request"
handler403 = "common.errors.permission_denied"
handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
