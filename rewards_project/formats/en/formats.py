"""English formats as Django's, with the time zone named wherever a time is shown (admin
lists and pages): staff in any zone read "Dec. 1, 2026, 1:01 a.m. UTC", never a bare time."""

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
TIME_FORMAT = "P T"
