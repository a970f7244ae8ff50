"""The users service's public paths, under ``/api/`` as the gateway forwards them (no trailing slashes)."""

from django.urls import path

from users.apis import UserPreferencesApi, UserProfileApi, UserRegisterApi

urlpatterns = [
    path("register", UserRegisterApi.as_view(), name="user-register"),
    path("profile", UserProfileApi.as_view(), name="user-profile"),
    path("profile/preferences", UserPreferencesApi.as_view(), name="user-preferences"),
]
