"""The notes editor: ``/staff/notes`` (every note), ``/staff/notes/new``, ``/staff/notes/<id>``.

A note is Markdown; "Preview" shows it exactly as residents will see it (the resident page's own
``note`` macro over ``Note.html``, which is ``cyclemap.notes.render_markdown``), without saving:
in English, and as the Spanish pages show it (its Spanish title and body, or the English note
marked "(en inglés)" when it has none). The workspace itself is in English.
"Save note" stores it (``Store.add_note`` / ``edit_note``, audited with the account's name);
``/staff/notes/<id>/expire`` takes it down now.
"""

from __future__ import annotations

from typing import Any

from flask import flash, get_template_attribute, redirect, render_template, request, url_for
from flask_babel import force_locale
from markupsafe import Markup
from werkzeug.wrappers import Response

from ...billing import Note
from ...errors import InputError
from ..context import current_city, current_store
from .access import bp, login_required, signed_in_username
from .forms import NoteForm
from .views import audit_line, long_date, note_state, today


def _form(note: Note | None = None) -> NoteForm:
    city = current_city()
    form = NoteForm()
    form.set_cycle_choices(city.config.cycles)
    if note is not None and request.method == "GET":
        form.title.data = note.title
        form.body.data = note.body_markdown
        form.title_es.data = note.title_es or ""
        form.body_es.data = note.body_es or ""
        form.show_cycles(note.cycles)
        form.starts.data = note.starts
        form.ends.data = note.ends
        form.display_order.data = note.display_order
    return form


def _draft(form: NoteForm, original: Note | None) -> Note:
    """The note as the form says it, as residents would see it after saving today."""
    day = today()
    return Note(
        id=original.id if original else None,
        title=(form.title.data or "").strip(),
        body_markdown=form.body.data or "",
        title_es=form.title_es.data or None,
        body_es=form.body_es.data or None,
        cycles=form.chosen_cycles(),
        posted=original.posted if original else day,
        updated=day,
        starts=form.starts.data,
        ends=form.ends.data,
        display_order=form.display_order.data or 0,
        expired=original.expired if original else False,
    ).validated(current_city().config.cycles)


def _shown_when(note: Note) -> str:
    """When residents see the note, in words."""
    state = note_state(note, today())
    if state == "expired":
        return "Expired: residents no longer see it."
    if state == "ended":
        return f"Ended on {long_date(note.ends)}: residents no longer see it."
    if state == "scheduled":
        until = f" to {long_date(note.ends)}" if note.ends else ""
        return f"Residents will see it from {long_date(note.starts)}{until}."
    return (
        f"Residents see it now, until {long_date(note.ends)}."
        if note.ends
        else ("Residents see it now, until it is expired.")
    )


#: the resident language the preview shows besides English
PREVIEW_LANGUAGE = "es"


def spanish_preview(note: Note, level: int = 4) -> Markup:
    """The note as a Spanish page shows it (the resident ``note`` macro in Spanish)."""
    with force_locale(PREVIEW_LANGUAGE):
        return get_template_attribute("_macros.html", "note")(note, level=level)


def _editor(form: NoteForm, note: Note | None, preview: Note | None, status: int = 200):
    history = (
        [audit_line(e) for e in current_store().note_history(note.stored_id)][::-1] if note else []
    )
    shown = preview or note
    html = render_template(
        "staff/note_edit.html",
        form=form,
        note=note,
        preview=preview,
        preview_es=spanish_preview(preview) if preview else None,
        shown_when=_shown_when(shown) if shown else "",
        history=history,
    )
    return html, status


def _save_or_preview(form: NoteForm, note: Note | None):
    if not form.validate_on_submit():
        return _editor(form, note, None, 400 if request.method == "POST" else 200)
    try:
        draft = _draft(form, note)
    except InputError as exc:
        form.form_errors_extra.append(exc.message)
        return _editor(form, note, None, 400)
    if not form.save.data:  # "Preview", or Enter in a field: show, do not save
        return _editor(form, note, draft)
    store = current_store()
    author = signed_in_username()
    fields: dict[str, Any] = {  # the keywords of both add_note and edit_note
        "title": draft.title,
        "body": draft.body_markdown,
        "title_es": draft.title_es,
        "body_es": draft.body_es,
        "cycles": draft.cycles,
        "starts": draft.starts,
        "ends": draft.ends,
        "display_order": draft.display_order,
    }
    known = current_city().config.cycles
    if note is None:
        note_id = store.add_note(**fields, author=author, today=today(), known_cycles=known)
        flash(f"Note {note_id} saved. {_shown_when(store.get_note(note_id))}", "done")
    else:
        note_id = note.stored_id
        saved = store.edit_note(note_id, author=author, today=today(), known_cycles=known, **fields)
        flash(f"Note {note_id} saved. {_shown_when(saved)}", "done")
    return redirect(url_for("staff.notes_edit", note_id=note_id))


@bp.get("/notes")
@login_required()
def notes() -> str:
    """Every note, shown or not, with when residents see it."""
    day = today()
    everything = current_store().list_notes(day, include_all=True)
    rows: list[dict[str, Any]] = [{"note": n, "state": note_state(n, day)} for n in everything]
    order = {"shown": 0, "scheduled": 1, "ended": 2, "expired": 3}
    rows.sort(key=lambda r: order[r["state"]])
    return render_template("staff/notes.html", rows=rows, today=day)


@bp.post("/notes")
@bp.route("/notes/new", methods=["GET", "POST"])
@login_required()
def notes_new():
    """A new note: the form, its preview, saving it."""
    form = _form()
    if request.method == "GET":
        return _editor(form, None, None)
    return _save_or_preview(form, None)


@bp.route("/notes/<int:note_id>", methods=["GET", "POST"])
@login_required()
def notes_edit(note_id: int):
    """An existing note: the form (with the preview of what residents see now), saving it."""
    note = current_store().get_note(note_id)
    form = _form(note)
    if request.method == "GET":
        return _editor(form, note, note)
    return _save_or_preview(form, note)


@bp.post("/notes/<int:note_id>/expire")
@login_required()
def notes_expire(note_id: int) -> Response:
    """Take a note down now (kept, with its history)."""
    store = current_store()
    before = store.get_note(note_id)
    store.expire_note(note_id, author=signed_in_username())
    if before.expired:
        flash(f"Note {note_id} was already expired.", "done")
    else:
        flash(f"Note {note_id} expired: residents no longer see it.", "done")
    return redirect(url_for("staff.notes_edit", note_id=note_id))
