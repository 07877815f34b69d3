"""The dashboard (``GET /staff/``): what is live now, what is scheduled, notes in force, and the
latest changes."""

from __future__ import annotations

from flask import current_app, render_template

from ...store import VersionInfo
from ..context import current_city, current_store
from .access import bp, current_staff, login_required
from .views import audit_line, today

#: how many audit entries the dashboard shows
RECENT_CHANGES = 8


def _versions(history: list[VersionInfo]) -> dict[str, list[VersionInfo]]:
    """A layer's history entries: the one in force today and the scheduled ones, soonest first."""
    live = [v for v in history if v.state == "live"]
    scheduled = [v for v in history if v.state == "scheduled"]
    scheduled.sort(key=lambda v: (v.effective, v.entry))
    return {"live": live[:1], "scheduled": scheduled}


@bp.get("/")
@login_required()
def dashboard() -> str:
    """Live and scheduled boundary and address versions, notes in force, recent changes."""
    store = current_store()
    day = today()
    account = current_staff()
    return render_template(
        "staff/dashboard.html",
        today=day,
        boundaries=_versions(store.boundary_history(today=day)),
        addresses=_versions(store.address_history(today=day)),
        notes=current_city().notes(None, day),
        recent=[audit_line(e) for e in store.audit_log(limit=RECENT_CHANGES)],
        can_download=account is not None and account.can("publisher"),
        has_endpoint=lambda name: name in current_app.view_functions,
    )
