"""What a developer's machine and ``make run`` share across projects: embedded defaults, nothing secret."""

from common.env import env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-not-a-secret")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
