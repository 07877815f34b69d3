"""Lookup misses and aliases (``/staff/misses``): what residents typed that found nothing or
several places, ranked by how often, and the aliases that make them match.

Who may do what: every staff account (editor and up) sees the misses and the aliases; adding,
editing and retiring an alias, and dismissing a miss, take a **publisher**, because an alias
decides which place, hence which cycle, an address answers with, as an address layer version
does. The work is the core's: ``City.add_alias`` checks an alias against the address layer in
force and keeps it in the store (versioned, audited); every server's geocoder reads it within
seconds, without a restart.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ...errors import InputError
from ..context import current_city, current_store
from .access import bp, current_staff, login_required
from .forms import ALIAS_KIND_LABELS, AliasForm

#: misses listed per kind at most
MISSES_SHOWN = 100


def _page(form: AliasForm, status: int = 200):
    city = current_city()
    if city.misses is not None:
        city.misses.flush()  # this server's latest counts; the others' arrive within seconds
    store = current_store()
    account = current_staff()
    html = render_template(
        "staff/misses.html",
        form=form,
        streets=store.list_misses("open", kind="street", limit=MISSES_SHOWN),
        picked=store.list_misses("open", kind="address", limit=MISSES_SHOWN),
        aliases=store.list_aliases(),
        problems=city.alias_problems,
        layer_streets=sorted(set(city.geocoder.layer.street_labels)),
        kinds=ALIAS_KIND_LABELS,
        can_edit=account is not None and account.can("publisher"),
    )
    return html, status


@bp.get("/misses")
@login_required()
def misses():
    """Lookups that missed, most frequent first, and the aliases in force."""
    return _page(AliasForm())


@bp.post("/misses/aliases")
@login_required("publisher")
def misses_alias_add():
    """Add an alias (from the form, or from a miss's row: then the miss is marked aliased)."""
    form = AliasForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    author = current_staff().username  # type: ignore[union-attr]
    try:
        alias = current_city().add_alias(
            form.kind.data,
            form.source.data or "",
            form.target.data or "",
            author=author,
            message=form.message.data or "",
        )
        if form.miss_id.data:
            current_store().set_miss_status(form.miss_id.data, "aliased", author=author)
    except InputError as exc:
        form.form_errors_extra.append(exc.message)
        return _page(form, 400)
    flash(f"Alias {alias.alias_id} added: {alias.source} is now read as {alias.target}.", "done")
    return redirect(url_for("staff.misses"))


@bp.post("/misses/aliases/<int:alias_id>/edit")
@login_required("publisher")
def misses_alias_edit(alias_id: int) -> Response | tuple[str, int]:
    """A new version of an alias with another target (the old version is kept, retired)."""
    try:
        alias = current_city().edit_alias(
            alias_id,
            request.form.get("target", ""),
            author=current_staff().username,  # type: ignore[union-attr]
            message=request.form.get("message", ""),
        )
    except InputError as exc:
        form = AliasForm(formdata=None)
        form.form_errors_extra.append(exc.message)
        return _page(form, 400)
    flash(f"Alias {alias_id} is now version {alias.version}: read as {alias.target}.", "done")
    return redirect(url_for("staff.misses"))


@bp.post("/misses/aliases/<int:alias_id>/retire")
@login_required("publisher")
def misses_alias_retire(alias_id: int) -> Response:
    """Take an alias out of force (kept, with its versions, in the audit log)."""
    alias = current_store().retire_alias(
        alias_id,
        author=current_staff().username,  # type: ignore[union-attr]
    )
    flash(f"Alias {alias_id} retired: {alias.source} is no longer read as {alias.target}.", "done")
    return redirect(url_for("staff.misses"))


@bp.post("/misses/<int:miss_id>/dismiss")
@login_required("publisher")
def misses_dismiss(miss_id: int) -> Response:
    """Hide a miss that no alias should fix (a typo, a place outside the city)."""
    miss = current_store().set_miss_status(
        miss_id,
        "dismissed",
        author=current_staff().username,  # type: ignore[union-attr]
    )
    flash(f"{miss.key} dismissed.", "done")
    return redirect(url_for("staff.misses"))
