from django.db import OperationalError
from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from common.errors import ApiError
from common.health import health_view, ready_view


@api_view(["POST"])
def echo(request):
    return Response({"received": request.data})


@api_view(["GET"])
def refuse(request):
    raise ApiError("User already exists")


@api_view(["GET"])
def crash(request):
    raise RuntimeError("secret internals")


@api_view(["GET"])
def database_gone(request):
    raise OperationalError("server closed the connection unexpectedly")


class SignupSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(min_length=8)


@api_view(["POST"])
def signup(request):
    SignupSerializer(data=request.data).is_valid(raise_exception=True)
    return Response({"ok": True})


urlpatterns = [
    path("signup", signup),
    path("health", health_view),
    path("ready", ready_view),
    path("echo", echo),
    path("refuse", refuse),
    path("crash", crash),
    path("database-gone", database_gone),
]

handler404 = "common.errors.page_not_found"
handler500 = "common.errors.server_error"
