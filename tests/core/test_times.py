"""The window of moments imported data may hold (core.times)."""

import datetime

from core.times import EARLIEST, data_window

UTC = datetime.UTC
NOW = datetime.datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def test_the_window_runs_from_2015_to_two_days_after_now_both_ends_included():
    window = data_window(NOW)
    assert (window.earliest, window.latest) == (EARLIEST, NOW + datetime.timedelta(days=2))
    assert window.holds(datetime.datetime(2015, 1, 1, tzinfo=UTC))
    assert window.holds(NOW + datetime.timedelta(days=2))
    assert not window.holds(datetime.datetime(2014, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert not window.holds(NOW + datetime.timedelta(days=2, microseconds=1))
    # 08:59 on New Year's Day in Tokyo is still 2014 in UTC: the offset counts.
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    assert not window.holds(datetime.datetime(2015, 1, 1, 8, 59, tzinfo=tokyo))


def test_months_of_the_window_include_the_month_two_days_ahead():
    window = data_window(NOW)
    assert (window.first_month, window.last_month) == ("201501", "202612")
    assert [window.holds_month(m) for m in ("201412", "201501", "202612", "202701")] == [
        False, True, True, False,
    ]  # fmt: skip


def test_times_at_the_ends_of_what_python_holds_are_outside_not_an_error():
    window = data_window(NOW)
    far = datetime.timezone(datetime.timedelta(hours=-23))
    assert not window.holds(datetime.datetime.max.replace(tzinfo=far))
    assert not window.holds(datetime.datetime.min.replace(tzinfo=UTC))
    assert window.outside("2999-12-31") == (
        "'2999-12-31' is outside 2015-01-01 to 2026-12-02: no real export holds a time "
        "before 2015-01-01 or more than 2 days after now"
    )
