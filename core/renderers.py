"""CSV for the reports (``?format=csv``): a view puts its table under ``csv``, a list of rows
whose first is the header. Anything else (an error) is answered as JSON, as every error is."""

import csv
import io
import json
from typing import Any

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, dict) and "csv" in data:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(data["csv"])
            return out.getvalue().encode()
        response = (renderer_context or {}).get("response")
        if response is not None:  # DRF set the header before rendering: this one wins
            response["Content-Type"] = "application/json"
        return json.dumps(data, default=str).encode()
