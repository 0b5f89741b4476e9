"""The moments imported data may hold: one window for billing rows and job history, read
from files or pulled from BigQuery.

A time outside it is a typo (2999 for 2024), a zero or default date (1970-01-01, the
start of Unix time) or a broken clock, never a real row; stored, it would stretch every
chart to the year 2999 and move the "complete through" date of the cost pages with it.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

# Google's Cloud Billing export to BigQuery dates from about 2017, and the job history
# (INFORMATION_SCHEMA.JOBS, which keeps 180 days) is younger still; before them Cloud
# Billing exported files, from about 2015. No real billing row or job is older than the
# start of 2015, so that is the floor for both, with room to spare for old extracts.
EARLIEST = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)
# Rows describe what has happened: none can be later than now, give or take clocks that
# are a little fast and time zones ahead of UTC. Two days covers both, and a day's rows
# billed on the next invoice month too (the month of `latest` is allowed).
AHEAD = datetime.timedelta(days=2)


@dataclass(frozen=True)
class TimeWindow:
    earliest: datetime.datetime
    latest: datetime.datetime

    def holds(self, moment: datetime.datetime) -> bool:
        """Whether an aware time is inside the window (both ends included)."""
        try:
            return self.earliest <= moment <= self.latest
        except OverflowError:  # a time at the very ends of what Python represents
            return False

    @property
    def first_month(self) -> str:
        return f"{self.earliest:%Y%m}"

    @property
    def last_month(self) -> str:
        return f"{self.latest.astimezone(datetime.UTC):%Y%m}"

    def holds_month(self, month: str) -> bool:
        """Whether a month written YYYYMM is one of the window's months."""
        return self.first_month <= month <= self.last_month

    def shown(self) -> str:
        """The window as a message names it: 2015-01-01 to 2026-12-05."""
        return _("%(first)s to %(last)s") % {
            "first": f"{self.earliest.astimezone(datetime.UTC):%Y-%m-%d}",
            "last": f"{self.latest.astimezone(datetime.UTC):%Y-%m-%d}",
        }

    def outside(self, value: object) -> str:
        """Why `value`, a time or a month that is not inside, is refused."""
        return _(
            "%(value)r is outside %(window)s: no real export holds a time before %(first)s "
            "or more than %(days)s days after now"
        ) % {
            "value": value,
            "window": self.shown(),
            "first": f"{self.earliest:%Y-%m-%d}",
            "days": AHEAD.days,
        }


def data_window(now: datetime.datetime | None = None) -> TimeWindow:
    """The window as of `now` (the clock when not given)."""
    return TimeWindow(earliest=EARLIEST, latest=(now or timezone.now()) + AHEAD)
