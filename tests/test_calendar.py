"""The iCalendar feed: parses back, RFC 5545 basics, the right dates for every cycle."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from cyclemap.billing.schedule import calendar_ics, schedules_for
from cyclemap.config import DEFAULT_CITY, load_city_config
from cyclemap.errors import InputError

D = dt.date
NOW = dt.datetime(2020, 2, 21, 15, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def city():
    return load_city_config(DEFAULT_CITY)


def feed(city, cid: str, start: D = D(2020, 1, 1), months: int = 4, now=NOW) -> bytes:
    schedule = schedules_for(city.cycles, city.exceptions)[cid]
    return calendar_ics(
        city.cycles[cid],
        schedule,
        city_name=city.name,
        timezone=city.timezone,
        start=start,
        months=months,
        now=now,
    )


def events(ics: bytes) -> dict[str, list[D]]:
    """``{kind: [dates]}`` read back from the feed."""
    out: dict[str, list[D]] = {}
    for event in icalendar.Calendar.from_ical(ics).walk("VEVENT"):
        kind = event["categories"].cats[0]
        out.setdefault(str(kind), []).append(event.decoded("dtstart"))
    return out


# what the city's notice and its rules say, January to April 2020
EXPECTED = {
    "1": {
        "bill": ["2020-01-01", "2020-03-04", "2020-04-01"],
        "due": ["2020-01-22", "2020-03-25", "2020-04-22"],
        "penalty": ["2020-01-01", "2020-04-01", "2020-04-29"],
        "disconnect": ["2020-01-08", "2020-02-05", "2020-04-08"],
    },
    "2": {
        "bill": ["2020-01-08", "2020-03-11", "2020-04-08"],
        "due": ["2020-01-01", "2020-01-29", "2020-04-01", "2020-04-29"],
        "penalty": ["2020-01-08", "2020-04-08"],
        "disconnect": ["2020-01-15", "2020-02-12", "2020-04-15"],
    },
    "3": {
        "bill": ["2020-01-15", "2020-02-19", "2020-03-18", "2020-04-15"],
        "due": ["2020-01-08", "2020-02-05", "2020-03-11", "2020-04-08"],
        "penalty": ["2020-01-15", "2020-03-18", "2020-04-15"],
        "disconnect": ["2020-01-22", "2020-02-19", "2020-03-25", "2020-04-22"],
    },
    "4": {
        # the 1/22 bill was never mailed ("no bills were mailed 1/22/20 through 02/12/20")
        "bill": ["2020-02-26", "2020-03-25", "2020-04-22"],
        "due": ["2020-01-15", "2020-03-18", "2020-04-15"],
        "penalty": ["2020-03-25", "2020-04-22"],
        "disconnect": ["2020-01-01", "2020-01-29", "2020-04-01", "2020-04-29"],
    },
}


@pytest.mark.parametrize("cid", ["1", "2", "3", "4"])
def test_feed_has_the_right_dates_for_each_cycle(city, cid: str) -> None:
    got = {k: [d.isoformat() for d in v] for k, v in events(feed(city, cid)).items()}
    assert got == EXPECTED[cid]


def test_february_2020_exceptions_in_the_feed(city) -> None:
    feb = lambda d: d.year == 2020 and d.month == 2  # noqa: E731
    by_cycle = {cid: events(feed(city, cid)) for cid in "1234"}
    # cycles 1 and 2: no February 2020 bill
    assert not [d for d in by_cycle["1"]["bill"] if feb(d)]
    assert not [d for d in by_cycle["2"]["bill"] if feb(d)]
    # cycle 3: billed 2/19, due 3/11; cycle 4: billed 2/26
    assert D(2020, 2, 19) in by_cycle["3"]["bill"] and D(2020, 3, 11) in by_cycle["3"]["due"]
    assert D(2020, 2, 26) in by_cycle["4"]["bill"]
    # nobody is disconnected on 2/26, and no penalty falls on 1/22-2/19
    for kinds in by_cycle.values():
        assert D(2020, 2, 26) not in kinds["disconnect"]
        assert not [d for d in kinds["penalty"] if D(2020, 1, 22) <= d <= D(2020, 2, 19)]


def test_feed_is_valid_icalendar(city) -> None:
    ics = feed(city, "3")
    text = ics.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))  # folded lines
    cal = icalendar.Calendar.from_ical(ics)
    assert str(cal["version"]) == "2.0"
    assert "cyclemap" in str(cal["prodid"])
    assert str(cal["x-wr-timezone"]) == "America/Chicago"
    vevents = cal.walk("VEVENT")
    assert vevents
    for event in vevents:
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        # all-day: DATE values (not datetimes), one day long
        assert type(start) is D and type(end) is D and end - start == dt.timedelta(days=1)
        assert event["dtstart"].params.get("VALUE") == "DATE"
        assert event.decoded("dtstamp") == NOW
        assert str(event["summary"]).startswith("Cycle 3: ")
    assert "DTSTART;VALUE=DATE:20200219" in text


def test_uids_are_unique_and_stable(city) -> None:
    a = icalendar.Calendar.from_ical(feed(city, "3", now=NOW)).walk("VEVENT")
    b = icalendar.Calendar.from_ical(
        feed(city, "3", start=D(2020, 2, 1), now=NOW + dt.timedelta(days=9))
    ).walk("VEVENT")
    uids_a = {str(e["uid"]): e.decoded("dtstart") for e in a}
    uids_b = {str(e["uid"]): e.decoded("dtstart") for e in b}
    assert len(uids_a) == len(a)  # unique
    shared = set(uids_a) & set(uids_b)
    assert shared and all(uids_a[u] == uids_b[u] for u in shared)  # same event, same UID
    assert "bill-20200219-cycle-3@cape-girardeau-missouri.cyclemap" in uids_a
    other = {str(e["uid"]) for e in icalendar.Calendar.from_ical(feed(city, "4")).walk("VEVENT")}
    assert not other & set(uids_a)  # other cycles never collide


def test_exception_text_travels_with_the_event(city) -> None:
    cal = icalendar.Calendar.from_ical(feed(city, "3"))
    (bill,) = [e for e in cal.walk("VEVENT") if str(e["uid"]).startswith("bill-20200219")]
    assert "mailed 2/19/20" in str(bill["description"])


def test_feed_covers_the_months_asked(city) -> None:
    dates = [
        d for ds in events(feed(city, "1", start=D(2020, 5, 1), months=12)).values() for d in ds
    ]
    assert min(dates) >= D(2020, 5, 1) and max(dates) <= D(2021, 4, 30)
    assert len(events(feed(city, "1", start=D(2020, 5, 1), months=12))["bill"]) == 12


def test_feed_arguments_are_checked(city) -> None:
    with pytest.raises(InputError, match="at least one month"):
        feed(city, "1", months=0)
    with pytest.raises(InputError, match="aware"):
        feed(city, "1", now=dt.datetime(2020, 2, 21))
