"""Recency marks: older than 6, 12 or 24 months, counted in calendar months from a given day."""
from __future__ import annotations

from datetime import date

import pytest

from converter.summary.recency import latest_day, mark, months_before, today_utc

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize("value,expected", [
    ("2025-06-01", None),
    ("2024-12-15", None),                  # exactly 6 months: not older
    ("2024-12-14", 6),
    ("2024-06-15T23:59:00+14:00", 6),      # exactly 12 months by its own date: no zone conversion
    ("2024-06-14", 12),
    ("2023-06-14", 24),
    ("1995-07-01", 24),
    ("2024-12", None),                     # a month means its last day: 2024-12-31
    ("2024-11", 6),
    ("2023", 12),                          # a year means 2023-12-31
    ("", None),
    ("not a date", None),
])
def test_marks(value, expected):
    assert mark(value, TODAY) == expected


def test_months_before_clamps_to_the_end_of_shorter_months():
    assert months_before(date(2025, 3, 31), 1) == date(2025, 2, 28)
    assert months_before(date(2024, 8, 31), 6) == date(2024, 2, 29)
    assert months_before(date(2025, 1, 15), 24) == date(2023, 1, 15)


def test_latest_day_of_partial_dates():
    assert latest_day("2024-02") == date(2024, 2, 29)
    assert latest_day("2023") == date(2023, 12, 31)
    assert latest_day("2024-13-01") is None


def test_today_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    assert today_utc() == date(2023, 11, 14)
