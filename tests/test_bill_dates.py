"""Dates a resident reads in order: the current bill (mailed, due, penalty, disconnection), then
the next bill (issue 15, part 5). The demo city as of 2020-02-21."""

from __future__ import annotations

import datetime as dt

import pytest

from cyclemap.billing import CycleSchedule
from cyclemap.config import CycleConfig

from .test_pages import Page

D = dt.date
TODAY = D(2020, 2, 21)


def test_the_current_bill_is_the_last_mailed_and_the_next_the_first_to_come(demo_city):
    sched = demo_city.lookup(lon=-89.59, lat=37.28).schedule  # cycle 3 (the southwest)
    assert demo_city.lookup(lon=-89.59, lat=37.28).cycle_id == "3"
    now, then = sched.current_bill, sched.next_bill
    # Cycle 3's February bill went out 2/19; the March bill is the third Wednesday, 3/18
    assert (now.bill, now.due, now.penalty, now.disconnect) == (
        D(2020, 2, 19),
        D(2020, 3, 11),
        D(2020, 3, 18),
        D(2020, 3, 25),
    )
    assert (then.bill, then.due) == (D(2020, 3, 18), D(2020, 4, 8))
    # the flat next_* dates mix the two bills: due 3/11 (this bill) before bill 3/18 (the next)
    assert sched.next_due_date < sched.next_bill_date


def test_a_cancelled_bill_is_never_the_current_one(demo_city):
    sched = demo_city.cycle("1", TODAY).schedule  # no February bill for Cycle 1
    assert sched.current_bill.bill == D(2020, 1, 1)
    assert sched.current_bill.penalty is None  # waived (no penalty 1/22-2/19)
    assert sched.next_bill.bill == D(2020, 3, 4)


@pytest.mark.parametrize(
    "today, current, upcoming",
    [
        (D(2020, 3, 3), D(2020, 2, 5), D(2020, 3, 4)),
        (D(2020, 3, 4), D(2020, 3, 4), D(2020, 4, 1)),  # mailed today: the current bill
        (D(2020, 1, 1), None, D(2020, 2, 5)),  # before the first bill
        (D(2020, 5, 1), D(2020, 4, 1), None),  # after the last
    ],
)
def test_current_and_next_around_bill_days(today, current, upcoming):
    cycle = CycleConfig(
        "1",
        "Cycle 1",
        "#000",
        {"bill_dates": ["2020-02-05", "2020-03-04", "2020-04-01"], "due_after_days": 21},
    )
    now, then = CycleSchedule.from_config(cycle).current_and_next(today)
    assert (now.bill if now else None, then.bill if then else None) == (current, upcoming)


def test_the_schedule_json_has_both_bills(client):
    body = client.get("/api/v1/cycles/3").get_json()
    assert body["schedule"]["current_bill"] == {
        "bill_date": "2020-02-19",
        "due_date": "2020-03-11",
        "penalty_date": "2020-03-18",
        "disconnect_date": "2020-03-25",
    }
    assert body["schedule"]["next_bill"]["bill_date"] == "2020-03-18"


def test_the_result_reads_the_current_bill_then_the_next_in_date_order(client):
    page = Page(client.get("/lookup?lon=-89.59&lat=37.28").get_data(as_text=True))
    text = [t for t in page.text if t.strip()]
    start = text.index("Your bill dates")
    shown = text[start : text.index("Add Cycle 3 dates to my calendar")]
    assert shown[:19] == [
        "Your bill dates",
        "Current bill",
        "Mailed",
        "Wednesday, February 19, 2020",
        "Payment due",
        "Wednesday, March 11, 2020",
        "Late penalty after",
        "Wednesday, March 18, 2020",
        "Possible disconnection",
        "Wednesday, March 25, 2020",
        "Next bill",
        "Mailed",
        "Wednesday, March 18, 2020",
        "Payment due",
        "Wednesday, April 8, 2020",
        "Late penalty after",
        "Wednesday, April 15, 2020",
        "Possible disconnection",
        "Wednesday, April 22, 2020",
    ], shown
    # then the exceptions in force, in words
    assert set(shown[19:]) == {
        "Cycle 3 February bills were mailed 2/19/20.",
        "No penalty on bills due 1/15/20-2/12/20 (penalty dates 1/22/20-2/19/20).",
        "No services will be disconnected on 2/26/20.",
    }
