"""The OpenAPI description of /api/v1/: error bodies every endpoint can answer with, the
token security scheme, strict limit/offset paging, and the schema and docs views.

Endpoints document their refusals with `error_responses`:

    @extend_schema(responses={200: ItemSerializer, **error_responses(400, 401, 403, 429)})

so that the schema lists every status a client can really get, which the schemathesis
test (tests/api/test_schema.py) holds the API to.
"""

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from core.roles import ANY_ROLE

# --- Error bodies ------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """A refusal that is not about the input: `{"detail": "..."}`."""

    detail = serializers.CharField(help_text=_("Why the call was refused, in plain words."))


class ValidationErrorSerializer(serializers.Serializer):
    """Invalid input: one list of messages per parameter or field.

    Its schema comes from `ValidationErrorSchema` below: DRF's validation errors are a
    mapping whose keys are the caller's parameter names, which fields cannot describe.
    """


class ValidationErrorSchema(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {
            "type": "object",
            "description": str(
                _(
                    "One list of messages per invalid parameter or field, keyed by its name "
                    "(`non_field_errors` for input that is wrong as a whole). A request "
                    "that cannot be read at all gets `detail` instead."
                )
            ),
            "properties": {"detail": {"type": "string"}},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "example": {"status": ['Select a valid choice. "archived" is not one of the choices.']},
        }


ERROR_DESCRIPTIONS = {
    400: (
        ValidationErrorSerializer,
        _("Invalid parameters or input; every invalid parameter is named with its messages."),
    ),
    401: (
        ErrorSerializer,
        _(
            "No credentials, or a token that is wrong, revoked or belongs to a deactivated "
            "user. The `WWW-Authenticate: Token` header names the scheme to use."
        ),
    ),
    403: (ErrorSerializer, _("Signed in, but without a role this endpoint admits.")),
    404: (ErrorSerializer, _("Nothing with this identifier.")),
    405: (ErrorSerializer, _("The endpoint does not accept this method.")),
    409: (ErrorSerializer, _("Someone changed the object since you read it.")),
    429: (
        ErrorSerializer,
        _(
            "Too many calls with this token (QUARTERDECK_API_RATE); the `Retry-After` header "
            "says how many seconds to wait."
        ),
    ),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries for the given error status codes."""
    unknown = set(codes) - ERROR_DESCRIPTIONS.keys()
    if unknown:
        raise ValueError(f"No error body is described for status {sorted(unknown)}.")
    return {
        code: OpenApiResponse(
            response=ERROR_DESCRIPTIONS[code][0], description=ERROR_DESCRIPTIONS[code][1]
        )
        for code in codes
    }


# --- Parameters --------------------------------------------------------------------------


class TextParameterSchema(OpenApiSerializerFieldExtension):
    """A `core.api.TextParameter` is described by the schema it carries (a pattern, a
    format, choices): the rules it is read by, which a CharField alone cannot state."""

    target_class = "core.api.TextParameter"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return dict(self.target.openapi_schema)


# --- Authentication ----------------------------------------------------------------------


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <key>` (core.tokens.TokenAuthentication)."""

    target_class = "core.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": str(
                _(
                    "An API token: send `Authorization: Token <key>`. In the docs page, "
                    "enter `Token <key>`, with the word Token."
                )
            ),
        }


# --- Paging ------------------------------------------------------------------------------

# Longer numbers than this are refused rather than converted: Python will not read an
# integer of more than 4,300 digits, and no list is that long.
MAX_OFFSET = 10**18 - 1
_DIGITS = re.compile(r"[0-9]{1,18}")


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset paging, refusing (400) what DRF would silently replace by a
    default: a limit that is not a whole number from 1 to `max_limit`, or an offset that
    is not a whole number from 0. A script asking for 1000 rows then learns it got fewer
    because it asked for too many, not because there are no more."""

    default_limit = 100
    max_limit = 500

    def get_limit(self, request: Request) -> int:
        return self._whole_number(request, self.limit_query_param, self.default_limit, 1)

    def get_offset(self, request: Request) -> int:
        return self._whole_number(request, self.offset_query_param, 0, 0)

    def _whole_number(self, request: Request, name: str, default: int, minimum: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        maximum = self.max_limit if name == self.limit_query_param else MAX_OFFSET
        if _DIGITS.fullmatch(raw) and minimum <= int(raw) <= maximum:
            return int(raw)
        message = _("Give a whole number from %(minimum)s to %(maximum)s.") % {
            "minimum": minimum,
            "maximum": maximum,
        }
        raise ValidationError({name: [message]})

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(
                    minimum=1, maximum=self.max_limit, default=self.default_limit
                )
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0, maximum=MAX_OFFSET, default=0)
        return parameters


class StrictCursorPagination(CursorPagination):
    """DRF's cursor paging, refusing (400, naming the parameter) what DRF would replace by
    a default or answer with a bare 404: a `page_size` that is not a whole number from 1
    to `max_page_size`, or a cursor that was not given by `next` or `previous`."""

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        assert self.page_size is not None, "set page_size on the subclass"  # noqa: S101
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        maximum = self.max_page_size or self.page_size
        if _DIGITS.fullmatch(raw) and 1 <= int(raw) <= maximum:
            return int(raw)
        message = _("Give a whole number from %(minimum)s to %(maximum)s.") % {
            "minimum": 1,
            "maximum": maximum,
        }
        raise ValidationError({self.page_size_query_param: [message]})

    def decode_cursor(self, request: Request) -> Any:
        message = _("Not a cursor of this list: follow `next` or `previous` as given.")
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: [message]}) from None
        # A position is an id (every cursor-paged list is ordered by id): one that is not
        # a small whole number was never given, and would fail in the query (a 500).
        position = None if cursor is None else cursor.position
        if position is not None and not _DIGITS.fullmatch(str(position)):
            raise ValidationError({self.cursor_query_param: [message]})
        return cursor


# --- Schema and docs views ---------------------------------------------------------------


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema (YAML; `?format=json` for JSON). Any Quarterdeck role."""

    allowed_roles = ANY_ROLE


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI. Its page carries no inline script: the UI comes from the static files of
    drf-spectacular-sidecar and its start-up script from this view (`?script`), which the
    Content-Security-Policy (scripts from 'self' only) allows."""

    allowed_roles = ANY_ROLE
    url_name = "api-schema"
