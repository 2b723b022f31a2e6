from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.request import Request


class JSONFirstNegotiation(DefaultContentNegotiation):
    """A view with one renderer answers with it, whatever the Accept header.

    DRF's default parses the Accept header on every request to choose among renderers;
    our API views have one (JSON), and an API client sending ``Accept: text/html``
    still wants a JSON error, not 406. Views with several (the schema: YAML or JSON)
    negotiate as usual, by Accept or ``?format=``.
    """

    def select_renderer(self, request: Request, renderers, format_suffix=None):
        # ``?format=`` is looked for only in a query string there is (reading it builds a QueryDict).
        if (
            len(renderers) > 1
            or format_suffix
            or (request.META.get("QUERY_STRING") and request.query_params.get(self.settings.URL_FORMAT_OVERRIDE))
        ):
            return super().select_renderer(request, renderers, format_suffix)
        return renderers[0], renderers[0].media_type

    def select_parser(self, request: Request, parsers: list[BaseParser]) -> BaseParser | None:
        """The first parser when the body's Content-Type is its media type exactly (DRF's choice
        too, found without parsing either); DRF's own matching (parameters, wildcards) otherwise."""
        if parsers and parsers[0].media_type == request.content_type:
            return parsers[0]
        return super().select_parser(request, parsers)
