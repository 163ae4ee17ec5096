"""List pagination: numbered pages by default; a cursor on request, for large lists and stable scrolling.

``?page=N&page_size=M`` (up to 200) answers ``{count, next, previous, results}``. ``?pagination=cursor`` (or any
``?cursor=…`` from a previous answer) switches to cursor pagination: ``{next, previous, results}`` with no
``COUNT(*)`` and no drift when rows are added while paging. A page or cursor that does not exist is a 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination, CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 200
MODES = ("page", "cursor")


class StrictPageSizeMixin:
    """``page_size`` as the schema states it (an integer from 1 to 200), or a 400 naming the parameter.

    DRF quietly clamps 201 to 200 and ignores 0 or "x"; a client would then get pages of a size it did not ask
    for, and the server would accept what the schema refuses.
    """

    page_size_query_param = "page_size"
    page_size_query_description = _("Number of results per page (at most 200).")
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("Give a whole number from 1 to %(max)s.") % {"max": self.max_page_size}
                    ]
                }
            )
        return size


class PageNumberPaging(StrictPageSizeMixin, PageNumberPagination):
    pass


class CursorPaging(StrictPageSizeMixin, CursorPagination):
    ordering = ("-id",)

    def get_ordering(self, request, queryset, view):
        # The view decides (its ordering filter for lists, a fixed order for nested lists such as score history).
        hook = getattr(view, "get_cursor_ordering", None)
        if hook is not None:
            return tuple(hook(request, queryset))
        return tuple(self.ordering)

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get(self.cursor_query_param) is None:
            return super().paginate_queryset(queryset, request, view)
        # A forged cursor can carry a position the database refuses (a date that is no date, a number beyond
        # the column's range): inside a savepoint that is an invalid cursor, not a broken transaction.
        try:
            with transaction.atomic():
                return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError, DatabaseError):
            raise NotFound(self.invalid_cursor_message) from None


class ApiPagination(BasePagination):
    """Numbered pages, or a cursor when asked for: one paginator class for every list of the API."""

    mode_query_param = "pagination"

    def __init__(self) -> None:
        self.impl: BasePagination | None = None

    def _choose(self, request) -> BasePagination:
        mode = request.query_params.get(self.mode_query_param)
        if mode is not None and mode not in MODES:  # "" too: the schema's enum has no empty value
            raise ValidationError({self.mode_query_param: [_("Choose “page” or “cursor”.")]})
        if mode == "cursor" or (not mode and CursorPaging.cursor_query_param in request.query_params):
            return CursorPaging()
        return PageNumberPaging()

    def paginate_queryset(self, queryset, request, view=None):
        self.impl = self._choose(request)
        return self.impl.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.impl.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": str(_("Total number of results (numbered pages only).")),
                    "example": 123,
                },
                # JSON Schema's null type: the schema is OpenAPI 3.1 (SPECTACULAR_SETTINGS["OAS_VERSION"]).
                "next": {"type": ["string", "null"], "format": "uri"},
                "previous": {"type": ["string", "null"], "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.mode_query_param,
                "required": False,
                "in": "query",
                "description": str(
                    _(
                        "“page” (default): numbered pages with a total count. “cursor”: opaque cursors in "
                        "next/previous, no count; faster and stable on large lists."
                    )
                ),
                "schema": {"type": "string", "enum": list(MODES)},
            },
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": str(_("Page number (numbered pages).")),
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": CursorPaging.cursor_query_param,
                "required": False,
                "in": "query",
                "description": str(_("Cursor from a previous answer's next/previous link.")),
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": str(_("Number of results per page (at most 200).")),
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]

    # The browsable API reads these to draw its page controls.
    @property
    def display_page_controls(self) -> bool:
        return bool(getattr(self.impl, "display_page_controls", False))

    def to_html(self):
        return self.impl.to_html() if self.impl is not None else ""

    def get_results(self, data):
        return data["results"]
