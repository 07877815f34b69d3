"""``cyclemap boundaries ...``: check a boundary file before it goes live.

::

    cyclemap boundaries validate new-cycles.zip --id-property CYCLE
    cyclemap boundaries validate cycles.geojson --json

``validate`` exits 0 when the file is valid (warnings allowed), 1 when it has problems, 2 when it
cannot be read at all. Run for a city, it also checks the file against the city's cycle ids,
address points and map centre.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import InputError
from . import Context, handles_errors, main, os_user, pass_context, resume_collector

if TYPE_CHECKING:
    from ..boundaries import ValidationReport
    from ..config import BoundaryConfig


#: the human report shows this many problems (and warnings) of each kind
PER_KIND = 20


def _city_boundary_config(ctx: Context) -> BoundaryConfig | None:
    """The city's ``[boundaries]`` table; None if the city folder can't be read."""
    from ..config import load_city_config
    from ..errors import ConfigError

    try:
        return load_city_config(ctx.city_dir).boundaries
    except (ConfigError, OSError):
        return None


def city_facts(ctx: Context) -> dict[str, Any]:
    """What the city knows that a boundary file must agree with, for ``validate_boundaries``:
    its cycle ids, its address points (lons, lats) and its map centre. Empty when the city
    folder cannot be read; without address points when its address layer cannot be."""
    from ..config import load_city_config
    from ..errors import AddressFileError, ConfigError
    from ..geocode import read_addresses

    try:
        config = load_city_config(ctx.city_dir)
    except (ConfigError, OSError):
        return {}
    facts: dict[str, Any] = {"known_cycles": list(config.cycles), "map_center": config.center}
    try:
        layer = read_addresses(
            config.addresses.file, config.addresses.columns, config.addresses.crs
        )
        facts["address_points"] = (layer.lon, layer.lat)
    except (AddressFileError, ConfigError, OSError) as exc:
        click.echo(f"Note: the city's address points were not read ({exc}); not checked", err=True)
    return facts


def render_report(report: ValidationReport) -> str:
    """The human-readable validation report: what was read, then each problem on one line."""
    s = report.summary
    lines = []
    if report.readable:
        ids = ", ".join(s.get("ids", [])) or "none"
        lines.append(f"Checked {report.source}: {s.get('features', 0)} features; ids: {ids}")
        if s.get("crs"):
            origin = "declared by the file" if s.get("crs_from") == "file" else "named by you"
            measured = f"; areas measured in {s['measured_in']}" if "measured_in" in s else ""
            lines.append(f"  CRS {s['crs']} ({origin}){measured}")
        if s.get("area_km2"):
            areas = ", ".join(f"{cid}: {km2:,.3f} km²" for cid, km2 in s["area_km2"].items())
            lines.append(f"  Zone areas: {areas}")
        if s.get("hairline_gaps_ignored"):
            from ..boundaries.validate import HAIRLINE_WIDTH_M

            lines.append(
                f"  Ignored {s['hairline_gaps_ignored']} hairline gaps (under "
                f"{HAIRLINE_WIDTH_M * 100:g} cm wide, "
                f"{s['hairline_gaps_m2']:,.1f} m² in all: reprojection or rounding)"
            )
    else:
        lines.append(f"Checked {report.source}")
    for title, items in (("Problems", report.problems), ("Warnings", report.warnings)):
        if items:
            lines.append(f"{title} ({len(items)}):")
            shown: dict[str, int] = {}
            for p in items:
                shown[p.kind] = shown.get(p.kind, 0) + 1
                if shown[p.kind] <= PER_KIND:
                    lines.append(f"  - {p.kind}: {p.message}")
            lines.extend(
                f"  ... and {n - PER_KIND} more {kind} (all of them with --json)"
                for kind, n in shown.items()
                if n > PER_KIND
            )
    if not report.readable:
        lines.append("UNREADABLE")
    elif report.valid:
        extra = f" with {len(report.warnings)} warnings to read" if report.warnings else ""
        lines.append(f"VALID{extra}")
    else:
        lines.append(f"INVALID: {len(report.problems)} problems")
    return "\n".join(lines)


@main.group()
def boundaries() -> None:
    """Check, compare, publish and roll back the cycle zone boundaries."""


@boundaries.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--id-property",
    default=None,
    help="The property holding each zone's cycle id (default: the city's id_property).",
)
@click.option("--crs", default=None, help="The CRS, e.g. EPSG:2263, for a file that declares none.")
@click.option(
    "--limits",
    type=click.Path(path_type=Path),
    default=None,
    help="City limits file: uncovered area inside it is an error, not a warning.",
)
@click.option(
    "--overlap-tolerance",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Overlaps up to this many m² are ignored.",
)
@click.option(
    "--gap-tolerance",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Gaps up to this many m² are ignored.",
)
@click.option(
    "--write-repaired",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the repaired zones (GeoJSON) here when the report offers a repair.",
)
@pass_context
@handles_errors
def validate(
    ctx: Context,
    file: Path,
    as_json: bool,
    id_property: str | None,
    crs: str | None,
    limits: Path | None,
    overlap_tolerance: float,
    gap_tolerance: float,
    write_repaired: Path | None,
) -> None:
    """Report every problem with a boundary FILE (GeoJSON, GeoPackage, zipped Shapefile, KML).

    Exits 0 when valid, 1 when it has problems, 2 when it cannot be read.
    """
    from ..boundaries import validate_boundaries

    resume_collector()  # it opens neither the store nor the city, and reads a file of any size

    city = _city_boundary_config(ctx)
    id_property = id_property or (city.id_property if city else "cycle")
    limits = limits or (city.limits if city else None)
    report = validate_boundaries(file, id_property, crs, limits=limits, **city_facts(ctx))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_report(report))
    if report.repaired is not None:
        if write_repaired is not None:
            try:
                write_repaired.write_text(json.dumps(report.repaired.to_geojson()))
            except OSError as exc:
                raise InputError(f"cannot write {write_repaired}: {exc}") from exc
            click.echo(f"Repaired zones written to {write_repaired}", err=True)
        else:
            click.echo("A repaired copy is available: add --write-repaired FIXED.geojson", err=True)
    elif write_repaired is not None and not report.valid:
        click.echo("No repair is offered for these problems; nothing written", err=True)
    sys.exit(0 if report.valid else 1 if report.readable else 2)


# ---------------------------------------------------------------- staff: versions
def render_moves(data: dict) -> list[str]:
    """The moves and per-cycle counts of a diff, as aligned text lines."""
    lines = [
        f"Compared with live version {data['live_version']}: "
        f"{data['addresses_changing']:,} of {data['addresses_compared']:,} addresses change cycle"
    ]
    for move in data["moves"]:
        lines.append(
            f"  {move['from'] or 'outside'} -> {move['to'] or 'outside'}: "
            f"{move['addresses']:,} addresses"
        )
    if data["cycles"]:
        lines.append("  cycle   addresses before -> after   area km² before -> after")
        for c in data["cycles"]:
            lines.append(
                f"  {c['id']:<7} {c['addresses_before']:>16,} -> {c['addresses_after']:<7,}"
                f" {c['area_m2_before'] / 1e6:>14.3f} -> {c['area_m2_after'] / 1e6:.3f}"
            )
    return lines


def write_text_file(path: Path, text: str) -> None:
    """Write a report file (UTF-8), or say in one line why it cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc}") from exc


@boundaries.command("diff")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the impact as JSON.")
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every changing address here (address, from_cycle, to_cycle, lon, lat).",
)
@pass_context
@handles_errors
def diff(ctx: Context, file: Path, as_json: bool, csv_out: Path | None) -> None:
    """Validate FILE, then show which addresses it moves to another cycle.

    Exits 0 when compared (a valid file), 1 when the file is invalid, 2 when unreadable.
    """
    from ..publishing import diff_boundaries

    result = diff_boundaries(ctx.city(), file)
    data = result.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_report(result.validation))
        if result.impact is not None:
            click.echo("\n".join(render_moves(data)))
    if csv_out is not None and result.impact is not None:
        write_text_file(csv_out, result.csv_text())
        click.echo(f"{result.impact.addresses_changing:,} changing addresses written to {csv_out}",
                   err=True)  # fmt: skip
    report = result.validation
    sys.exit(0 if result.valid else 1 if report.readable else 2)


@boundaries.command("publish")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-m", "--message", required=True, help="What changed (kept in the history).")
@click.option(
    "--effective",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="In force from this day (city time, start of day) instead of now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
@handles_errors
def publish(ctx: Context, file: Path, message: str, effective, as_json: bool) -> None:
    """Validate FILE and make it the live boundaries, now or from --effective DATE.

    Exits 0 when published, 1 when refused (invalid file; the live version is unchanged),
    2 when unreadable or given bad input.
    """
    from ..publishing import publish_boundaries

    result = publish_boundaries(
        ctx.city(),
        file,
        author=os_user(),
        message=message,
        effective=effective.date() if effective else None,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    when = f"from {result.effective.isoformat()}" if result.effective else "now"
    click.echo(
        f"Published boundary version {result.version}, in force {when}: "
        f"{result.addresses_changing:,} addresses change cycle"
    )


def echo_history(entries: list, as_json: bool, empty: str = "No versions yet.") -> None:
    """Print a layer's history, newest first: JSON (``{"versions": [...]}``) or one line each."""
    if as_json:
        click.echo(json.dumps({"versions": [e.to_dict() for e in entries]}, indent=2))
        return
    lines = []
    for e in entries:
        when = e.effective.isoformat() if e.effective else "always"
        lines.append(
            f"{e.state:<9} v{e.version:<4} {e.action:<8} from {when:<10} "
            f"{e.created:%Y-%m-%d %H:%M} UTC  {e.author}: {e.message}"
        )
    click.echo("\n".join(lines) if lines else empty)


@boundaries.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
@pass_context
@handles_errors
def history(ctx: Context, as_json: bool) -> None:
    """Every published boundary version and rollback, newest first (live, scheduled or past)."""
    from ..publishing import boundary_history

    echo_history(boundary_history(ctx.city()), as_json)


@boundaries.command("rollback")
@click.argument("version", type=click.IntRange(min=1))
@click.option("-m", "--message", default=None, help="Why (kept in the history).")
@pass_context
@handles_errors
def rollback(ctx: Context, version: int, message: str | None) -> None:
    """Make an older boundary VERSION the live one again, now (a new entry in the history).

    Exits 0 when done, 4 when there is no such version.
    """
    from ..publishing import rollback_boundaries

    result = rollback_boundaries(ctx.city(), version, author=os_user(), message=message)
    click.echo(
        f"Boundary version {result.version} is live again: "
        f"{result.addresses_changing:,} addresses change cycle"
    )
