"""Greeting rules: exact time-of-day boundaries, computed lunar holidays, spans and precedence."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from softphone_assist.core.script import GreetingRules, HolidayRule, load_script


@pytest.fixture(scope="module")
def zh() -> GreetingRules:
    return load_script("zh-CN").greeting_rules


def at(day: str, clock: str = "09:00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}")


ORDINARY_DAY = "2025-03-05"  # a Wednesday with no holiday


@pytest.mark.parametrize(("clock", "expected"), [
    ("00:00:00", "您好"),
    ("08:29:59", "您好"),
    ("08:30:00", "上午好"),
    ("11:59:00", "上午好"),
    ("11:59:59", "上午好"),
    ("12:00:00", "下午好"),
    ("16:59:00", "下午好"),
    ("17:00:00", "晚上好"),
    ("21:59:00", "晚上好"),
    ("21:59:59", "晚上好"),
    ("22:00:00", "您好"),
    ("23:59:59", "您好"),
])
def test_time_of_day_boundaries(zh: GreetingRules, clock: str, expected: str) -> None:
    assert zh.greeting_for(at(ORDINARY_DAY, clock)) == expected


@pytest.mark.parametrize(("day", "holiday", "expected"), [
    # 除夕: the day before lunar 1/1, whether lunar month 12 has 30 days (2024) or 29 (2025, 2026)
    ("2024-02-09", "除夕", "新年好"),
    ("2025-01-28", "除夕", "新年好"),
    ("2026-02-16", "除夕", "新年好"),
    # 春节 and its 3-day span
    ("2024-02-10", "春节", "新年好"),
    ("2025-01-29", "春节", "新年好"),
    ("2025-01-31", "春节", "新年好"),
    ("2026-02-17", "春节", "新年好"),
    ("2026-02-19", "春节", "新年好"),
    # 中秋 (lunar 8/15); 2025 has a leap 6th month, which moves it to October
    ("2024-09-17", "中秋节", "中秋快乐"),
    ("2025-10-06", "中秋节", "中秋快乐"),  # inside the 国庆 week: the one-day festival wins
    ("2023-09-29", "中秋节", "中秋快乐"),
    ("2020-10-01", "中秋节", "中秋快乐"),  # 中秋 on 国庆 day itself
    # 国庆 10/1..10/7
    ("2025-10-01", "国庆节", "国庆节快乐"),
    ("2025-10-05", "国庆节", "国庆节快乐"),
    ("2025-10-07", "国庆节", "国庆节快乐"),
    # 元旦 1 day, 劳动节 5/1..5/5
    ("2025-01-01", "元旦", "节日好"),
    ("2025-05-01", "劳动节", "节日好"),
    ("2025-05-05", "劳动节", "节日好"),
])
def test_holidays(zh: GreetingRules, day: str, holiday: str, expected: str) -> None:
    rule = zh.holiday_on(date.fromisoformat(day))
    assert rule is not None and rule.name == holiday
    assert zh.greeting_for(at(day)) == expected


@pytest.mark.parametrize(("day", "expected"), [
    ("2024-02-08", "上午好"),  # the day before 除夕
    ("2025-01-27", "上午好"),
    ("2025-02-01", "上午好"),  # 春节 day 4: the span is 3 days
    ("2026-02-20", "上午好"),
    ("2024-09-16", "上午好"),  # the day before 中秋
    ("2024-09-18", "上午好"),
    ("2025-09-30", "上午好"),
    ("2025-10-08", "上午好"),  # after the 国庆 week
    ("2025-01-02", "上午好"),  # 元旦 is 1 day
    ("2025-04-30", "上午好"),
    ("2025-05-06", "上午好"),  # after the 劳动节 span
])
def test_days_next_to_holidays_use_the_time_of_day(zh: GreetingRules, day: str, expected: str) -> None:
    assert zh.holiday_on(date.fromisoformat(day)) is None
    assert zh.greeting_for(at(day)) == expected


@pytest.mark.parametrize("day", ["2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2027-02-06",
                                 "2028-01-26", "2030-02-03"])
def test_spring_festival_and_eve_in_other_years(zh: GreetingRules, day: str) -> None:
    first = date.fromisoformat(day)
    festival, eve = zh.holiday_on(first), zh.holiday_on(first - timedelta(days=1))
    assert festival is not None and festival.name == "春节"
    assert eve is not None and eve.name == "除夕"
    assert zh.holiday_on(first - timedelta(days=2)) is None


def test_holiday_greeting_lasts_all_day(zh: GreetingRules) -> None:
    assert zh.greeting_for(at("2025-10-01", "00:00:00")) == "国庆节快乐"
    assert zh.greeting_for(at("2025-10-01", "23:59:59")) == "国庆节快乐"


def test_first_listed_holiday_wins(zh: GreetingRules) -> None:
    national_day = next(h for h in zh.holidays if h.name == "国庆节")
    others = tuple(h for h in zh.holidays if h is not national_day)
    national_first = replace(zh, holidays=(national_day, *others))
    assert zh.greeting_for(at("2025-10-06")) == "中秋快乐"
    assert national_first.greeting_for(at("2025-10-06")) == "国庆节快乐"


def rules(*holidays: HolidayRule) -> GreetingRules:
    return GreetingRules(default="hi", time_of_day=(), holidays=holidays)


def test_lunar_day_30_only_in_years_that_have_it() -> None:
    # 腊月三十 exists in lunar 2023 (-> 2024-02-09) but not in lunar 2024, whose month 12 has 29
    # days: that is why 除夕 is "lunar_new_year_eve", not lunar 12/30.
    day30 = rules(HolidayRule("腊月三十", "lunar", 12, 30, 1, "x"))
    eve = rules(HolidayRule("除夕", "lunar_new_year_eve", 0, 0, 1, "x"))
    assert day30.greeting_for(at("2024-02-09")) == "x"
    assert day30.greeting_for(at("2025-01-28")) == "hi"
    assert eve.greeting_for(at("2025-01-28")) == "x"


def test_spans_cross_the_year_end() -> None:
    solar = rules(HolidayRule("跨年", "solar", 12, 31, 2, "x"))
    assert [solar.greeting_for(at(d)) for d in ("2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02")] == \
        ["hi", "x", "x", "hi"]
    # lunar 12/29 of lunar 2024 is 2025-01-28; three days run into lunar 2025
    lunar = rules(HolidayRule("年尾", "lunar", 12, 29, 3, "x"))
    assert [lunar.greeting_for(at(d)) for d in ("2025-01-27", "2025-01-28", "2025-01-30", "2025-01-31")] == \
        ["hi", "x", "x", "hi"]


def test_feb_29_and_years_outside_the_lunar_table() -> None:
    leap = rules(HolidayRule("闰日", "solar", 2, 29, 1, "x"))
    assert leap.greeting_for(at("2024-02-29")) == "x"
    assert leap.greeting_for(at("2025-03-01")) == "hi"
    lunar = rules(HolidayRule("中秋节", "lunar", 8, 15, 1, "x"),
                  HolidayRule("除夕", "lunar_new_year_eve", 0, 0, 1, "x"))
    assert lunar.greeting_for(at("2150-09-20")) == "hi"  # lunardate covers 1900-2099: no match, no crash
    assert lunar.greeting_for(at("1899-01-01")) == "hi"


def test_english_greetings() -> None:
    en = load_script("en").greeting_rules
    assert [en.greeting_for(at(ORDINARY_DAY, c)) for c in ("08:29:59", "08:30:00", "12:00:00", "17:00:00",
                                                           "22:00:00")] == \
        ["Hello", "Good morning", "Good afternoon", "Good evening", "Hello"]
    assert en.greeting_for(at("2026-02-16")) == "Happy New Year"
    assert en.greeting_for(at("2026-02-17")) == "Happy New Year"
    assert en.greeting_for(at("2025-10-06")) == "Happy Mid-Autumn Festival"
    assert en.greeting_for(at("2025-10-07")) == "Happy National Day"
    assert en.greeting_for(at("2025-05-03")) == "Happy holidays"


def test_traditional_chinese_greetings() -> None:
    tw = load_script("zh-TW").greeting_rules
    assert [tw.greeting_for(at(ORDINARY_DAY, c)) for c in ("08:29:59", "08:30:00", "12:00:00", "17:00:00",
                                                           "22:00:00")] == \
        ["您好", "早安", "午安", "晚上好", "您好"]
    assert tw.greeting_for(at("2025-01-28")) == "新年快樂"
    assert tw.greeting_for(at("2024-09-17")) == "中秋節快樂"
    assert tw.greeting_for(at("2025-10-02")) == "國慶日快樂"
    assert tw.greeting_for(at("2025-01-01")) == "節日快樂"


def test_the_greeting_fills_the_opening_line() -> None:
    script = load_script("zh-CN")
    assert script.fill(script.opening, at("2025-10-06", "20:00:00")) == "中秋快乐,XX公司很高兴为您服务"
    assert script.fill(script.opening, at(ORDINARY_DAY, "20:00:00"), company="卓达社区网中心") == \
        "晚上好,卓达社区网中心很高兴为您服务"
