"""The JSON API under /api/v1/ (SPEC §7): routes and the OpenAPI schema. Viewsets and serializers
live beside their apps (`<app>/api.py`, `<app>/serializers.py`)."""
