"""Schedules: rules and explicit dates, offsets, the February 2020 exceptions, next dates."""

from __future__ import annotations

import datetime as dt

import pytest

from cyclemap.billing.schedule import RECENT_DAYS, CycleSchedule, ScheduleException, schedules_for
from cyclemap.config import DEFAULT_CITY, CycleConfig, load_city_config
from cyclemap.errors import ConfigError, InputError

D = dt.date
RULE = "DTSTART:20190101\nRRULE:FREQ=MONTHLY;BYDAY=+{k}WE"
OFFSETS = {"due_after_days": 21, "penalty_after_days": 7, "disconnect_after_days": 7}


def cycle(cid: str = "1", **schedule) -> CycleConfig:
    return CycleConfig(cid, f"Cycle {cid}", "#000000", schedule)


@pytest.fixture(scope="module")
def demo() -> dict[str, CycleSchedule]:
    cfg = load_city_config(DEFAULT_CITY)
    return schedules_for(cfg.cycles, cfg.exceptions)


def dates_in(s: CycleSchedule, kind: str, start: D, end: D) -> list[D]:
    return [d for k, d, _ in s.events(start, end) if k == kind]


FEB = (D(2020, 2, 1), D(2020, 2, 29))


# ---------------------------------------------------------------- the city's February 2020
def test_cycles_1_and_2_have_no_february_bill_nor_dates_from_it(demo) -> None:
    assert dates_in(demo["1"], "bill", *FEB) == []
    assert dates_in(demo["2"], "bill", *FEB) == []
    # the cancelled bills' due dates (2/26, 3/4) never appear
    assert D(2020, 2, 26) not in dates_in(demo["1"], "due", D(2020, 2, 1), D(2020, 3, 31))
    assert D(2020, 3, 4) not in dates_in(demo["2"], "due", D(2020, 2, 1), D(2020, 3, 31))
    assert dates_in(demo["1"], "bill", D(2020, 1, 1), D(2020, 3, 31)) == [
        D(2020, 1, 1),
        D(2020, 3, 4),
    ]
    assert dates_in(demo["2"], "bill", D(2020, 1, 1), D(2020, 3, 31)) == [
        D(2020, 1, 8),
        D(2020, 3, 11),
    ]


def test_cycle_3_february_bill_mailed_2_19(demo) -> None:
    (period,) = [p for p in demo["3"].periods(*FEB) if p.scheduled == D(2020, 2, 19)]
    assert (period.bill, period.due, period.penalty, period.disconnect) == (
        D(2020, 2, 19),
        D(2020, 3, 11),
        D(2020, 3, 18),
        D(2020, 3, 25),
    )
    assert [e.kind for e in period.exceptions] == ["bill_moved"]


def test_cycle_4_february_bill_on_time(demo) -> None:
    assert dates_in(demo["4"], "bill", *FEB) == [D(2020, 2, 26)]
    assert dates_in(demo["4"], "due", D(2020, 3, 1), D(2020, 3, 31)) == [D(2020, 3, 18)]


def test_no_penalty_for_penalty_dates_1_22_to_2_19(demo) -> None:
    for cid, s in demo.items():
        assert dates_in(s, "penalty", D(2020, 1, 22), D(2020, 2, 19)) == [], cid
    # due dates 1/15-2/12 still stand: only the penalty is waived
    assert dates_in(demo["4"], "due", D(2020, 1, 15), D(2020, 1, 15)) == [D(2020, 1, 15)]
    assert dates_in(demo["3"], "due", *FEB) == [D(2020, 2, 5)]
    # before and after the range penalties apply as usual
    assert dates_in(demo["3"], "penalty", D(2020, 1, 1), D(2020, 1, 21)) == [D(2020, 1, 15)]
    assert dates_in(demo["4"], "penalty", D(2020, 2, 20), D(2020, 3, 31)) == [D(2020, 3, 25)]


def test_no_disconnect_on_2_26_for_anyone(demo) -> None:
    day = D(2020, 2, 26)
    for cid, s in demo.items():
        assert dates_in(s, "disconnect", day, day) == [], cid
    # cycle 4's would-be disconnect on 2/26 came from its 1/22 bill, which was never mailed
    # ("No city utility bills were mailed from 1/22/20 through 02/12/20")
    periods = demo["4"].periods(D(2020, 1, 22), day)
    (period,) = [p for p in periods if p.scheduled == D(2020, 1, 22)]
    assert period.bill is None and period.disconnect is None
    assert "no_bill" in [e.kind for e in period.exceptions]


@pytest.mark.parametrize(
    ("cid", "today", "expected"),
    [
        # on the day after the notice
        ("1", D(2020, 2, 21), ("2020-03-04", "2020-03-25", "2020-04-01", "2020-04-08")),
        ("2", D(2020, 2, 21), ("2020-03-11", "2020-04-01", "2020-04-08", "2020-04-15")),
        ("3", D(2020, 2, 21), ("2020-03-18", "2020-03-11", "2020-03-18", "2020-03-25")),
        ("4", D(2020, 2, 21), ("2020-02-26", "2020-03-18", "2020-03-25", "2020-04-01")),
        # early February: cycle 1's February bill and its due date are skipped
        ("1", D(2020, 2, 1), ("2020-03-04", "2020-03-25", "2020-04-01", "2020-02-05")),
        # a date that applies today is "next"
        ("3", D(2020, 2, 19), ("2020-02-19", "2020-03-11", "2020-03-18", "2020-02-19")),
    ],
)
def test_next_dates(demo, cid: str, today: D, expected: tuple) -> None:
    d = demo[cid].next_dates(today).to_dict()
    keys = ("next_bill_date", "next_due_date", "next_penalty_date", "next_disconnect_date")
    assert tuple(d[k] for k in keys) == expected


def test_exceptions_in_force(demo) -> None:
    answer = demo["1"].next_dates(D(2020, 2, 21)).to_dict()
    assert [(e["date"], e["kind"]) for e in answer["exceptions"]] == [
        ("2020-01-22", "no_penalty"),
        ("2020-02-05", "no_bill"),
        ("2020-02-26", "no_disconnect"),
    ]
    assert all(set(e) == {"date", "kind", "text"} and e["text"] for e in answer["exceptions"])
    # cycle 3 sees its own exception, not cycle 1's
    kinds = [e["kind"] for e in demo["3"].next_dates(D(2020, 2, 21)).to_dict()["exceptions"]]
    assert kinds == ["no_penalty", "bill_moved", "no_disconnect"]
    # listed until RECENT_DAYS after their last date, then dropped
    last = D(2020, 2, 26) + dt.timedelta(days=RECENT_DAYS)
    assert [e.kind for e in demo["1"].next_dates(last).exceptions] == ["no_disconnect"]
    assert demo["1"].next_dates(last + dt.timedelta(days=1)).exceptions == ()
    # and shown ahead of time
    assert len(demo["1"].next_dates(D(2019, 6, 1)).exceptions) == 3


def test_regular_months_follow_the_rule(demo) -> None:
    s = demo["2"]
    assert dates_in(s, "bill", D(2021, 1, 1), D(2021, 12, 31))[:3] == [
        D(2021, 1, 13),
        D(2021, 2, 10),
        D(2021, 3, 10),
    ]
    answer = s.next_dates(D(2021, 1, 14))
    assert answer.next_due_date == D(2021, 2, 3)
    assert (answer.next_penalty_date, answer.next_disconnect_date) == (
        D(2021, 2, 10),
        D(2021, 2, 17),
    )
    assert answer.exceptions == ()


# ---------------------------------------------------------------- rules, explicit dates, kinds
def test_explicit_bill_dates() -> None:
    s = CycleSchedule.from_config(
        cycle(bill_dates=["2020-03-04", D(2020, 1, 8), "2020-02-05"], due_after_days=14)
    )
    assert s.scheduled_bills(D(2020, 1, 1), D(2020, 12, 31)) == [
        D(2020, 1, 8),
        D(2020, 2, 5),
        D(2020, 3, 4),
    ]
    answer = s.next_dates(D(2020, 2, 6))
    assert (answer.next_bill_date, answer.next_due_date) == (D(2020, 3, 4), D(2020, 2, 19))
    assert answer.next_penalty_date is None and answer.next_disconnect_date is None
    # after the last listed date there is nothing to say
    assert s.next_dates(D(2020, 3, 19)).to_dict()["next_bill_date"] is None


def test_a_moved_bill_moves_its_due_dates() -> None:
    moved = {"kind": "bill_moved", "date": "2020-02-19", "new_date": "2020-02-24", "text": "late"}
    s = CycleSchedule.from_config(cycle("3", bill_rule=RULE.format(k=3), **OFFSETS), [moved])
    (p,) = [p for p in s.periods(*FEB) if p.scheduled == D(2020, 2, 19)]
    assert (p.bill, p.due, p.penalty, p.disconnect) == (
        D(2020, 2, 24),
        D(2020, 3, 16),
        D(2020, 3, 23),
        D(2020, 3, 30),
    )
    assert s.next_dates(D(2020, 2, 20)).next_bill_date == D(2020, 2, 24)


def test_a_range_of_cancelled_bills() -> None:
    gap = {"kind": "no_bill", "date": "2020-01-22", "until": "2020-02-12", "cycles": "all"}
    s = CycleSchedule.from_config(cycle("2", bill_rule=RULE.format(k=2), **OFFSETS), [gap])
    assert dates_in(s, "bill", D(2020, 1, 1), D(2020, 3, 31)) == [D(2020, 1, 8), D(2020, 3, 11)]


def test_exceptions_for_other_cycles_are_ignored() -> None:
    other = {"kind": "no_bill", "date": "2020-02-05", "cycles": ["2"], "text": "x"}
    s = CycleSchedule.from_config(cycle("1", bill_rule=RULE.format(k=1), **OFFSETS), [other])
    assert dates_in(s, "bill", *FEB) == [D(2020, 2, 5)]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"due_after_days": 21}, "exactly one of bill_rule or bill_dates"),
        ({"bill_rule": RULE.format(k=1), "bill_dates": [], "due_after_days": 21}, "exactly one"),
        ({"bill_rule": "RRULE:FREQ=SOMETIMES", "due_after_days": 21}, "bill_rule cannot be read"),
        ({"bill_rule": RULE.format(k=1)}, "needs due_after_days"),
        ({"bill_rule": RULE.format(k=1), "due_after_days": -1}, "whole number"),
        ({"bill_rule": RULE.format(k=1), "due_after_days": "21"}, "whole number"),
        ({"bill_dates": ["3/4/2020"], "due_after_days": 21}, "YYYY-MM-DD"),
        # an empty date was kept as None and failed later, in a comparison
        ({"bill_dates": ["", "2020-03-04"], "due_after_days": 21}, "cannot be empty"),
        ({"bill_dates": "2020-03-04", "due_after_days": 21}, "must be a list"),
    ],
)
def test_bad_schedule_config(schedule: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CycleSchedule.from_config(cycle(**schedule))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "holiday", "date": "2020-02-05"}, "kind must be one of"),
        ({"kind": "no_bill"}, "needs a date"),
        ({"kind": "bill_moved", "date": "2020-02-05"}, "needs new_date"),
        ({"kind": "no_bill", "date": "2020-02-05", "new_date": "2020-02-06"}, "only bill_moved"),
        ({"kind": "no_penalty", "date": "2020-02-05", "until": "2020-01-01"}, "before its date"),
        ({"kind": "no_bill", "date": "2020-02-05", "cycles": []}, "at least one cycle"),
    ],
)
def test_bad_exceptions(entry: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ScheduleException.from_mapping(entry)
    with pytest.raises(ConfigError, match=message):
        CycleSchedule.from_config(cycle(bill_rule=RULE.format(k=1), **OFFSETS), [entry])


def test_schedule_reads_no_clock() -> None:
    # every question takes ``today``: the core never asks the machine what day it is
    import inspect

    import cyclemap.billing.notes
    import cyclemap.billing.schedule

    for module in (cyclemap.billing.schedule, cyclemap.billing.notes):
        source = inspect.getsource(module)
        assert "today()" not in source and ".now(" not in source, module.__name__
