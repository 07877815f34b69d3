"""Billing schedules: a cycle's bill, due, penalty and disconnect dates, exceptions, iCalendar.

Each cycle's ``[cycles.ID.schedule]`` table in ``city.toml`` gives its bill dates, either as an
RFC 5545 rule read by python-dateutil (``bill_rule = "DTSTART:20190101\\nRRULE:FREQ=MONTHLY;
BYDAY=+3WE"``: the third Wednesday of every month) or as explicit ``bill_dates``, and how many
days after the bill the payment is due (``due_after_days``), after the due date a penalty applies
(``penalty_after_days``) and after the penalty date service may be disconnected
(``disconnect_after_days``). Penalty and disconnect are optional.

The city's ``[[exceptions]]`` (kept in the store once seeded) change single dates:

``no_bill``
    no bill on the scheduled bill date ``date`` (or any in ``date..until``): no due, penalty or
    disconnect date follows from it either.
``bill_moved``
    the bill scheduled on ``date`` went out on ``new_date``; its due dates follow the new date.
``no_penalty``
    no penalty on penalty dates in ``date..until``.
``no_disconnect``
    no disconnection on disconnect dates in ``date..until``.

Every exception names ``cycles`` (``"all"`` or ids) and a ``text`` for residents.

>>> from cyclemap.config import CycleConfig
>>> cycle = CycleConfig("3", "Cycle 3", "#7570b3", {
...     "bill_rule": "DTSTART:20190101\\nRRULE:FREQ=MONTHLY;BYDAY=+3WE",
...     "due_after_days": 21, "penalty_after_days": 7, "disconnect_after_days": 7})
>>> answer = CycleSchedule.from_config(cycle, []).next_dates(dt.date(2020, 2, 20))
>>> answer.next_bill_date, answer.next_due_date
(datetime.date(2020, 3, 18), datetime.date(2020, 3, 11))

``calendar_ics`` writes a cycle's dates as an iCalendar feed. Nothing here reads the clock:
every question takes ``today`` (and the feed its ``now``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rruleset, rrulestr

from ..config import CycleConfig
from ..errors import ConfigError, InputError
from .notes import ALL_CYCLES, Cycles, normalize_cycles, parse_date, parse_required_date

#: the kinds of schedule exception
EXCEPTION_KINDS = ("no_bill", "bill_moved", "no_penalty", "no_disconnect")

#: the kinds of dated event in a schedule, in the order a bill goes through them
EVENT_KINDS = ("bill", "due", "penalty", "disconnect")

#: an exception stays "in force" (listed with the schedule) this many days after its last date
RECENT_DAYS = 31

#: how far ahead ``next_dates`` looks for a date before answering "none"
HORIZON_DAYS = 400


@dataclass(frozen=True)
class ScheduleException:
    """One exception to the regular schedule (see the module docstring for the kinds).

    >>> e = ScheduleException.from_mapping({"kind": "no_disconnect", "date": "2020-02-26",
    ...     "cycles": "all", "text": "No services will be disconnected on 2/26/20."})
    >>> e.covers(dt.date(2020, 2, 26)), e.applies_to("4")
    (True, True)
    """

    kind: str
    date: dt.date
    cycles: Cycles = ALL_CYCLES
    text: str = ""
    until: dt.date | None = None
    new_date: dt.date | None = None
    id: int | None = None

    @classmethod
    def from_mapping(cls, entry: Mapping[str, Any], *, id: int | None = None) -> ScheduleException:
        """Build and check an exception from a ``[[exceptions]]`` table (dates or ISO strings)."""
        kind = str(entry.get("kind", ""))
        if kind not in EXCEPTION_KINDS:
            raise InputError(
                f"exception kind must be one of {', '.join(EXCEPTION_KINDS)}, not {kind!r}"
            )
        date = parse_date(entry.get("date"), "exception date")
        if date is None:
            raise InputError("an exception needs a date")
        until = parse_date(entry.get("until"), "exception until")
        if until is not None and until < date:
            raise InputError(f"an exception's until ({until}) is before its date ({date})")
        new_date = parse_date(entry.get("new_date"), "exception new_date")
        if kind == "bill_moved" and new_date is None:
            raise InputError("a bill_moved exception needs new_date, the date the bill went out")
        if kind != "bill_moved" and new_date is not None:
            raise InputError(f"only bill_moved takes a new_date, not {kind}")
        if kind == "bill_moved" and until is not None:
            raise InputError("a bill_moved exception moves one bill: give no until")
        return cls(
            kind=kind,
            date=date,
            cycles=normalize_cycles(entry.get("cycles", ALL_CYCLES)),
            text=str(entry.get("text", "")),
            until=until,
            new_date=new_date,
            id=id,
        )

    @property
    def last_date(self) -> dt.date:
        """The last date this exception touches."""
        return max(d for d in (self.date, self.until, self.new_date) if d is not None)

    def applies_to(self, cycle_id: str) -> bool:
        """Whether the exception concerns ``cycle_id``."""
        return self.cycles == ALL_CYCLES or str(cycle_id) in self.cycles

    def covers(self, day: dt.date) -> bool:
        """Whether ``day`` is in the exception's ``date..until`` range."""
        return self.date <= day <= (self.until or self.date)

    def to_mapping(self) -> dict[str, Any]:
        """The exception as a ``[[exceptions]]`` table with ISO dates (store and audit form)."""
        return {
            "kind": self.kind,
            "date": self.date.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "new_date": self.new_date.isoformat() if self.new_date else None,
            "cycles": ALL_CYCLES if self.cycles == ALL_CYCLES else list(self.cycles),
            "text": self.text,
        }


@dataclass(frozen=True)
class BillingPeriod:
    """One scheduled bill and the dates that follow from it, after exceptions.

    ``bill`` is ``None`` when the bill was cancelled (then so are the others); ``penalty`` or
    ``disconnect`` is ``None`` when waived or not part of the schedule. ``exceptions`` are those
    that changed this period.
    """

    scheduled: dt.date
    bill: dt.date | None
    due: dt.date | None
    penalty: dt.date | None
    disconnect: dt.date | None
    exceptions: tuple[ScheduleException, ...] = ()

    def dates(self) -> dict[str, dt.date]:
        """``{kind: date}`` of the dates that apply (``bill``, ``due``, ``penalty``, ...)."""
        out = {
            "bill": self.bill,
            "due": self.due,
            "penalty": self.penalty,
            "disconnect": self.disconnect,
        }
        return {k: v for k, v in out.items() if v is not None}

    def to_dict(self) -> dict[str, str | None]:
        """``{"bill_date", "due_date", "penalty_date", "disconnect_date"}``: ISO dates or null.

        >>> BillingPeriod(dt.date(2020, 3, 4), dt.date(2020, 3, 4), dt.date(2020, 3, 25), None,
        ...               None).to_dict()["due_date"]
        '2020-03-25'
        """
        return {
            f"{kind}_date": (day.isoformat() if day else None)
            for kind, day in zip(
                EVENT_KINDS, (self.bill, self.due, self.penalty, self.disconnect), strict=True
            )
        }


@dataclass(frozen=True)
class ScheduleAnswer:
    """The next dates that apply on or after ``today`` and the exceptions in force.

    ``current_bill`` is the last bill mailed on or before ``today`` (with its due, penalty and
    disconnect dates, past ones too) and ``next_bill`` the first one after: a resident reads
    the bill in hand, then the one to come, each in the order its dates fall.
    """

    today: dt.date
    next_bill_date: dt.date | None
    next_due_date: dt.date | None
    next_penalty_date: dt.date | None
    next_disconnect_date: dt.date | None
    exceptions: tuple[ScheduleException, ...] = field(default=())
    current_bill: BillingPeriod | None = None
    next_bill: BillingPeriod | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``schedule`` object of the API: ISO dates or null, and ``exceptions``.

        >>> ScheduleAnswer(dt.date(2020, 2, 20), dt.date(2020, 3, 4), None, None, None).to_dict()
        {'next_bill_date': '2020-03-04', 'next_due_date': None, 'next_penalty_date': None, \
'next_disconnect_date': None, 'exceptions': [], 'current_bill': None, 'next_bill': None}
        """

        def iso(d: dt.date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "next_bill_date": iso(self.next_bill_date),
            "next_due_date": iso(self.next_due_date),
            "next_penalty_date": iso(self.next_penalty_date),
            "next_disconnect_date": iso(self.next_disconnect_date),
            "exceptions": [
                {"date": e.date.isoformat(), "kind": e.kind, "text": e.text}
                for e in self.exceptions
            ],
            "current_bill": self.current_bill.to_dict() if self.current_bill else None,
            "next_bill": self.next_bill.to_dict() if self.next_bill else None,
        }


def _required_offset(table: Mapping[str, Any], key: str, cycle_id: str) -> int:
    value = _offset(table, key, cycle_id)
    if value is None:
        raise ConfigError(f"city.toml: [cycles.{cycle_id}.schedule] needs {key}")
    return value


def _offset(table: Mapping[str, Any], key: str, cycle_id: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"city.toml: [cycles.{cycle_id}.schedule] {key} must be a whole number of days >= 0"
        )
    return value


@dataclass(frozen=True)
class CycleSchedule:
    """A cycle's regular bill dates, the offsets to due/penalty/disconnect, and its exceptions."""

    cycle_id: str
    due_after_days: int
    penalty_after_days: int | None = None
    disconnect_after_days: int | None = None
    bill_rule: rrule | rruleset | None = None
    bill_dates: tuple[dt.date, ...] = ()
    exceptions: tuple[ScheduleException, ...] = ()

    @classmethod
    def from_config(
        cls,
        cycle: CycleConfig,
        exceptions: Iterable[ScheduleException | Mapping[str, Any]] = (),
    ) -> CycleSchedule:
        """The schedule of ``cycle`` (its ``city.toml`` table) with the exceptions for it.

        ``exceptions`` may mix ``ScheduleException`` and ``[[exceptions]]`` tables; those for
        other cycles are ignored. Raises ``ConfigError`` naming what is wrong.

        >>> cfg = CycleConfig("1", "Cycle 1", "#000", {"bill_dates": ["2020-03-04"],
        ...                   "due_after_days": 21})
        >>> CycleSchedule.from_config(cfg, [{"kind": "no_penalty", "date": "2020-01-22",
        ...     "cycles": ["2"], "text": "x"}]).exceptions
        ()
        """
        where = f"[cycles.{cycle.id}.schedule]"
        if cycle.schedule is None:
            raise ConfigError(f"city.toml: {where} is missing: this cycle publishes no dates")
        table = dict(cycle.schedule)
        rule_text = table.get("bill_rule")
        dates_list = table.get("bill_dates")
        if (rule_text is None) == (dates_list is None):
            raise ConfigError(f"city.toml: {where} needs exactly one of bill_rule or bill_dates")
        rule = None
        dates: tuple[dt.date, ...] = ()
        if rule_text is not None:
            try:
                rule = rrulestr(str(rule_text), forceset=True, cache=True)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"city.toml: {where} bill_rule cannot be read: {exc}") from exc
        elif not isinstance(dates_list, list | tuple):
            raise ConfigError(f'city.toml: {where} bill_dates must be a list: ["2020-03-04", ...]')
        else:
            empty = "a bill date cannot be empty"
            try:
                dates = tuple(
                    sorted({parse_required_date(d, "bill date", empty) for d in dates_list})
                )
            except InputError as exc:
                raise ConfigError(f"city.toml: {where} bill_dates: {exc}") from exc
        parsed = []
        for i, exc_entry in enumerate(exceptions, start=1):
            if not isinstance(exc_entry, ScheduleException):
                try:
                    exc_entry = ScheduleException.from_mapping(exc_entry)
                except InputError as exc:
                    raise ConfigError(f"city.toml: exception {i}: {exc}") from exc
            if exc_entry.applies_to(cycle.id):
                parsed.append(exc_entry)
        return cls(
            cycle_id=cycle.id,
            due_after_days=_required_offset(table, "due_after_days", cycle.id),
            penalty_after_days=_offset(table, "penalty_after_days", cycle.id),
            disconnect_after_days=_offset(table, "disconnect_after_days", cycle.id),
            bill_rule=rule,
            bill_dates=dates,
            exceptions=tuple(sorted(parsed, key=lambda e: (e.date, e.kind))),
        )

    @property
    def _span(self) -> int:
        """Days from a bill to its last dependent date."""
        return (
            self.due_after_days + (self.penalty_after_days or 0) + (self.disconnect_after_days or 0)
        )

    def scheduled_bills(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The regular bill dates in ``start..end`` (inclusive), before exceptions."""
        if self.bill_rule is not None:
            found = self.bill_rule.between(
                dt.datetime.combine(start, dt.time.min),
                dt.datetime.combine(end, dt.time.max),
                inc=True,
            )
            return sorted({d.date() for d in found})
        return [d for d in self.bill_dates if start <= d <= end]

    def _period(self, scheduled: dt.date) -> BillingPeriod:
        used: list[ScheduleException] = []
        bill: dt.date | None = scheduled
        for e in self.exceptions:
            if e.kind == "no_bill" and e.covers(scheduled):
                bill = None
                used.append(e)
            elif e.kind == "bill_moved" and e.date == scheduled and bill is not None:
                bill = e.new_date
                used.append(e)
        if bill is None:
            return BillingPeriod(scheduled, None, None, None, None, tuple(used))
        due = bill + dt.timedelta(days=self.due_after_days)
        penalty = disconnect = None
        if self.penalty_after_days is not None:
            penalty = due + dt.timedelta(days=self.penalty_after_days)
            if self.disconnect_after_days is not None:
                disconnect = penalty + dt.timedelta(days=self.disconnect_after_days)
        for e in self.exceptions:
            if e.kind == "no_penalty" and penalty is not None and e.covers(penalty):
                penalty = None
                used.append(e)
            elif e.kind == "no_disconnect" and disconnect is not None and e.covers(disconnect):
                disconnect = None
                used.append(e)
        return BillingPeriod(scheduled, bill, due, penalty, disconnect, tuple(used))

    def periods(self, start: dt.date, end: dt.date) -> list[BillingPeriod]:
        """Billing periods with any date (scheduled, actual or dependent) in ``start..end``.

        >>> cfg = CycleConfig("1", "Cycle 1", "#000", {"bill_dates": ["2020-02-05"],
        ...     "due_after_days": 21, "penalty_after_days": 7})
        >>> s = CycleSchedule.from_config(cfg, [{"kind": "no_bill", "date": "2020-02-05"}])
        >>> s.periods(dt.date(2020, 2, 1), dt.date(2020, 2, 29))[0].dates()
        {}
        """
        moved = max([abs((e.new_date - e.date).days) for e in self.exceptions if e.new_date] or [0])
        lo = start - dt.timedelta(days=self._span + moved)
        hi = end + dt.timedelta(days=moved)
        out = []
        for scheduled in self.scheduled_bills(lo, hi):
            period = self._period(scheduled)
            touched = [scheduled, *period.dates().values()]
            if any(start <= d <= end for d in touched):
                out.append(period)
        return out

    def events(self, start: dt.date, end: dt.date) -> list[tuple[str, dt.date, BillingPeriod]]:
        """``(kind, date, period)`` for every date that applies in ``start..end``, sorted.

        >>> cfg = CycleConfig("4", "Cycle 4", "#000", {"bill_dates": ["2020-01-22"],
        ...     "due_after_days": 21, "penalty_after_days": 7, "disconnect_after_days": 7})
        >>> s = CycleSchedule.from_config(cfg, [{"kind": "no_disconnect", "date": "2020-02-26"}])
        >>> [(k, d.isoformat()) for k, d, _ in s.events(dt.date(2020, 1, 1), dt.date(2020, 3, 1))]
        [('bill', '2020-01-22'), ('due', '2020-02-12'), ('penalty', '2020-02-19')]
        """
        found = []
        for period in self.periods(start, end):
            for kind, day in period.dates().items():
                if start <= day <= end:
                    found.append((kind, day, period))
        found.sort(key=lambda item: (item[1], EVENT_KINDS.index(item[0])))
        return found

    def exceptions_in_force(self, today: dt.date) -> tuple[ScheduleException, ...]:
        """Exceptions that matter on ``today``: every future one, and past ones whose last date
        is at most ``RECENT_DAYS`` days ago (a resident may still be reading about them)."""
        since = today - dt.timedelta(days=RECENT_DAYS)
        return tuple(e for e in self.exceptions if e.last_date >= since)

    def next_dates(self, today: dt.date) -> ScheduleAnswer:
        """The next bill, due, penalty and disconnect dates on or after ``today``.

        Cancelled dates are skipped: a cycle with no February bill has no February due date
        either, a waived penalty date is no penalty date and a no-disconnect date no disconnect
        date. A date is ``None`` when none falls within ``HORIZON_DAYS``.
        """
        end = today + dt.timedelta(days=HORIZON_DAYS)
        first: dict[str, dt.date] = {}
        for kind, day, _period in self.events(today, end):
            first.setdefault(kind, day)
        current, upcoming = self.current_and_next(today)
        return ScheduleAnswer(
            today=today,
            next_bill_date=first.get("bill"),
            next_due_date=first.get("due"),
            next_penalty_date=first.get("penalty"),
            next_disconnect_date=first.get("disconnect"),
            exceptions=self.exceptions_in_force(today),
            current_bill=current,
            next_bill=upcoming,
        )

    def current_and_next(self, today: dt.date) -> tuple[BillingPeriod | None, BillingPeriod | None]:
        """The last bill mailed on or before ``today`` and the first one after it (cancelled
        bills skipped; a moved bill counts on the day it went out); None where there is none
        within ``HORIZON_DAYS``.

        >>> cfg = CycleConfig("1", "Cycle 1", "#000", {"bill_dates": ["2020-02-05",
        ...     "2020-03-04"], "due_after_days": 21, "penalty_after_days": 7})
        >>> now, then = CycleSchedule.from_config(cfg).current_and_next(dt.date(2020, 2, 21))
        >>> now.bill.isoformat(), now.due.isoformat(), then.bill.isoformat()
        ('2020-02-05', '2020-02-26', '2020-03-04')
        """
        horizon = dt.timedelta(days=HORIZON_DAYS)
        periods = self.periods(today - horizon, today + horizon)
        sent = [(p.bill, p) for p in periods if p.bill is not None]  # (the date it went out, p)
        past = [(bill, p) for bill, p in sent if bill <= today]
        future = [(bill, p) for bill, p in sent if bill > today]
        return (
            max(past, key=lambda bp: bp[0])[1] if past else None,
            min(future, key=lambda bp: bp[0])[1] if future else None,
        )


def schedule_problems(
    cycles: Mapping[str, CycleConfig], exceptions: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Every problem of a city's schedules and ``[[exceptions]]``, each starting with its key.

    A cycle without a schedule is no problem (it publishes no dates); an exception that names a
    cycle the city does not have is.

    >>> cycles = {"1": CycleConfig("1", "Cycle 1", "#000", {"due_after_days": 21}),
    ...           "2": CycleConfig("2", "Cycle 2", "#000")}
    >>> for line in schedule_problems(cycles, [{"kind": "no_bill", "date": "2020-02-05",
    ...                                          "cycles": ["7"]}]):
    ...     print(line)
    [cycles.1.schedule] needs exactly one of bill_rule or bill_dates
    [[exceptions]] 1 (no_bill 2020-02-05) names cycle 7, which city.toml has no [cycles.7] for
    """
    problems = []
    prefix = "city.toml: "
    for cycle in cycles.values():
        if cycle.schedule is None:
            continue
        try:
            CycleSchedule.from_config(cycle)
        except ConfigError as exc:
            problems.append(exc.message.removeprefix(prefix))
    for i, entry in enumerate(exceptions, start=1):
        try:
            e = ScheduleException.from_mapping(entry)
        except InputError as exc:
            problems.append(f"[[exceptions]] {i}: {exc.message}")
            continue
        if e.cycles != ALL_CYCLES:
            for cid in e.cycles:
                if cid not in cycles:
                    problems.append(
                        f"[[exceptions]] {i} ({e.kind} {e.date}) names cycle {cid}, which "
                        f"city.toml has no [cycles.{cid}] for"
                    )
    return problems


def schedules_for(
    cycles: Mapping[str, CycleConfig],
    exceptions: Iterable[ScheduleException | Mapping[str, Any]],
) -> dict[str, CycleSchedule]:
    """``{cycle_id: CycleSchedule}`` for every cycle of a city that has a schedule.

    >>> from cyclemap.config import load_city_config, DEFAULT_CITY
    >>> cfg = load_city_config(DEFAULT_CITY)
    >>> s = schedules_for(cfg.cycles, cfg.exceptions)
    >>> s["1"].next_dates(dt.date(2020, 2, 1)).next_bill_date   # no February bill for Cycle 1
    datetime.date(2020, 3, 4)
    """
    exceptions = list(exceptions)
    return {
        cid: CycleSchedule.from_config(c, exceptions) for cid, c in cycles.items() if c.has_schedule
    }


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a gettext no-op marker
    """Mark ``message`` for ``pybabel extract``; the caller's ``gettext`` translates it."""
    return message


#: what the calendar of a cycle without a schedule says
NO_DATES_TEXT = N_("No billing dates are published for %(name)s yet.")
#: the calendar's name
CALENDAR_NAME = N_("%(city)s: %(cycle)s billing dates")
#: what each kind of date is called in a calendar
EVENT_TITLES = {
    "bill": N_("%(cycle)s: bills mailed"),
    "due": N_("%(cycle)s: payment due"),
    "penalty": N_("%(cycle)s: penalty on unpaid bills"),
    "disconnect": N_("%(cycle)s: service may be disconnected for unpaid bills"),
}
#: an event's description: which bill the date belongs to
EVENT_BILL = N_("%(cycle)s bill of %(date)s.")


@dataclass(frozen=True)
class CalendarWords:
    """How a calendar feed words its texts: ``gettext`` translates the messages above,
    ``date`` writes a day, and ``language`` (a tag such as ``es``) marks the texts with
    RFC 5545's ``LANGUAGE`` parameter (None: unmarked, English).

    >>> CalendarWords().date(dt.date(2020, 2, 19))
    '02/19/2020'
    """

    gettext: Callable[[str], str] = lambda message: message
    date: Callable[[dt.date], str] = lambda day: f"{day:%m/%d/%Y}"
    language: str | None = None

    def say(self, message: str, **values: Any) -> str:
        """``message`` translated, its ``%(name)s`` placeholders filled.

        >>> CalendarWords().say(EVENT_TITLES["due"], cycle="Cycle 3")
        'Cycle 3: payment due'
        """
        return self.gettext(message) % values

    def cycle(self, cycle: CycleConfig) -> str:
        """The cycle's name in the calendar's language (``CycleConfig.name_in``: the city's
        ``name_es``, "Ciclo 3" for the default "Cycle 3", else the name as written).

        >>> CalendarWords(language="es").cycle(CycleConfig("3", "Cycle 3", "#000", name_es="C3"))
        'C3'
        """
        return cycle.name_in(self.language or "en", self.gettext).text

    def params(self) -> dict[str, str]:
        """The ``LANGUAGE`` parameter of a text property, when the texts are marked."""
        return {"language": self.language} if self.language else {}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "city"


def calendar_ics(
    cycle: CycleConfig,
    schedule: CycleSchedule | None,
    *,
    city_name: str,
    timezone: str,
    start: dt.date,
    months: int = 12,
    now: dt.datetime,
    words: CalendarWords | None = None,
) -> bytes:
    """An iCalendar (RFC 5545) feed of a cycle's dates from ``start`` for ``months`` months.

    Each bill, due, penalty and disconnect date that applies (exceptions taken into account) is
    an all-day event (``DTSTART;VALUE=DATE``, ``DTEND`` the next day) with a stable ``UID``
    built from the city, cycle, kind and date, so a calendar that re-reads the feed updates
    events rather than duplicating them; ``DTSTAMP`` is ``now`` in UTC.

    All-day dates are floating: a DATE value names the same calendar day in every time zone and
    carries no ``TZID``, so RFC 5545 asks for no ``VTIMEZONE`` (one is required only for each
    ``TZID`` used). The city's zone is given as ``X-WR-TIMEZONE`` for clients that show it.

    >>> from cyclemap.config import load_city_config, DEFAULT_CITY
    >>> cfg = load_city_config(DEFAULT_CITY)
    >>> sched = schedules_for(cfg.cycles, cfg.exceptions)["3"]
    >>> ics = calendar_ics(cfg.cycles["3"], sched, city_name=cfg.name, timezone=cfg.timezone,
    ...                    start=dt.date(2020, 2, 1), months=1,
    ...                    now=dt.datetime(2020, 2, 20, tzinfo=dt.timezone.utc))
    >>> import icalendar
    >>> events = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    >>> [(e.decoded("dtstart").isoformat(), str(e["summary"])) for e in events]
    [('2020-02-05', 'Cycle 3: payment due'), ('2020-02-19', 'Cycle 3: bills mailed'), \
('2020-02-19', 'Cycle 3: service may be disconnected for unpaid bills')]

    A cycle without a schedule (``schedule`` None) gets a calendar without events whose
    description says that no dates are published, so a subscription keeps working and fills in
    once the city publishes them.

    ``words`` (default: English) translates the calendar's name, the events' titles and
    descriptions and writes their dates; exception texts are the city's own, as it wrote them.
    """
    words = words or CalendarWords()
    if months < 1:
        raise InputError("a calendar covers at least one month")
    if now.tzinfo is None:
        raise InputError("now must be an aware datetime")
    end = start + relativedelta(months=months) - dt.timedelta(days=1)
    domain = f"{_slug(city_name)}.cyclemap"
    import icalendar  # only the calendar feed needs it (a lookup does not load it)

    cal = icalendar.Calendar()
    cal.add("prodid", "-//cyclemap//Utility billing cycles//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = words.cycle(cycle)
    cal.add("x-wr-calname", words.say(CALENDAR_NAME, city=city_name, cycle=name))
    cal.add("x-wr-timezone", timezone)
    cal.add("x-published-ttl", "PT12H")
    if schedule is None:
        cal.add("x-wr-caldesc", words.say(NO_DATES_TEXT, name=name))
        return cal.to_ical()
    stamp = now.astimezone(dt.UTC)
    for kind, day, period in schedule.events(start, end):
        event = icalendar.Event()
        event.add("uid", f"{kind}-{day:%Y%m%d}-cycle-{_slug(cycle.id)}@{domain}")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
        event.add("summary", words.say(EVENT_TITLES[kind], cycle=name), words.params())
        bill = period.bill  # every event's period has its bill (typed optional for the others)
        lines = [words.say(EVENT_BILL, cycle=name, date=words.date(bill))] if bill else []
        lines += [e.text for e in period.exceptions if e.text]
        event.add("description", "\n".join(lines), words.params())
        event.add("categories", [kind])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
