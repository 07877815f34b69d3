"""The staff pages that change what residents see: notes, schedule exceptions, and the record
of it (audit log, dashboard), plus the admins' accounts page. Real app, real SQLite, test client.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from .conftest import DEMO_TODAY
from .staff import PASSWORD, add_accounts, csrf_token, sign_in

TODAY_ISO = "2020-02-21"  # the tests' clock (conftest.DEMO_TODAY)
BODY = (
    "Pay at [City Hall](https://example.org/pay) or by phone.\n\n"
    "- no late fee until **March 4**\n- <script>alert(1)</script> stays text"
)


@pytest.fixture
def staff_app(fresh_app):
    add_accounts(fresh_app)
    return fresh_app


@pytest.fixture
def store(staff_app):
    return staff_app.extensions["cyclemap.store"]


@pytest.fixture
def ann(staff_app):
    client = staff_app.test_client()
    assert sign_in(client, "ann").status_code == 302
    return client


@pytest.fixture
def eve(staff_app):
    client = staff_app.test_client()
    assert sign_in(client, "eve").status_code == 302
    return client


def submit(client, path: str, data: dict, page: str | None = None):
    """POST a staff form with the CSRF token of the page it is on."""
    token = csrf_token(client.get(page or path).text)
    return client.post(path, data={"csrf_token": token, **data})


def articles(page_html: str, title: str) -> list[str]:
    """Every rendered note (``<article class="note">``) with this title in a page."""
    found = re.findall(r'<article class="note">.*?</article>', page_html, flags=re.S)
    return [a for a in found if f">{html.escape(title, quote=False)}</h" in a]


def note_form(**overrides) -> dict:
    form = {
        "title": "Water main work on Broadway",
        "body": BODY,
        "cycles": ["2", "3"],
        "starts": "",
        "ends": "2020-03-31",
        "display_order": "0",
        "save": "Save note",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


# -- notes -----------------------------------------------------------------------------------
def test_preview_is_exactly_what_residents_see(staff_app, eve, store) -> None:
    form = note_form(save=None, preview="Preview")
    preview = submit(eve, "/staff/notes/new", form)
    assert preview.status_code == 200
    assert store.list_notes(DEMO_TODAY, include_all=True)[-1].title != form["title"]
    (previewed,) = articles(preview.text, form["title"])
    assert "&lt;script&gt;" in previewed and "<script>" not in previewed
    assert '<a href="https://example.org/pay" rel="noopener noreferrer nofollow">' in previewed
    # the form keeps what was typed, for saving
    assert 'value="Water main work on Broadway"' in preview.text

    saved = submit(eve, "/staff/notes/new", note_form())
    assert saved.status_code == 302
    note_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    resident = staff_app.test_client().get("/")
    shown = articles(resident.text, form["title"])
    assert len(shown) == 2  # under Cycle 2 and under Cycle 3
    assert shown[0] == shown[1] == previewed
    # the editor of the saved note previews the same thing
    (again,) = articles(eve.get(f"/staff/notes/{note_id}").text, form["title"])
    assert again == previewed


SPANISH = {
    "title_es": "Obras en la tubería principal de Broadway",
    "body_es": "Pague en el [Ayuntamiento](https://example.org/pay) o por teléfono.",
}


def test_a_note_in_spanish_from_the_editor(staff_app, eve, store) -> None:
    page = eve.get("/staff/notes/new").text
    assert re.search(r'<label[^>]*for="title_es"[^>]*>Spanish title</label>', page)
    assert re.search(r'<label[^>]*for="body_es"[^>]*>Spanish body \(Markdown\)</label>', page)
    assert '<html lang="en">' in page  # the workspace itself is English
    # the preview shows it as the Spanish pages will
    preview = submit(eve, "/staff/notes/new", note_form(save=None, preview="Preview", **SPANISH))
    assert preview.status_code == 200
    spanish = preview.text.split('id="note-preview-es"')[1].split("</section>")[0]
    assert f">{SPANISH['title_es']}</h4>" in spanish and "Ayuntamiento" in spanish
    assert re.search(r"Actualizado el \d+ de febrero de 2020", spanish)
    saved = submit(eve, "/staff/notes/new", note_form(**SPANISH))
    assert saved.status_code == 302
    note = store.get_note(int(saved.headers["Location"].rsplit("/", 1)[1]))
    assert (note.title_es, note.body_es) == (SPANISH["title_es"], SPANISH["body_es"])
    (entry,) = store.note_history(note.id)
    assert entry.after["title_es"] == SPANISH["title_es"]
    resident = staff_app.test_client().get("/?lang=es").text
    assert len(articles(resident, SPANISH["title_es"])) == 2  # under Cycles 2 and 3
    assert not articles(resident, "Water main work on Broadway")
    # the editor shows the Spanish text back, and taking it away leaves the English note
    edit = eve.get(f"/staff/notes/{note.id}").text
    assert f'value="{SPANISH["title_es"]}"' in edit
    cleared = submit(eve, f"/staff/notes/{note.id}", note_form(title_es="", body_es=""))
    assert cleared.status_code == 302 and store.get_note(note.id).title_es is None
    resident = staff_app.test_client().get("/?lang=es").text
    assert '<span lang="en">Water main work on Broadway</span> <span class="lang-marker">' in (
        resident
    )


def test_without_spanish_the_preview_shows_the_english_note_marked(eve) -> None:
    preview = submit(eve, "/staff/notes/new", note_form(save=None, preview="Preview"))
    spanish = preview.text.split('id="note-preview-es"')[1].split("</section>")[0]
    assert '<span lang="en">Water main work on Broadway</span>' in spanish
    assert "(en inglés)" in spanish


def test_saving_a_note_records_the_account(staff_app, eve, store) -> None:
    saved = submit(eve, "/staff/notes/new", note_form(cycles=None, all_cycles="y"))
    note_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    note = store.get_note(note_id)
    assert note.cycles == "all" and note.body_markdown == BODY
    assert note.ends.isoformat() == "2020-03-31" and note.posted.isoformat() == TODAY_ISO
    (entry,) = store.note_history(note_id)
    assert (entry.actor, entry.action) == ("eve", "add")
    page = eve.get(saved.headers["Location"])
    assert f"Note {note_id} saved. Residents see it now, until March 31, 2020." in page.text
    api = staff_app.test_client().get("/api/v1/cycles/4").get_json()
    assert note_id in [n["id"] for n in api["notes"]]


def test_editing_a_note(staff_app, eve, store) -> None:
    note = store.list_notes(DEMO_TODAY)[0]
    path = f"/staff/notes/{note.id}"
    page = eve.get(path)
    assert f'value="{html.escape(note.title)}"' in page.text
    response = submit(
        eve,
        path,
        note_form(title="Bills are late this month", body=note.body_markdown, cycles=["1"]),
    )
    assert response.status_code == 302
    changed = store.get_note(note.id)
    assert changed.title == "Bills are late this month" and changed.cycles == ("1",)
    last = store.note_history(note.id)[-1]
    assert (last.actor, last.action, last.before["title"], last.after["title"]) == (
        "eve",
        "edit",
        note.title,
        "Bills are late this month",
    )
    resident = staff_app.test_client().get("/")
    assert len(articles(resident.text, "Bills are late this month")) == 1


def test_expiring_a_note(staff_app, eve, store) -> None:
    note = store.list_notes(DEMO_TODAY)[0]
    assert articles(staff_app.test_client().get("/").text, note.title)
    response = submit(eve, f"/staff/notes/{note.id}/expire", {}, page=f"/staff/notes/{note.id}")
    assert response.status_code == 302
    assert store.get_note(note.id).expired
    assert not articles(staff_app.test_client().get("/").text, note.title)
    listing = eve.get("/staff/notes").text
    assert "Expired" in listing and html.escape(note.title) in listing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Give the note a title."),
        ({"body": ""}, "body", "Write the text residents read under the title."),
        ({"cycles": None}, "all_cycles", "Choose the cycles this is for, or All cycles."),
        ({"starts": "2020-04-01"}, "ends", "The last day shown is before the first day shown."),
        ({"ends": "31/03/2020"}, "ends", "write the date as YYYY-MM-DD"),
        ({"display_order": "first"}, "display_order", "Not a valid integer value."),
        ({"cycles": ["9"]}, "all_cycles", "No such choice: 9."),
        ({"title_es": "Cortes"}, "body_es", "Write the Spanish body too"),
        ({"body_es": "Ninguno."}, "title_es", "Give the Spanish title too"),
        ({"title_es": "x" * 201, "body_es": "b"}, "title_es", "at most 200 characters"),
    ],
)
def test_a_bad_note_is_refused_field_by_field(eve, store, changes, field, message) -> None:
    before = store.audit_count()
    response = submit(eve, "/staff/notes/new", note_form(**changes))
    assert response.status_code == 400
    assert 'class="error-summary"' in response.text
    summary = response.text.split('class="error-summary"')[1].split("</div>")[0]
    link = re.search(rf'<a href="#{field}">([^<]*)</a>', summary)
    assert link and message in html.unescape(link.group(1)), summary
    assert 'aria-invalid="true"' in response.text or field == "all_cycles"
    assert store.audit_count() == before


def test_notes_list_shows_every_note(eve, store) -> None:
    page = eve.get("/staff/notes")
    assert page.status_code == 200
    for note in store.list_notes(DEMO_TODAY, include_all=True):
        assert f'href="/staff/notes/{note.id}"' in page.text
    assert eve.get("/staff/notes/9999").status_code == 404


# -- schedule exceptions ---------------------------------------------------------------------
def test_adding_and_removing_an_exception(staff_app, eve, store) -> None:
    form = {
        "kind": "no_penalty",
        "date": "2020-03-11",
        "until": "2020-03-13",
        "new_date": "",
        "cycles": ["3"],
        "text": "No late penalty this week: the payment office is closed.",
    }
    response = submit(eve, "/staff/exceptions", form)
    assert response.status_code == 302
    added = [e for e in store.list_exceptions() if e.text == form["text"]]
    assert len(added) == 1 and added[0].cycles == ("3",) and added[0].until.day == 13
    page = eve.get("/staff/exceptions").text
    assert "Exception" in page and "No late penalty" in page and form["text"] in page
    entry = store.audit_log(entity="exception", limit=1)[0]
    assert (entry.actor, entry.action) == ("eve", "add")

    removed = submit(eve, f"/staff/exceptions/{added[0].id}/remove", {}, page="/staff/exceptions")
    assert removed.status_code == 302
    assert form["text"] not in [e.text for e in store.list_exceptions()]
    entry = store.audit_log(entity="exception", limit=1)[0]
    assert (entry.actor, entry.action, entry.before["text"]) == ("eve", "remove", form["text"])


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"kind": "bill_moved", "new_date": ""}, "new_date", "Give the date the bill went out"),
        ({"kind": "no_bill", "new_date": "2020-03-20"}, "new_date", "Only a bill that went out"),
        ({"until": "2020-03-01"}, "until", "Until is before the date."),
        ({"text": ""}, "text", "Say in a sentence what residents should know."),
        ({"date": ""}, "date", "Give the date it concerns."),
    ],
)
def test_a_bad_exception_is_refused(eve, store, form, field, message) -> None:
    before = [e.to_mapping() for e in store.list_exceptions()]
    data = {"kind": "no_bill", "date": "2020-03-18", "cycles": ["1"], "text": "No bill."}
    response = submit(eve, "/staff/exceptions", {**data, **form})
    assert response.status_code == 400
    link = re.search(rf'<a href="#{field}">([^<]*)</a>', response.text)
    assert link and message in html.unescape(link.group(1))
    assert [e.to_mapping() for e in store.list_exceptions()] == before


# -- the record ------------------------------------------------------------------------------
def test_audit_log_pages_newest_first(staff_app, eve, store) -> None:
    note = store.list_notes(DEMO_TODAY)[0]
    for i in range(52):
        store.edit_note(note.id, author=f"clerk{i}", today=DEMO_TODAY, display_order=i)
    page1 = eve.get("/staff/audit")
    assert page1.status_code == 200
    assert "Page 1 of " in page1.text and 'rel="next"' in page1.text
    first_row = page1.text.split("<tbody>")[1].split("</tr>")[0]
    assert ">clerk51<" in first_row  # newest first
    assert "display order" in first_row and "50" in first_row and "51" in first_row
    page2 = eve.get("/staff/audit?page=2")
    assert ">clerk1<" in page2.text and ">clerk51<" not in page2.text
    assert 'rel="prev"' in page2.text
    assert "Page 1 of" in eve.get("/staff/audit?page=0").text
    only_staff = eve.get("/staff/audit?entity=staff").text
    assert ">clerk1<" not in only_staff and "Staff account eve" in only_staff


def test_dashboard(staff_app, eve, store) -> None:
    page = eve.get("/staff/")
    assert page.status_code == 200
    assert "Live: version 1" in page.text
    for note in store.list_notes(DEMO_TODAY):
        assert html.escape(note.title) in page.text
    assert "Latest changes" in page.text and "Staff account eve" in page.text
    assert "Today in Cape Girardeau, Missouri is February 21, 2020." in page.text
    assert "Nothing scheduled." in page.text
    zones = store.get_boundaries(1)
    store.publish_boundaries(
        zones, "pat", "Sprigg St to Cycle 3", effective=dt.date(2020, 3, 1), today=DEMO_TODAY
    )
    page = eve.get("/staff/").text
    assert "Live: version 1" in page  # the new one is not in force yet
    assert "Version 2 goes live on <strong>March 1, 2020</strong>: Sprigg St to Cycle 3" in page


# -- accounts --------------------------------------------------------------------------------
def test_admin_adds_and_changes_accounts(ann, store) -> None:
    new = {"username": "Rae", "role": "publisher", "password": PASSWORD, "confirm": PASSWORD}
    assert submit(ann, "/staff/accounts", new).status_code == 302
    rae = store.get_staff("rae")
    assert (rae.role, rae.active) == ("publisher", True)
    assert submit(ann, "/staff/accounts/rae/role", {"role": "editor"}, "/staff/accounts")
    assert store.get_staff("rae").role == "editor"
    submit(ann, "/staff/accounts/rae/active", {"active": "0"}, "/staff/accounts")
    assert store.get_staff("rae").active is False
    page = ann.get("/staff/accounts").text
    assert "rae is deactivated: it can no longer sign in." in page
    entries = store.audit_log(entity="staff", entity_id="rae")
    assert [(e.actor, e.action) for e in entries] == [
        ("ann", "deactivate"),
        ("ann", "role"),
        ("ann", "add"),
    ]
    reset = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    submit(ann, "/staff/accounts/eve/password", reset, "/staff/accounts")
    assert store.authenticate("eve", "a brand new passphrase") is not None


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"password": "short", "confirm": "short"}, "password", "too weak"),
        ({"confirm": PASSWORD + "!"}, "confirm", "The two passwords differ"),
        ({"username": "eve"}, "username", "already a staff account"),
        ({"username": "r s"}, "username", "no spaces"),
    ],
)
def test_a_bad_account_is_refused(ann, store, form, field, message) -> None:
    before = store.list_staff()
    data = {"username": "rae", "role": "editor", "password": PASSWORD, "confirm": PASSWORD}
    response = submit(ann, "/staff/accounts", {**data, **form})
    assert response.status_code == 400
    link = re.search(rf'<a href="#{field}">([^<]*)</a>', response.text)
    assert link and message in html.unescape(link.group(1))
    assert store.list_staff() == before


def test_the_last_admin_cannot_step_down(ann, store) -> None:
    response = submit(ann, "/staff/accounts/ann/role", {"role": "editor"}, "/staff/accounts")
    assert response.status_code == 400
    assert "That change was not made" in response.text and "only active admin" in response.text
    assert store.get_staff("ann").role == "admin"


def test_every_kind_and_role_has_words() -> None:
    from cyclemap.billing import EXCEPTION_KINDS
    from cyclemap.server.staff.forms import ROLE_LABELS
    from cyclemap.server.staff.views import EXCEPTION_KIND_LABELS
    from cyclemap.store import ROLES

    assert set(EXCEPTION_KIND_LABELS) == set(EXCEPTION_KINDS)
    assert tuple(ROLE_LABELS) == ROLES
