"""The resident's pages: ``/`` (the address form, the map, every cycle and its notes) and
``/lookup`` (the answer, server-rendered, so that it works with JavaScript off).

``/lookup?address=...`` geocodes an address; ``/lookup?lon=..&lat=..`` looks up a point picked on
the map. With ``&fragment=1`` only the answer's HTML is sent: the page's script puts it in place
without a reload. The page never states a cycle the answer does not: an ambiguous answer lists the
choices, each a link that looks up that exact place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, render_template, request, url_for
from flask_babel import format_date, gettext

from ..billing import ScheduleAnswer
from ..billing.notes import ALL_CYCLES, Note
from ..city import Answer, Choice, CycleAnswer, CycleRef
from ..decide import Status
from ..errors import InputError
from ..geocode import MAX_ADDRESS_LENGTH, MatchType
from ..maps import NEAR_ZOOM, Marker, ZoneInfo, border_detail
from ..misses import MISS_STATUSES
from .api import feed_url
from .context import current_city
from .i18n import lang_args, local_cycle_name, page_language_args
from .maps import map_parts

bp = Blueprint("public", __name__)

#: the longest address accepted: the geocoder's limit (the API's too)
MAX_ADDRESS_CHARS = MAX_ADDRESS_LENGTH
#: how close the map zooms on an answer's place
ANSWER_ZOOM = 16
#: the most candidates an ambiguous or unfound answer lists
MAX_CHOICES = 10
#: how far from a device's location ("use my location") its nearest address may be and still
#: be the answer (phones are within 5-50 m outdoors; further off, the point itself is answered)
NEAREST_ADDRESS_M = 75.0


@dataclass(frozen=True)
class DateLine:
    """One of the next dates of a schedule, ready to show."""

    label: str
    date: dt.date
    text: str


@dataclass(frozen=True)
class BillView:
    """One bill with its dates in the order they fall: mailed, due, penalty, disconnection."""

    heading: str
    lines: list[DateLine]


@dataclass(frozen=True)
class ChoiceLink:
    """A candidate place, as a link that looks up exactly that place."""

    label: str
    href: str
    #: the candidate's cycle (the page names it in its language), None outside every cycle
    cycle: CycleRef | None


@dataclass
class ResultView:
    """What the result part of a page shows, built from an ``Answer`` (or an input error)."""

    status: str  # matched | ambiguous | not_found | outside_service_area | error
    heading: str
    summary: str
    title: str
    answer: Answer | None = None
    where: str = ""
    match_note: str = ""
    #: the current bill, then the next one
    bills: list[BillView] = field(default_factory=list)
    #: the answer's cycle publishes no dates (no schedule in city.toml)
    no_dates: bool = False
    exceptions: list[str] = field(default_factory=list)
    calendar_url: str | None = None
    #: near a border: what to ask ("please confirm on the map") and the map's detail there
    confirm: str = ""
    near: dict[str, Any] | None = None
    choices: list[ChoiceLink] = field(default_factory=list)
    marker: Marker | None = None
    error: str = ""
    #: every choice is a point along a street typed without a house number
    street_level: bool = False
    #: the places the choices stand on, as [lon, lat] pairs (the map shows them all)
    points: list[list[float]] = field(default_factory=list)
    #: scheduled boundary changes for this place, in words ("From March 1, 2020 ...")
    changes: list[str] = field(default_factory=list)


# -- routes ----------------------------------------------------------------------------------
@bp.get("/")
def index() -> str:
    """The resident page: the address form, the map and every cycle with its notes."""
    return _page(None, address="")


@bp.get("/lookup")
def lookup() -> tuple[str, int, dict[str, str]]:
    """The answer for ``?address=`` (or ``?lon=&lat=``), as a page or (``fragment=1``) a part."""
    address = (request.args.get("address") or "").strip()
    device = request.args.get("source") == "device"
    result, status = _answer(address, request.args.get("lon"), request.args.get("lat"), device)
    typed = request.args.get("from")
    if typed and status == 200 and result.status == Status.MATCHED:
        # the resident picked one of the places offered for what they typed: staff may make
        # the pair a correction (counted best effort, see City.confirm_choice)
        current_city().confirm_choice(typed[:MAX_ADDRESS_CHARS], request.args.get("chosen", ""))
    # a page about what a resident typed is theirs alone: no shared cache may keep it
    private = "address" in request.args or typed
    headers = {"Cache-Control": "private"} if private else {}
    if request.args.get("fragment"):
        return render_template("_result.html", result=result), status, headers
    # the form shows back what was typed, less control characters (a NUL is not text)
    shown = "".join(ch for ch in address if ch.isprintable())
    return _page(result, address=shown), status, headers


def _answer(
    address: str, lon: str | None, lat: str | None, device: bool = False
) -> tuple[ResultView, int]:
    """Look up what the query string asks; a query that cannot be used is a friendly 400.

    ``device``: the point is the resident's own location (``source=device``), so the answer is
    about the address nearest it, when there is one close enough.
    """
    city = current_city()
    try:
        if address:
            if "\x00" in address:
                return _error(
                    gettext(
                        "That address contains a character that cannot be part of an address. "
                        "Please type the street address, such as 123 Main St."
                    )
                ), 400
            if len(address) > MAX_ADDRESS_CHARS:
                return _error(
                    gettext(
                        "That address is too long. Please type only the street "
                        "address, such as 123 Main St."
                    )
                ), 400
            return _result(city.lookup(address, record=True)), 200
        if lon is not None or lat is not None:
            if device:
                return _device_result(city.lookup(lon=lon, lat=lat)), 200
            return _result(city.lookup(lon=lon, lat=lat)), 200
    except InputError:
        if not address:
            message = gettext(
                "That place on the map could not be read. Please type your address instead."
            )
            return _error(message), 400
        return _error(gettext("Please type your street address, such as 123 Main St.")), 400
    return _error(gettext("Please type your street address, such as 123 Main St.")), 400


# -- building the view -----------------------------------------------------------------------
def _page(result: ResultView | None, *, address: str) -> str:
    city = current_city()
    marker = result.marker if result else None
    # close in on an address in a cycle; show the city around a place outside it
    matched = result is not None and result.status == Status.MATCHED
    near = result.near if result else None
    parts = map_parts(
        "page",
        marker=marker,
        zoom=(NEAR_ZOOM if near else ANSWER_ZOOM) if marker and matched else None,
        fit_city=marker is not None and not matched,
        near=near,
    )
    cycles = city.cycles()
    shared, per_cycle = _split_notes(cycles)
    return render_template(
        "index.html",
        result=result,
        address=address,
        cycles=cycles,
        shared_notes=shared,
        cycle_notes=per_cycle,
        cycle_bills={c.cycle.id: bills(c.schedule) for c in cycles},
        calendar_urls={c.cycle.id: calendar_url(c.cycle.id) for c in cycles if c.schedule},
        feed_urls={c.cycle.id: feed_url(c.cycle.id) for c in cycles},
        all_feed_url=feed_url(),
        map=parts,
    )


def calendar_url(cycle_id: str) -> str:
    """The cycle's iCalendar feed (``/api/v1/cycles/{id}/calendar.ics``), in this page's
    language (``?lang=``: a calendar program that subscribes sends no cookie)."""
    url = f"/api/v1/cycles/{quote(str(cycle_id), safe='')}/calendar.ics"
    lang = page_language_args()
    return f"{url}?{urlencode(lang)}" if lang else url


def _split_notes(cycles: list[CycleAnswer]) -> tuple[list[Note], dict[str, list[Note]]]:
    """Notes for every cycle (shown once) and each cycle's own notes."""
    shared: dict[Any, Note] = {}
    per_cycle: dict[str, list[Note]] = {}
    for c in cycles:
        per_cycle[c.cycle.id] = []
        for note in c.notes:
            if note.cycles == ALL_CYCLES:
                shared.setdefault(note.id if note.id is not None else note.title, note)
            else:
                per_cycle[c.cycle.id].append(note)
    return list(shared.values()), per_cycle


def bills(schedule: ScheduleAnswer | None) -> list[BillView]:
    """The current bill, then the next one, each with its dates in the order they fall (none
    for a cycle that publishes no dates)."""
    if schedule is None:
        return []
    out = []
    for period, heading in (
        (schedule.current_bill, gettext("Current bill")),
        (schedule.next_bill, gettext("Next bill")),
    ):
        if period is None:
            continue
        labelled = [
            (gettext("Mailed"), period.bill),
            (gettext("Payment due"), period.due),
            (gettext("Late penalty after"), period.penalty),
            (gettext("Possible disconnection"), period.disconnect),
        ]
        lines = [
            DateLine(label, day, format_date(day, format="full")) for label, day in labelled if day
        ]
        out.append(BillView(heading, lines))
    return out


def _confirm(answer: Answer) -> tuple[str, dict[str, Any] | None]:
    """What a matched answer near a border asks of the resident, and the map's detail there."""
    confirm = answer.confirm
    if confirm is None or answer.cycle is None or answer.location is None:
        return "", None
    city = current_city()
    others = ", ".join(answer_cycle_name(cid) for cid in confirm.other_cycles)
    text = gettext(
        "Please confirm on the map: this place is only about %(distance)s m from %(others)s. "
        "Check that the marker stands on your home. If your home is across the dashed line, "
        "select it on the map to see its cycle.",
        distance=max(1, round(confirm.distance_m)),
        others=others,
    )
    info = {
        cid: ZoneInfo(cid, local_cycle_name(ref).text, ref.color)
        for cid, ref in city.cycle_refs.items()
    }
    zones = city.boundaries_on(answer.as_of)[1] if answer.as_of else city.boundaries
    near = border_detail(
        zones,
        info,
        answer.location.lon,
        answer.location.lat,
        [answer.cycle.id, *confirm.other_cycles],
    )
    return text, near


def _lookup_href(**params: Any) -> str:
    return url_for("public.lookup") + "?" + urlencode({**params, **lang_args()})


def _choice_href(choice: Choice, typed: str = "") -> str:
    """A link that looks up exactly this candidate: by its address when that address leads back
    to the same place (then the answer page names the address), else by its point.

    ``typed``: what the resident typed, when it missed (``from`` and ``chosen`` in the link: a
    resident who follows it confirms the place, see ``City.confirm_choice``)."""
    confirm = {"from": typed, "chosen": choice.matched_address} if typed else {}
    if choice.matched_address:
        check = current_city().lookup(choice.matched_address)
        loc = check.location
        if (
            check.status == Status.MATCHED
            and loc is not None
            and abs(loc.lon - choice.lon) < 1e-6
            and abs(loc.lat - choice.lat) < 1e-6
        ):
            return _lookup_href(address=choice.matched_address, **confirm)
    return _lookup_href(lon=f"{choice.lon:.7f}", lat=f"{choice.lat:.7f}", **confirm)


def _device_result(point: Answer) -> ResultView:
    """The answer for a device's location: the nearest address's, as if it had been typed,
    when one is within ``NEAREST_ADDRESS_M``; else the point's, named "your location"."""
    city = current_city()
    loc = point.location
    near = city.geocoder.nearest(loc.lon, loc.lat, within_m=NEAREST_ADDRESS_M) if loc else None
    if near is None:
        return _result(point, device=True)
    typed = city.lookup(near.matched_address)
    found = typed.location
    if (
        typed.status == Status.MATCHED
        and found is not None
        and abs(found.lon - near.lon) < 1e-6
        and abs(found.lat - near.lat) < 1e-6
    ):
        return _result(typed, nearest=True)
    # the address alone is ambiguous (it exists twice): answer its very point, named
    return _result(
        city.lookup(lon=near.lon, lat=near.lat), place=near.matched_address, nearest=True
    )


def _where(answer: Answer, device: bool = False) -> str:
    loc = answer.location
    if loc is None:
        return ""
    if loc.matched_address:
        return loc.matched_address
    if device:
        return gettext("Your location (%(lat).5f, %(lon).5f)", lat=loc.lat, lon=loc.lon)
    return gettext(
        "The place you picked on the map (%(lat).5f, %(lon).5f)", lat=loc.lat, lon=loc.lon
    )


def _effective_changes(answer: Answer) -> list[str]:
    """Each scheduled boundary change for the answer's place, as a sentence."""
    lines = []
    for change in answer.effective_changes:
        day = format_date(change.date, format="long")
        if change.cycle is None:
            lines.append(
                gettext("From %(date)s this address is outside the billing cycles.", date=day)
            )
        else:
            lines.append(
                gettext(
                    "From %(date)s this address is in %(name)s.",
                    date=day,
                    name=local_cycle_name(change.cycle).text,
                )
            )
    return lines


def _match_note(answer: Answer, nearest: bool = False) -> str:
    loc = answer.location
    if loc is None:
        return ""
    if nearest:
        return gettext(
            "This is the address nearest your location. If it is not your address, "
            "type your address above."
        )
    kind = loc.match_type.value
    if kind == "fuzzy":
        return gettext(
            "This is the closest match to what you typed. If it is not your "
            "address, check the spelling and try again."
        )
    if kind == "interpolated":
        return gettext(
            "This house number is placed between its neighbours on the street, so "
            "its position on the map is approximate."
        )
    if kind == "street":
        return gettext(
            "We matched the street, not the house number. The whole street is in this cycle."
        )
    return ""


def pick_choices(candidates: Sequence[Choice], limit: int) -> list[Choice]:
    """At most ``limit`` candidates, taking turns between each (street, cycle) group so that a
    long street crossing four cycles offers a place in each, then in the geocoder's order.

    >>> from cyclemap.city import Choice
    >>> from cyclemap.geocode import MatchType
    >>> c = [Choice(f"{n} {s}", 0, 0, cid, 0.5, MatchType.STREET)
    ...      for n, s, cid in [(1, "N A ST", "2"), (3, "N A ST", "2"), (5, "S A ST", "3")]]
    >>> [x.matched_address for x in pick_choices(c, 2)]
    ['1 N A ST', '5 S A ST']
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(candidates):
        street = c.matched_address.split(" ", 1)[-1]
        groups.setdefault((street, c.cycle_id), []).append(i)
    picked: list[int] = []
    queues = list(groups.values())
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return [candidates[i] for i in sorted(picked)]


def _result(
    answer: Answer, *, device: bool = False, nearest: bool = False, place: str = ""
) -> ResultView:
    """The view of one lookup answer. Only ``matched`` (or an ambiguous answer whose places
    all share one cycle) names a cycle.

    ``device``: the answer is about the resident's own location; ``nearest``: about the address
    nearest it (named ``place`` when the answer itself does not name it).
    """
    query = answer.query.get("address") or ""
    missed = query if answer.status in MISS_STATUSES else ""
    choices = [
        ChoiceLink(
            label=c.matched_address,
            href=_choice_href(c, missed),
            cycle=answer_cycle(c.cycle_id) if c.cycle_id else None,
        )
        for c in pick_choices(answer.candidates, MAX_CHOICES)
    ]
    marker = None
    if answer.location is not None:
        if nearest:
            label = gettext("The address nearest your location")
        elif device:
            label = gettext("Your location")
        elif answer.location.matched_address:
            label = gettext("Your address")
        else:
            label = gettext("The place you picked")
        marker = Marker(answer.location.lon, answer.location.lat, label)
    schedule = answer.schedule.to_dict() if answer.schedule else {}
    street_level = bool(answer.candidates) and all(
        c.match_type is MatchType.STREET for c in answer.candidates
    )
    common: dict[str, Any] = {
        "answer": answer,
        "choices": choices,
        "marker": marker,
        "street_level": street_level,
        "points": [[round(c.lon, 7), round(c.lat, 7)] for c in answer.candidates],
    }
    if answer.cycle is not None:
        common.update(
            bills=bills(answer.schedule),
            no_dates=answer.schedule is None,
            exceptions=[e["text"] for e in schedule.get("exceptions", []) if e.get("text")],
            calendar_url=calendar_url(answer.cycle.id) if answer.schedule else None,
        )
    name = local_cycle_name(answer.cycle).text if answer.cycle else ""
    if answer.status == Status.MATCHED:
        where = place or _where(answer, device)
        confirm, near = _confirm(answer)
        common.update(confirm=confirm, near=near)
        return ResultView(
            status=Status.MATCHED,
            heading=gettext("Your billing cycle is %(name)s", name=name),
            summary=gettext("%(place)s is in %(name)s.", place=where, name=name),
            title=gettext("%(name)s: %(place)s", name=name, place=where),
            where=where,
            match_note=_match_note(answer, nearest),
            changes=_effective_changes(answer),
            **common,
        )
    if answer.status == Status.AMBIGUOUS:
        if answer.cycle is not None:
            summary = gettext(
                "Several places match “%(query)s”. All of them are in %(name)s.",
                query=query,
                name=name,
            )
            heading = gettext("Your billing cycle is %(name)s", name=name)
        else:
            summary = gettext("Several places match “%(query)s”. Please choose yours.", query=query)
            heading = gettext("Which one is your address?")
        return ResultView(
            status=Status.AMBIGUOUS,
            heading=heading,
            summary=summary,
            title=gettext("Choose your address"),
            **common,
        )
    if answer.status == Status.OUTSIDE:
        where = place or _where(answer, device)
        return ResultView(
            status=Status.OUTSIDE,
            heading=gettext("Outside the city's billing cycles"),
            summary=gettext("%(place)s is outside the city's utility billing cycles.", place=where),
            title=gettext("Outside the billing cycles"),
            where=where,
            **common,
        )
    return ResultView(
        status=Status.NOT_FOUND,
        heading=gettext("We could not find that address"),
        summary=gettext("We could not find “%(query)s”.", query=query),
        title=gettext("Address not found"),
        **common,
    )


def answer_cycle(cycle_id: str) -> CycleRef:
    """The cycle of an id an answer names (named by its id alone when the config lacks it)."""
    return current_city().cycle_refs.get(cycle_id) or CycleRef(cycle_id, cycle_id, "#666666")


def answer_cycle_name(cycle_id: str) -> str:
    """A cycle's display name in this page's language ("Ciclo 2" on a Spanish page)."""
    return local_cycle_name(answer_cycle(cycle_id)).text


def _error(message: str) -> ResultView:
    return ResultView(
        status="error",
        heading=gettext("Please check your address"),
        summary=message,
        title=gettext("Please check your address"),
        error=message,
    )


@bp.app_context_processor
def _page_globals() -> dict[str, Any]:
    """Every page (the error page too) knows the city and its phone number."""
    try:
        city = current_city()
    except KeyError:  # an app without a city (never in practice): pages render without it
        return {}
    phone = city.config.raw.get("city", {}).get("phone")
    return {"city": city.config, "phone": str(phone) if phone else None}
