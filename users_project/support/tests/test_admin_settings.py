"""The users service's production settings for the staff admin behind the gateway, loaded for real in a child process."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
READ_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "session_cookie": [s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_PATH, s.SESSION_COOKIE_AGE],
    "csrf_cookie": [s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_PATH],
    "csrf_trusted_origins": s.CSRF_TRUSTED_ORIGINS,
    "proxy_ssl_header": s.SECURE_PROXY_SSL_HEADER,
    "use_x_forwarded_host": s.USE_X_FORWARDED_HOST,
    "whitenoise": s.STAFF_ADMIN_MIDDLEWARE[0] == "whitenoise.middleware.WhiteNoiseMiddleware"
        and s.MIDDLEWARE[s.MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1]
        == "common.staff_admin.StaffAdminMiddleware",
    "static_root": str(s.STATIC_ROOT),
    "static_storage": s.STORAGES["staticfiles"]["BACKEND"],
    "use_finders": getattr(s, "WHITENOISE_USE_FINDERS", False),
    "staff_otp_required": s.STAFF_OTP_REQUIRED,
    "first_hasher": s.PASSWORD_HASHERS[0],
    "lockout": [s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_LOCKOUT_PARAMETERS],
}))
"""


def test_production_serves_the_admin_through_the_gateway_with_secure_cookies_collected_files_and_two_factor(tmp_path):
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        VAR_DIR=str(tmp_path),
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="users",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://accounts.example.com",
        INTERNAL_AUTH_USERS_KEY="u" * 48,
        INTERNAL_AUTH_GATEWAY_KEY="g" * 48,
        USERS_DB_DEFAULT_URL="postgres://postgres@127.0.0.1:5432/users_default",
        USERS_DB_USERS_URL="postgres://postgres@127.0.0.1:5432/users",
        REDIS_URL="redis://127.0.0.1:1/0",
        AUTH_SERVICE_URL="http://auth:8000",
    )

    result = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "session_cookie": [True, True, "/admin/", 8 * 3600],
        "csrf_cookie": [True, "/admin/"],
        "csrf_trusted_origins": ["https://accounts.example.com"],
        "proxy_ssl_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "use_x_forwarded_host": False,
        "whitenoise": True,
        "static_root": str(PROJECT_DIR / "staticfiles"),
        "static_storage": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "use_finders": False,
        "staff_otp_required": True,
        "first_hasher": "common.hashers.Argon2idPasswordHasher",
        "lockout": [5, 900.0, ["ip_address", "username"]],
    }
