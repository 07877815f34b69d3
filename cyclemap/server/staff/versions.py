"""Boundary and address layer versions in the workspace: upload, check, preview, publish, undo.

The same pages serve both layers (``/staff/boundaries/...`` and ``/staff/addresses/...``):

1. ``GET  /staff/<layer>/new``: the upload form (the file field is labelled "Boundary file" or
   "Address file");
2. ``POST /staff/<layer>/new``: the upload is vetted (``cyclemap.publishing.vet_upload``: size,
   format, content, zip bombs), kept in the store (so any server can publish it) and the clerk
   is sent to its preview;
3. ``GET  /staff/<layer>/preview/<token>``: the validation report in plain words, the impact
   (old and new zones on one map with each located problem, the moves table, per-cycle counts)
   and the changing addresses as CSV (``.../changes.csv``), then the publish form (a message and
   an optional effective date);
4. ``POST /staff/<layer>/preview/<token>/publish``: publishes through the core, which checks
   the file again; a refusal leaves the live version alone and says why on the preview;
5. ``GET  /staff/<layer>``: the history, each older version with "Roll back to this version".

Every page needs a publisher account. HTTP only: the work is ``cyclemap.publishing``'s.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf.file import FileField
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ... import publishing
from ...errors import AddressFileError, BoundaryFileError, InputError, NotFoundError, RefusedError
from ...maps import PreviewPoint, build_preview_map, city_zones, render_parts
from ..context import current_city, current_store
from ..http import MAX_ID, body_limit, csp_allow
from ..maps import tile_layer
from .access import bp, login_required, signed_in_username
from .forms import IsoDateField, StaffForm

#: the words of validation problem kinds, for a clerk
PROBLEM_LABELS = {
    "unreadable": "The file cannot be read",
    "no-features": "No zones in the file",
    "no-crs": "No coordinate system",
    "bad-coordinates": "Coordinates out of range",
    "non-polygon": "A feature that is not an area",
    "invalid-geometry": "A broken shape",
    "missing-id": "A zone without a cycle id",
    "duplicate-id": "A cycle id used twice",
    "unknown-cycle": "A cycle this city does not have",
    "missing-cycle": "A cycle with no zone",
    "swapped-axes": "Longitude and latitude swapped",
    "overlap": "Zones overlap",
    "gap": "A gap between zones",
    "sliver": "A sliver",
    "outside-limits": "Outside the city limits",
    "crs-ignored": "Coordinate system given twice",
    "addresses-outside": "Addresses outside every zone",
}


@dataclass(frozen=True)
class Layer:
    """One versioned layer as the pages show it."""

    kind: str  # boundaries | addresses (also the URL part and the staging kind)
    title: str
    file_label: str
    noun: str
    diff: Callable[..., Any]
    history: Callable[..., Any]


LAYERS = {
    "boundaries": Layer(
        "boundaries",
        "Boundaries",
        "Boundary file",
        "boundary file",
        publishing.diff_boundaries,
        publishing.boundary_history,
    ),
    "addresses": Layer(
        "addresses",
        "Address layer",
        "Address file",
        "address file",
        publishing.diff_addresses,
        publishing.address_history,
    ),
}


class UploadForm(StaffForm):
    """Choose a file to check."""

    file = FileField("Boundary file")
    submit = SubmitField("Check this file")


class PublishForm(StaffForm):
    """Say what changed, and from when."""

    message = TextAreaField(
        "What changed",
        validators=[InputRequired("Say what changed: it goes in the history."), Length(max=500)],
        render_kw={"rows": 3},
    )
    effective = IsoDateField("In force from (optional)", validators=[Optional()])
    submit = SubmitField("Publish")


class RollbackForm(StaffForm):
    """Roll back to one stored version."""

    version = HiddenField(validators=[InputRequired()])
    message = StringField("Why", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Roll back to this version")


def _layer(kind: str) -> Layer:
    layer = LAYERS.get(kind)
    if layer is None:
        abort(404)
    return layer


#: what an upload's request may hold beyond the file itself (the form's other fields, the
#: multipart framing): a body larger than the limit plus this is refused before it is read
UPLOAD_SLACK_BYTES = 1024 * 1024


def _upload_limit() -> int:
    return int(current_app.config.get("STAFF_UPLOAD_MAX_BYTES") or publishing.MAX_UPLOAD_BYTES)


def _route(rule: str, suffix: str, methods: tuple[str, ...] = ("GET",)) -> Callable:
    """Register a publisher-only view for both layers: ``/boundaries<rule>`` as endpoint
    ``staff.boundaries<suffix>`` and ``/addresses<rule>`` as ``staff.addresses<suffix>``."""

    def decorator(view: Callable) -> Callable:
        guarded = login_required("publisher")(view)
        for kind in LAYERS:
            bp.add_url_rule(
                f"/{kind}{rule}",
                endpoint=f"{kind}{suffix}",
                view_func=guarded,
                methods=list(methods),
                defaults={"kind": kind},
            )
        return view

    return decorator


def _url(kind: str, suffix: str = "", **values: Any) -> str:
    return url_for(f"staff.{kind}{suffix}", **values)


# -- history and rollback -----------------------------------------------------------------------
@_route("", "")
def versions(kind: str) -> str:
    """A layer's history, newest first, with "Roll back to this version" on the others."""
    layer = _layer(kind)
    entries = layer.history(current_city())
    live = next((e for e in entries if e.state == "live"), None)
    return render_template(
        "staff/versions.html",
        layer=layer,
        entries=entries,
        live=live,
        form=RollbackForm(),
    )


@_route("/rollback", "_rollback", ("POST",))
def rollback(kind: str) -> Response:
    """Make a stored version the live one again, now (a new entry in the history)."""
    layer = _layer(kind)
    form = RollbackForm()
    asked = str(form.version.data)
    if not form.validate_on_submit() or not (
        asked.isascii() and asked.isdigit() and int(asked) <= MAX_ID
    ):
        flash("Choose a version to roll back to.", "problem")
        return redirect(_url(kind))
    version = int(asked)
    operation = (
        publishing.rollback_boundaries if kind == "boundaries" else publishing.rollback_addresses
    )
    try:
        result = operation(
            current_city(), version, author=signed_in_username(), message=form.message.data
        )
    except NotFoundError as exc:
        flash(exc.message, "problem")
        return redirect(_url(kind))
    moved = ""
    if kind == "boundaries":
        moved = f": {result.addresses_changing:,} addresses change cycle"
    flash(f"Version {version} of the {layer.title.lower()} is live again{moved}.", "done")
    return redirect(_url(kind))


# -- upload -------------------------------------------------------------------------------------
def _upload_page(layer: Layer, form: UploadForm, status: int = 200) -> tuple[str, int]:
    form.file.label.text = layer.file_label
    html = render_template(
        "staff/version_upload.html",
        layer=layer,
        form=form,
        limit_mb=_upload_limit() / 1e6,
        formats=publishing.uploads.FORMATS[layer.kind],
    )
    return html, status


@_route("/new", "_new")
def version_new(kind: str) -> tuple[str, int]:
    """The upload form."""
    return _upload_page(_layer(kind), UploadForm())


@_route("/new", "_upload", ("POST",))
@body_limit(lambda: _upload_limit() + UPLOAD_SLACK_BYTES)
def version_upload(kind: str) -> Response | tuple[str, int]:
    """Vet the upload, keep it in the store and show its preview."""
    layer = _layer(kind)
    limit = _upload_limit()
    length = request.content_length or 0
    if length > limit + 64 * 1024:  # refuse before reading the body
        form = UploadForm(meta={"csrf": False})
        form.form_errors_extra.append(
            f"The file is {length / 1e6:,.1f} MB; the limit is "
            f"{limit / 1e6:,.0f} MB. Nothing was uploaded."
        )
        return _upload_page(layer, form, 413)
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(layer, form, 400)
    upload = request.files.get(form.file.name)
    if upload is None or not upload.filename:
        form.file.errors = [f"Choose the {layer.noun} to check."]
        return _upload_page(layer, form, 400)
    data = upload.read(limit + 1)
    with tempfile.TemporaryDirectory(prefix="cyclemap-upload-") as folder:
        try:
            publishing.vet_upload(upload.filename, data, kind, folder, max_bytes=limit)
        except InputError as exc:
            form.form_errors_extra.append(f"{exc.message}. Nothing was uploaded.")
            return _upload_page(layer, form, 422)
    token = current_store().stage_upload(
        kind, Path(upload.filename).name, data, author=signed_in_username()
    )
    return redirect(_url(kind, "_preview", token=token))


# -- preview and publish ------------------------------------------------------------------------
def _with_staged(kind: str, token: str, work: Callable[[Path], Any]) -> Any:
    """Run ``work`` on the staged upload, written to a temporary file under its own name."""
    staged = current_store().staged_upload(token, kind)
    with tempfile.TemporaryDirectory(prefix="cyclemap-staged-") as folder:
        path = publishing.vet_upload(staged.filename, staged.data, kind, folder)
        return work(path), staged


def _problem_points(report: Any) -> list[PreviewPoint]:
    points = []
    for p in getattr(report, "problems", []):
        if p.location is not None:
            points.append(PreviewPoint(p.location[0], p.location[1], p.message))
    return points


def _preview_map(kind: str, diff: Any) -> Any:
    city = current_city()
    config = city.config
    before = city_zones(city, boundaries=city.boundaries_on(city.today())[1])
    after = None
    problems: list[PreviewPoint] = []
    changes = []
    colors = {cid: c.color for cid, c in config.cycles.items()}
    if kind == "boundaries":
        if diff.after is not None:
            after = city_zones(city, boundaries=diff.after)
        problems = _problem_points(diff.validation)
        listed = diff.impact.changes if diff.impact else ()
    else:
        listed = [c for c in diff.impact.changes if c.from_cycle != c.to_cycle]
    for c in listed:
        label = f"{c.address}: {c.from_cycle or 'outside'} → {c.to_cycle or 'outside'}"
        changes.append(PreviewPoint(c.lon, c.lat, label, colors.get(c.to_cycle, "#444444")))
    tiles = tile_layer()
    if tiles is not None:
        csp_allow("img-src", tiles.origin)
    m = build_preview_map(
        before,
        after,
        center=config.center,
        zoom=config.zoom,
        tiles=tiles,
        problems=problems,
        changes=changes,
    )
    return render_parts(m)


def _preview_page(
    kind: str, token: str, form: PublishForm | None = None, status: int = 200
) -> tuple[str, int]:
    layer = _layer(kind)
    city = current_city()
    try:
        diff, staged = _with_staged(kind, token, lambda path: layer.diff(city, path))
    except (BoundaryFileError, AddressFileError) as exc:
        flash(f"{exc.message}. Nothing was published.", "problem")
        page = render_template("staff/version_unreadable.html", layer=layer, message=exc.message)
        return page, 422
    cycles = {cid: c.name for cid, c in city.config.cycles.items()}
    html = render_template(
        "staff/version_preview.html",
        layer=layer,
        token=token,
        staged=staged,
        diff=diff,
        data=diff.to_dict(),
        cycles=cycles,
        labels=PROBLEM_LABELS,
        form=form or PublishForm(),
        map=_preview_map(kind, diff),
        today=city.today(),
    )
    return html, status


@_route("/preview/<token>", "_preview")
def version_preview(kind: str, token: str) -> tuple[str, int]:
    """The validation report, the impact and the publish form of a staged upload."""
    return _preview_page(kind, token)


@_route("/preview/<token>/changes.csv", "_changes_csv")
def version_changes_csv(kind: str, token: str) -> Response:
    """Every address of a staged upload that changes cycle, as CSV."""
    layer = _layer(kind)
    diff, staged = _with_staged(kind, token, lambda path: layer.diff(current_city(), path))
    stem = Path(staged.filename).stem or "upload"
    return Response(
        diff.csv_text(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{stem}-changes.csv"'},
    )


@_route("/preview/<token>/publish", "_publish", ("POST",))
def version_publish(kind: str, token: str) -> Response | tuple[str, int]:
    """Publish a staged upload (checked again by the core); refusals leave the live version."""
    layer = _layer(kind)
    form = PublishForm()
    if not form.validate_on_submit():
        return _preview_page(kind, token, form, 400)
    city = current_city()
    effective: dt.date | None = form.effective.data

    def publish(path: Path) -> Any:
        if kind == "boundaries":
            return publishing.publish_boundaries(
                city,
                path,
                author=signed_in_username(),
                message=form.message.data,
                effective=effective,
            )
        if effective is not None:
            raise InputError("an address layer is imported now; leave the date empty")
        return publishing.import_addresses(
            city, path, author=signed_in_username(), message=form.message.data
        )

    try:
        result, _ = _with_staged(kind, token, publish)
    except RefusedError as exc:
        form.form_errors_extra.append(exc.message)
        return _preview_page(kind, token, form, 422)
    except InputError as exc:
        form.form_errors_extra.append(exc.message)
        return _preview_page(kind, token, form, 400)
    current_store().drop_staged(token)
    when = (
        f"It takes effect on {result.effective:%B} {result.effective.day}, {result.effective.year}"
        if result.effective
        else "It is live now"
    )
    flash(
        f"Published version {result.version} of the {layer.title.lower()}. {when}: "
        f"{result.addresses_changing:,} addresses change cycle.",
        "done",
    )
    return redirect(_url(kind))
