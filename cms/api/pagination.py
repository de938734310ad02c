"""Page-number pagination that answers malformed paging parameters with a 400."""

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

PAGE_NOT_FOUND = "No such page (past the last one): `detail` is “Invalid page.”"


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100  # larger sizes are a 400, as the schema's maximum says

    def _whole_number(self, request, name: str, maximum: int | None = None) -> None:
        raw = request.query_params.get(name)
        if raw is None:
            return
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError({name: ["Must be a whole number of at least 1."]})
        if maximum is not None and int(raw) > maximum:
            raise ValidationError({name: [f"Must be a whole number from 1 to {maximum}."]})

    def paginate_queryset(self, queryset, request, view=None):
        self._whole_number(request, self.page_query_param)
        self._whole_number(request, self.page_size_query_param, self.max_page_size)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        # Declare the limits the parameters are checked against.
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


def document_page_not_found(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Schema hook: every paginated operation (one with a ``page`` parameter) may answer 404
    for a page past the last, so each documents it with the error body."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            parameters = operation.get("parameters", [])
            if not any(p.get("in") == "query" and p.get("name") == "page" for p in parameters):
                continue
            answer: dict[str, Any] = {"description": PAGE_NOT_FOUND}
            if method != "head":  # a HEAD answer has no body
                answer["content"] = body
            operation.setdefault("responses", {}).setdefault("404", answer)
    return result
