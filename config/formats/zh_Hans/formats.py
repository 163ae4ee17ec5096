"""Simplified Chinese number grouping as Chinese banks print figures: 3,438 and 1,671.93.

Django's zh_Hans locale sets no thousands separator, so a grouped figure read "3438" on a Chinese page while the
same figure read "3,438" in the workbook (Excel on a zh-CN system groups by three with a comma, as CLDR's zh
does). The other formats (dates, input formats) stay Django's.
"""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
