"""Paths of the auth service's API: the public ones as the gateway forwards them, and the internal ones."""

from django.urls import path

from credentials.apis import (
    CredentialLoginApi,
    InternalCredentialCreateApi,
    InternalCredentialDeleteApi,
    InternalCredentialSessionsEndApi,
    InternalCredentialStateApi,
    InternalCredentialUnlockApi,
    PasswordChangeApi,
    SessionLogoutApi,
    SigningKeySetApi,
    TokenRefreshApi,
)

urlpatterns = [
    path("api/login", CredentialLoginApi.as_view(), name="login"),
    path("api/token/refresh", TokenRefreshApi.as_view(), name="token-refresh"),
    path("api/logout", SessionLogoutApi.as_view(), name="logout"),
    path("api/change-password", PasswordChangeApi.as_view(), name="change-password"),
    path("api/.well-known/jwks.json", SigningKeySetApi.as_view(), name="jwks"),
    path("internal/credentials", InternalCredentialCreateApi.as_view(), name="internal-credential-create"),
    path(
        "internal/credentials/<int:user_id>",
        InternalCredentialDeleteApi.as_view(),
        name="internal-credential-delete",
    ),
    path(
        "internal/credentials/<int:user_id>/state",
        InternalCredentialStateApi.as_view(),
        name="internal-credential-state",
    ),
    path(
        "internal/credentials/<int:user_id>/unlock",
        InternalCredentialUnlockApi.as_view(),
        name="internal-credential-unlock",
    ),
    path(
        "internal/credentials/<int:user_id>/end-sessions",
        InternalCredentialSessionsEndApi.as_view(),
        name="internal-credential-end-sessions",
    ),
]
