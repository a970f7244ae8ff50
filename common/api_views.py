"""The services' DRF API view: the usual ``Accept`` answered without parsing it, and no authentication run.

Every request to a service's API comes from the gateway or a peer service, vouched for by
``common.internal_auth.InternalAuthMiddleware`` (``request.end_user``, ``request.internal_claims``):
DRF's negotiation and authentication, run for each of them, cost a forwarded request more
Python calls than some views' own work.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.views import APIView


class UsualAcceptNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, answering the usual requests without parsing their ``Accept``.

    With one renderer, no format asked for (no suffix, no query string) and an
    ``Accept`` of ``USUAL_ACCEPTS`` (or none), DRF's answer is that renderer and
    its own media type (a test holds them equal); any other request is DRF's to
    negotiate, ``406`` included.
    """

    USUAL_ACCEPTS = frozenset({"*/*", "application/json", "application/json, text/plain, */*"})

    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request._request.META
        if (
            format_suffix is None
            and len(renderers) == 1
            and not meta.get("QUERY_STRING")
            and meta.get("HTTP_ACCEPT", "*/*") in self.USUAL_ACCEPTS
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class ServiceApiView(APIView):
    """A service's API view: the request's ``Accept`` negotiated as above; no DRF authentication.

    The end user is the gateway's word (``request.end_user``), the caller the
    assertion's (``request.internal_claims``): DRF's authentication has no class
    to run (``DEFAULT_AUTHENTICATION_CLASSES`` is empty), so it is left lazy as
    DRF allows, not run for every request.
    """

    content_negotiation_class = UsualAcceptNegotiation

    def perform_authentication(self, request):
        pass
