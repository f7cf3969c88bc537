"""Recency marks: what is older than 6, 12 or 24 months on the day the summary is made.

A review abroad needs recent data (receiving hospitals ask for results of the last 6 to 12
months), so every dated item says how old it is relative to `today`, a parameter so that the
same Bundle and the same day always give the same summary.
"""
from __future__ import annotations

import calendar
import os
from datetime import date, datetime, timezone

THRESHOLDS = (24, 12, 6)  # months, oldest first: the first one passed is the mark


def today_utc() -> date:
    """The day the summary is made: SOURCE_DATE_EPOCH when set (reproducible builds), else today in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), timezone.utc).date()
        except (ValueError, OverflowError, OSError):
            pass
    return datetime.now(timezone.utc).date()


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier (clamped to the month's last day)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def latest_day(value: str | None) -> date | None:
    """The last day an ISO date of any precision can mean ("2015" -> 2015-12-31), or None.

    A partial date is given the benefit of the doubt, so an item is never marked older than it
    can be.
    """
    if not value or len(value) < 4 or not value[:4].isdigit():
        return None
    try:
        year = int(value[:4])
        if len(value) >= 7 and value[5:7].isdigit():
            month = int(value[5:7])
            if len(value) >= 10 and value[8:10].isdigit():
                return date(year, month, int(value[8:10]))
            return date(year, month, calendar.monthrange(year, month)[1])
        return date(year, 12, 31)
    except ValueError:
        return None


def mark(value: str | None, today: date) -> int | None:
    """24, 12 or 6 when the date is older than that many months before `today`, else None."""
    day = latest_day(value)
    if day is None:
        return None
    for months in THRESHOLDS:
        if day < months_before(today, months):
            return months
    return None
