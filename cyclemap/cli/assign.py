"""``cyclemap assign``: add cycle columns to every row of a billing export (CSV in, CSV out).

A thin shell over ``cyclemap.batch``: it opens the file and the city, shows a progress bar when
standard error is a terminal, and prints a summary at the end. Exit status 0 when the file was
written (even if some rows were not matched), 2 for bad input, with a one-line message.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import Context, handles_errors, main, pass_context

if TYPE_CHECKING:
    from ..batch import CsvReport

STATUS_LABELS = {
    "matched": "matched",
    "ambiguous": "ambiguous",
    "not_found": "not found",
    "outside_service_area": "outside service area",
}


@main.command()
@click.argument("input_file", metavar="IN.csv")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="OUT.csv",
    help="Where to write the rows with the added columns ('-' for standard output).",
)
@click.option(
    "--address-column",
    "address_columns",
    multiple=True,
    metavar="C",
    help="The column holding the address (default: guessed). Repeat it to join parts, "
    "e.g. --address-column house_number --address-column street.",
)
@click.option("--lon-column", metavar="X", help="Take points from this longitude column instead.")
@click.option("--lat-column", metavar="Y", help="Take points from this latitude column instead.")
@click.option(
    "--encoding",
    metavar="E",
    help="The input's encoding (default: detected; UTF-8 with or without BOM, else cp1252).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the rows that need a person (not matched) with the reason, to FILE.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Processes that geocode (default: all cores once geocoding proves heavy; 1 = serial).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@pass_context
@handles_errors
def assign(
    ctx: Context,
    input_file: str,
    output: str,
    address_columns: tuple[str, ...],
    lon_column: str | None,
    lat_column: str | None,
    encoding: str | None,
    rejects: Path | None,
    workers: int | None,
    quiet: bool,
) -> None:
    """Add cycle, status, match_type, score, matched_address, lon and lat to every row of IN.csv.

    Every input row and column is kept, in order. The address column is guessed from its name
    (address, service_address, svc_addr...) or its values unless --address-column names it.

    \b
    Examples:
      cyclemap assign accounts.csv -o accounts-cycles.csv --rejects to-check.csv
      cyclemap assign export.csv -o out.csv --address-column "SVC ADDR"
      cyclemap assign meters.csv -o out.csv --lon-column X --lat-column Y
    """
    from ..batch import assign_csv, plan_csv  # the core loads on use, not with the CLI

    table, where = plan_csv(
        input_file,
        address_columns=address_columns,
        lon_column=lon_column,
        lat_column=lat_column,
        encoding=encoding,
    )
    city = ctx.city()
    started = time.perf_counter()
    show_bar = not quiet and sys.stderr.isatty() and table.estimated_rows > 0
    if show_bar:
        with click.progressbar(
            length=table.estimated_rows,
            label="Assigning",
            file=sys.stderr,
            show_eta=True,
            show_pos=True,
            item_show_func=lambda rate: rate,
        ) as bar:
            done = 0

            def progress(n: int) -> None:
                nonlocal done
                done += n
                rate = done / max(time.perf_counter() - started, 1e-9)
                bar.update(n, f"{rate:,.0f} rows/s")

            report = assign_csv(
                city, table, where, output, rejects=rejects, workers=workers, progress=progress
            )
    else:
        report = assign_csv(city, table, where, output, rejects=rejects, workers=workers)
    if not quiet:
        click.echo(summary(report, output, rejects), err=True)


def summary(report: CsvReport, output: str, rejects: Path | None) -> str:
    """The end-of-run account printed on standard error."""
    from ..batch import STATUSES

    t = report.tally
    rate = t.rows / t.seconds if t.seconds > 0 else 0.0
    how = f"{t.workers} worker processes" if t.workers > 1 else "1 process"
    lines = [
        f"Assigned {t.rows:,} rows in {t.seconds:.2f} s ({rate:,.0f} rows/s, {how}); "
        f"addresses from {report.source}; {t.geocoded:,} distinct addresses geocoded",
    ]
    width = max(len(v) for v in STATUS_LABELS.values())
    for status in STATUSES:
        n = t.by_status[status]
        share = f"{100 * n / t.rows:5.1f}%" if t.rows else ""
        lines.append(f"  {STATUS_LABELS[status]:<{width}}  {n:>10,}  {share}")
    if t.by_match_type:
        kinds = ", ".join(f"{kind} {n:,}" for kind, n in t.by_match_type.most_common())
        lines.append(f"  by match type: {kinds}")
    if rejects is not None:
        lines.append(f"  {report.rejects:,} rows need a person: written to {rejects}")
    elif t.needs_review:
        lines.append(f"  {t.needs_review:,} rows need a person (add --rejects FILE to list them)")
    if report.ragged:
        lines.append(f"  {report.ragged:,} rows had more fields than the header (kept after ours)")
    if report.replaced:
        lines.append("  the input's cycle columns (from an earlier run) were replaced")
    if report.blank_rows:
        was = "it was" if report.blank_rows == 1 else "they were"
        lines.append(f"  {_rows(report.blank_rows, 'blank row')} kept as {was}")
    if report.header_rows:
        what = _rows(report.header_rows, "repeated header row")
        lines.append(f"  {what} kept as a header (not looked up)")
    utf8 = report.encoding in {"utf-8", "utf-8-sig"}
    if report.bom:
        written = "UTF-8 with a BOM, as the input" if utf8 else "UTF-8 with a BOM, for Excel"
    else:
        written = "UTF-8"
    read = "" if utf8 else f"; input read as {report.encoding}"
    lines.append(f"Wrote {output} ({written}{read}; boundary version {report.boundary_version})")
    return "\n".join(lines)


def _rows(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")
