"""Template filters for partnerships.formatting: ``{% load scorecard_format %}``, then ``{{ score.total|total }}``.

Templates show figures only through these filters (never ``floatformat``), so a page, a mail and an export
write the same figure the same way.
"""

from django import template

from .. import formatting

register = template.Library()

register.filter("total", formatting.fmt_total)
register.filter("delta", formatting.fmt_delta)
register.filter("rating", formatting.fmt_rating)
register.filter("hhi", formatting.fmt_hhi)
register.filter("count", formatting.fmt_count)
register.filter("figure", formatting.fmt_figure)
register.filter("yes_no", formatting.fmt_bool)
register.filter("instant", formatting.fmt_instant)
register.filter("local_date", formatting.fmt_date)


@register.filter
def percent(value, arg=""):
    """``{{ share|percent }}`` for 0–100, ``{{ attainment|percent:"fraction" }}`` for 0–1."""
    return formatting.fmt_percent(value, fraction=arg == "fraction")


@register.filter
def metric(value, unit):
    """``{{ m.value|metric:m.unit }}``: the figure with its unit."""
    return formatting.fmt_metric(value, unit)
