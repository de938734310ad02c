"""Page-number pagination that answers malformed paging parameters with a 400."""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100  # larger requests are capped, not refused

    def _positive_int(self, request, name: str) -> None:
        raw = request.query_params.get(name)
        if raw is None:
            return
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({name: ["Must be a whole number of at least 1."]})

    def paginate_queryset(self, queryset, request, view=None):
        self._positive_int(request, self.page_query_param)
        self._positive_int(request, self.page_size_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        # Declare the limits the parameters are checked against (larger sizes are capped).
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters
