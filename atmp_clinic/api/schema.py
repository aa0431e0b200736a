"""The OpenAPI schema's view class (settings.REST_FRAMEWORK): drf-spectacular's, plus the answers
every operation of this API may give whatever its own declarations say, so that the schema lists
each status a client meets (SPEC §7; checked by tests/api/test_schemathesis.py)."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

ERROR_BODY = {
    "application/json": {
        "schema": {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    }
}
EVERY_OPERATION = {
    "401": {
        "description": "No credentials, or a token that is unknown, revoked or expired.",
        "content": ERROR_BODY,
    },
    "404": {
        "description": "The object, the page or the operation is not the caller's to see: never 403 (SPEC §7).",
        "content": ERROR_BODY,
    },
    "429": {
        "description": "Too many requests: the `Retry-After` header says after how many seconds to try again.",
        "content": ERROR_BODY,
    },
}
BAD_INPUT = {"400": {"description": "The input is invalid: messages by field or under `non_field_errors`."}}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args, **kwargs) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        takes_input = "requestBody" in operation or any(
            parameter["in"] == "query" for parameter in operation.get("parameters", [])
        )
        # What an operation declares itself wins: these only fill the gaps.
        operation["responses"] = {
            **EVERY_OPERATION,
            **(BAD_INPUT if takes_input else {}),
            **operation["responses"],
        }
        return operation
