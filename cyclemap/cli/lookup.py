"""``cyclemap lookup``: which cycle is this address (or point) in?"""

from __future__ import annotations

import json
import sys

import click

from ..decide import Status
from . import Context, handles_errors, main, pass_context

#: answer status -> exit status (interface.md)
STATUS_EXIT = {Status.MATCHED: 0, Status.AMBIGUOUS: 3, Status.NOT_FOUND: 4, Status.OUTSIDE: 5}


@main.command()
@click.argument("address", required=False)
@click.option("--lon", type=float, help="Longitude (decimal degrees) instead of an address.")
@click.option("--lat", type=float, help="Latitude (decimal degrees) instead of an address.")
@click.option(
    "--date",
    "on_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Answer as of this day (notes and next dates); default: today in the city.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the lookup answer as JSON.")
@pass_context
@handles_errors
def lookup(
    ctx: Context,
    address: str | None,
    lon: float | None,
    lat: float | None,
    on_date,
    as_json: bool,
):
    """Find the billing cycle of ADDRESS, or of the point --lon X --lat Y.

    Exit status: 0 matched, 3 ambiguous, 4 not found, 5 outside the service area.
    """
    if address is None and (lon is None or lat is None):
        raise click.UsageError("give an ADDRESS, or both --lon and --lat")
    today = on_date.date() if on_date else None
    answer = ctx.city().lookup(address, lon=lon, lat=lat, today=today)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), indent=2))
    else:
        click.echo(describe(answer))
    sys.exit(STATUS_EXIT[answer.status])


def describe(answer) -> str:
    """A plain-text account of a lookup answer for a terminal."""
    lines = []
    loc = answer.location
    if answer.status == Status.MATCHED:
        lines.append(f"{answer.cycle.name} (cycle {answer.cycle.id})")
    elif answer.status == Status.AMBIGUOUS:
        head = "Several places match; "
        head += f"all are in {answer.cycle.name}." if answer.cycle else "pick one:"
        lines.append(head)
    elif answer.status == Status.NOT_FOUND:
        lines.append("No such address was found.")
        if answer.candidates:
            lines.append("Did you mean:")
    else:
        lines.append("That place is outside every billing cycle (outside the service area).")
    if loc is not None:
        where = loc.matched_address or f"{loc.lon:.6f}, {loc.lat:.6f}"
        lines.append(f"  at {where}  [{loc.match_type.value}, score {loc.score:.2f}]")
    for c in answer.candidates:
        cyc = f"cycle {c.cycle_id}" if c.cycle_id else "outside"
        lines.append(f"  - {c.matched_address}  ({cyc}, score {c.score:.2f})")
    if answer.confirm is not None:
        c = answer.confirm
        lines.append(
            f"  near a border: cycle {', '.join(c.other_cycles)} is {c.distance_m:.1f} m away"
            " (the place is approximate: confirm it on the map)"
        )
    if answer.schedule is not None:
        sched = answer.schedule
        for what, bill in (("current bill", sched.current_bill), ("next bill", sched.next_bill)):
            if bill is not None:
                dates = ", ".join(f"{kind} {day.isoformat()}" for kind, day in bill.dates().items())
                lines.append(f"  {what}: {dates}")
    elif answer.cycle is not None:
        lines.append("No billing dates are published for this cycle.")
    for change in answer.effective_changes:
        then = change.cycle.name if change.cycle else "outside every billing cycle"
        lines.append(f"  From {change.date.isoformat()} (a scheduled boundary change): {then}")
    for note in answer.notes:
        lines.append(f"* {note.title} ({note.updated_on.isoformat()})")
    if answer.cycle is not None and not answer.notes:
        lines.append("No billing notes are posted for this cycle today.")
    return "\n".join(lines)
