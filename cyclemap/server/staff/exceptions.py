"""Schedule exceptions (``/staff/exceptions``): the dates when a cycle's usual schedule does not
hold (no bill, a moved bill, no penalty, no disconnections). List, add, remove; every change is
audited with the account's name. Residents see the exception's text with the dates it touches.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ...billing import ScheduleException
from ...errors import InputError
from ..context import current_city, current_store
from .access import bp, login_required, signed_in_username
from .forms import ExceptionForm
from .views import EXCEPTION_KIND_LABELS, today


def _page(form: ExceptionForm, status: int = 200):
    day = today()
    found = current_store().list_exceptions()
    current = [e for e in found if e.last_date >= day]
    past = [e for e in found if e.last_date < day]
    html = render_template(
        "staff/exceptions.html",
        form=form,
        current=current,
        past=past,
        kinds=EXCEPTION_KIND_LABELS,
        today=day,
    )
    return html, status


def _form() -> ExceptionForm:
    form = ExceptionForm()
    form.set_cycle_choices(current_city().config.cycles)
    return form


@bp.get("/exceptions")
@login_required()
def exceptions():
    """Every schedule exception (upcoming and recent first, then past), and the form to add one."""
    return _page(_form())


@bp.post("/exceptions")
@login_required()
def exceptions_add():
    """Add a schedule exception; its rules (which kinds take which dates) are the core's."""
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        exception = ScheduleException.from_mapping(
            {
                "kind": form.kind.data,
                "date": form.date.data,
                "until": form.until.data,
                "new_date": form.new_date.data,
                "cycles": form.chosen_cycles(),
                "text": (form.text.data or "").strip(),
            }
        )
        new_id = current_store().add_exception(
            exception,
            author=signed_in_username(),
        )
    except InputError as exc:
        form.form_errors_extra.append(exc.message)
        return _page(form, 400)
    flash(
        f"Exception {new_id} added: {EXCEPTION_KIND_LABELS[exception.kind].lower()} on "
        f"{exception.date.isoformat()}.",
        "done",
    )
    return redirect(url_for("staff.exceptions"))


@bp.post("/exceptions/<int:exception_id>/remove")
@login_required()
def exceptions_remove(exception_id: int) -> Response:
    """Remove a schedule exception (the audit log keeps what it was)."""
    current_store().remove_exception(
        exception_id,
        author=signed_in_username(),
    )
    flash(f"Exception {exception_id} removed. The audit log keeps what it said.", "done")
    return redirect(url_for("staff.exceptions"))
