"""The admin's static files, served by whitenoise in this service (the gateway routes /static/ here)."""

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db(databases="__all__")


def test_local_and_test_settings_serve_the_apps_files_without_collecting_them():
    response = Client().get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def test_production_serves_the_collected_hashed_files_for_a_year(tmp_path):
    production = {
        "STATIC_ROOT": tmp_path,
        "WHITENOISE_USE_FINDERS": False,
        "STORAGES": {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
    }
    with override_settings(**production):
        call_command("collectstatic", "--noinput", verbosity=0)
        url = static("admin/css/base.css")
        response = Client().get(url, headers={"Accept-Encoding": "gzip"})

    assert url.startswith("/static/admin/css/base.") and url != "/static/admin/css/base.css"
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response["Cache-Control"]
