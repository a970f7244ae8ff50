"""The services' DRF API view (common.api_views): its negotiation is DRF's, its views run no authentication."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from common.api_views import ServiceApiView, UsualAcceptNegotiation


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/json, text/plain, */*", "application/json; indent=4", "text/html",
     "", "application/*", "*/*;q=0.8, application/json"],
)
@pytest.mark.parametrize("query", ["", "format=json", "format=api"])
def test_the_usual_accepts_negotiate_as_drf_does(accept, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/profile" + (f"?{query}" if query else ""), **headers))

    def select(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, [JSONRenderer()])
        except Exception as exc:  # noqa: BLE001  (the refusals must be the same too)
            return type(exc).__name__
        return type(renderer), media_type

    assert select(UsualAcceptNegotiation()) == select(DefaultContentNegotiation())


def test_a_view_runs_no_authentication_until_asked(monkeypatch):
    class Echo(ServiceApiView):
        def get(self, request):
            return Response({"ok": True})

    monkeypatch.setattr("rest_framework.request.Request._authenticate", lambda self: pytest.fail("authenticated"))

    response = Echo.as_view()(APIRequestFactory().get("/api/echo"))

    assert response.status_code == 200
