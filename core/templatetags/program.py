"""The program's look in admin: its accent colour (``PROGRAM_ACCENT_COLOR``) on the header."""

from django import template
from django.conf import settings
from django.utils.html import format_html

register = template.Library()

DARK_INK, LIGHT_INK = "#1f2937", "#ffffff"


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a hex colour (#rgb or #rrggbb)."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = [int(digits[index : index + 2], 16) / 255 for index in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def ink_on(colour: str) -> str:
    """The text colour that reads best on ``colour``: white, or near-black on a light accent."""
    background = _luminance(colour)
    dark = _contrast(background, _luminance(DARK_INK))
    return DARK_INK if dark > _contrast(background, _luminance(LIGHT_INK)) else LIGHT_INK


@register.simple_tag
def program_accent_style() -> str:
    """Admin's header (and its section headings, which share the header's colours) in the
    program's accent, for the light and the dark theme alike. The settings check the colour is
    a hex colour, so it is safe in a style sheet."""
    accent = settings.PROGRAM_ACCENT_COLOR
    ink = ink_on(accent)
    return format_html(
        "<style>html[data-theme], :root {{ --header-bg: {}; --header-color: {}; "
        "--header-branding-color: {}; --header-link-color: {}; }} "
        # Django colours the site's name with its own yellow, whatever the header's colour.
        "#site-name a:link, #site-name a:visited {{ color: var(--header-branding-color); }}</style>",
        accent,
        ink,
        ink,
        ink,
    )
