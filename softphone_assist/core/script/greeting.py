"""Greeting words for `{greeting}`: a holiday greeting, else the time of day, else a default.

The rules are data from the script file's `[greeting]` table; this module only evaluates them.
The caller passes the wall-clock `datetime` of the call (local time of the call centre): the core
never reads a clock. A time zone on `when` is not converted; its own date and time are used.

Rules, as the service standard states them:
* A holiday covers `days` days from its first day and replaces the time-of-day greeting all day.
  When two holidays cover the same day, the FIRST one in file order wins (the shipped files list
  the one-day festivals before the week-long spans, so 2025-10-06, 中秋节 inside the 国庆 week,
  greets 中秋快乐).
* Time-of-day ranges are [from, to): `from` inclusive, `to` exclusive, minute resolution, within
  one day (no wrap past midnight; what no range covers gets the default).
* Lunar dates are computed with `lunardate` (offline tables, lunar years 1900-2099); outside that
  range lunar holidays simply do not match. 除夕 is "the day before lunar 1/1" because lunar month
  12 has 29 or 30 days depending on the year.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from lunardate import LunarDate

HolidayCalendar = Literal["solar", "lunar", "lunar_new_year_eve"]
HOLIDAY_CALENDARS: tuple[HolidayCalendar, ...] = ("solar", "lunar", "lunar_new_year_eve")
MAX_HOLIDAY_DAYS = 31  # a span longer than a month is a typo, and start lookup relies on it
MINUTES_PER_DAY = 24 * 60


def format_minute(minute: int) -> str:
    """640 -> "10:40"; 1440 -> "24:00" (the end of the day)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class TimeOfDayRule:
    start_minute: int  # minutes after midnight, inclusive
    end_minute: int  # exclusive; 1440 = 24:00, the end of the day
    text: str

    def covers(self, when: datetime) -> bool:
        return self.start_minute <= when.hour * 60 + when.minute < self.end_minute

    def __str__(self) -> str:
        return f"{format_minute(self.start_minute)}-{format_minute(self.end_minute)}"


@dataclass(frozen=True, slots=True)
class HolidayRule:
    name: str
    calendar: HolidayCalendar
    month: int  # 0 (unused) for lunar_new_year_eve
    day: int  # 0 (unused) for lunar_new_year_eve
    days: int  # span: the first day and the days after it
    text: str

    def first_day_in(self, year: int) -> date | None:
        """The holiday's first day in solar `year`'s calendar cycle, or None if it has none.

        `year` is the solar year for "solar", the lunar year for "lunar", and the lunar year that
        the eve ends for "lunar_new_year_eve" (the eve of lunar 2025/1/1 is 2025-01-28).
        """
        try:
            if self.calendar == "solar":
                return date(year, self.month, self.day)  # ValueError: Feb 29 in a common year
            if self.calendar == "lunar":
                return LunarDate(year, self.month, self.day).to_solar_date()
            return LunarDate(year, 1, 1).to_solar_date() - timedelta(days=1)
        except ValueError:
            # No such day this year (lunar day 30 in a 29-day month, Feb 29) or a year outside
            # lunardate's table: the holiday does not happen, it is not an error.
            return None

    def _starts_near(self, day: date) -> Iterator[date]:
        # A span is at most 31 days and lunar year Y starts in Jan/Feb of solar year Y, so every
        # start that can still cover `day` lies in the cycle of this year or the one before.
        for year in (day.year - 1, day.year):
            start = self.first_day_in(year)
            if start is not None:
                yield start

    def covers(self, day: date) -> bool:
        return any(start <= day < start + timedelta(days=self.days) for start in self._starts_near(day))


@dataclass(frozen=True, slots=True)
class GreetingRules:
    default: str
    time_of_day: tuple[TimeOfDayRule, ...]
    holidays: tuple[HolidayRule, ...]  # in file order: the first that covers a day wins

    def holiday_on(self, day: date) -> HolidayRule | None:
        return next((h for h in self.holidays if h.covers(day)), None)

    def greeting_for(self, when: datetime) -> str:
        holiday = self.holiday_on(when.date())
        if holiday is not None:
            return holiday.text
        rule = next((r for r in self.time_of_day if r.covers(when)), None)
        return rule.text if rule is not None else self.default
