"""The audit log (``GET /staff/audit``): every change, newest first, fifty to a page: who, when
(city time), what, and each changed field before and after."""

from __future__ import annotations

from flask import render_template, request

from ..context import current_store
from .access import bp, login_required
from .views import ENTITY_LABELS, Pages, audit_line

#: entries per page
PAGE_SIZE = 50


@bp.get("/audit")
@login_required()
def audit() -> str:
    """One page of the audit log (``?page=N``), optionally of one kind of thing (``?entity=``)."""
    store = current_store()
    entity = request.args.get("entity") or None
    if entity not in ENTITY_LABELS:
        entity = None
    pages = Pages.of(request.args.get("page"), PAGE_SIZE, store.audit_count(entity=entity))
    entries = store.audit_log(entity=entity, limit=pages.size, offset=pages.offset)
    return render_template(
        "staff/audit.html",
        lines=[audit_line(e) for e in entries],
        pages=pages,
        entity=entity,
        entities=ENTITY_LABELS,
    )
