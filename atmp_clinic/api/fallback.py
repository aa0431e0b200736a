"""The answer of an /api/v1/ URL that matches no route: the API's JSON 404, after the API's own
authentication (401 without credentials), rather than Django's HTML page for a browser."""

from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView


class NoSuchRoute(APIView):
    schema = None  # not an operation of the published contract

    def handle(self, request: Request, *args, **kwargs):
        raise NotFound

    get = post = put = patch = delete = handle
