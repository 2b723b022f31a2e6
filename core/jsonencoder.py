"""The JSON encoder of what the project stores as JSON text (events, exports): Django's, which
writes datetimes as ISO 8601 (to the millisecond, UTC as "Z"), dates, times, UUIDs and
Decimals. Services import it from here, beside the other plain pieces they share."""

from django.core.serializers.json import DjangoJSONEncoder as JSONEncoder

__all__ = ["JSONEncoder"]
