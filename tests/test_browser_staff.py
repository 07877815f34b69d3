"""The staff workspace in a real headless Chromium, against the real app on a loopback port.

A clerk signs in, edits a note with its preview, sees it on the residents' page and signs out;
the keyboard alone can do it; every staff page has zero axe-core violations, on a desktop and on
a 390 x 844 phone, and nothing on it is wider than the phone. Chromium keeps the ``Secure``
session cookie on ``http://127.0.0.1`` and ``http://localhost`` (so ``SESSION_COOKIE_SECURE``
stays on by default). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cyclemap.config import DEFAULT_CITY

from .staff import PASSWORD, add_accounts
from .test_browser import ARGS, ARTIFACTS, BROWSER_MARKS, CHROMIUM, Session, axe_violations, text

pytestmark = BROWSER_MARKS

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="module")
def staff_live_app(tmp_path_factory, session_clock):
    from cyclemap.server import create_app

    app = create_app(
        {
            "TESTING": True,
            "CITY": str(DEFAULT_CITY),
            "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('staff') / 'cyclemap.sqlite'}",
            "CLOCK": session_clock,
            "RATELIMIT": "",
            "TILES": "none",
        }
    )
    add_accounts(app)
    return app


@pytest.fixture(scope="module")
def server_port(staff_live_app) -> Iterator[int]:
    """The app served by werkzeug on a free loopback port, in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, staff_live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def base_url(server_port) -> str:
    return f"http://127.0.0.1:{server_port}"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def session(browser, base_url) -> Iterator[Session]:
    s = Session(browser, base_url, viewport={"width": 1280, "height": 900})
    yield s
    s.close()


def sign_in(s: Session, username: str = "ann") -> None:
    page = s.page
    s.goto("/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").first.wait_for()


def check(s: Session, *expected: int) -> None:
    """``Session.check``, allowing the console's note of each refusal the test asked for (a
    form answered 400, a wrong password 401...): nothing else."""
    noted = "console error: Failed to load resource: the server responded with a status of "
    s.errors[:] = [e for e in s.errors if not any(e.startswith(f"{noted}{c} ") for c in expected)]
    s.check()


def session_cookie(s: Session) -> dict:
    (cookie,) = [c for c in s.context.cookies() if c["name"] == "cyclemap_staff"]
    return cookie


# -- the clerk's path ------------------------------------------------------------------------
def test_sign_in_edit_a_note_see_it_sign_out(session, staff_live_app):
    page = session.page
    session.goto("/staff/")  # not signed in: the sign-in page, then back here
    assert "/staff/login" in page.url
    page.get_by_label("Username").fill("eve")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    cookie = session_cookie(session)  # Chromium kept the Secure cookie on http://127.0.0.1
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    store = staff_live_app.extensions["cyclemap.store"]
    city = staff_live_app.extensions["cyclemap.city"]
    note = [n for n in city.notes(None) if n.cycles != "all"][0]
    page.get_by_role("link", name="Notes", exact=True).click()
    page.get_by_role("link", name=note.title).click()
    page.get_by_role("heading", name=f"Edit note {note.id}").wait_for()
    new_text = (
        "Bills for this cycle go out on **March 2**. Pay at [City Hall](https://example.org)."
    )
    page.get_by_label("Text").fill(new_text)
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#note-preview .note__body")
    assert text(preview) == "Bills for this cycle go out on March 2. Pay at City Hall."
    assert preview.locator("strong").inner_text() == "March 2"
    assert store.get_note(note.id).body_markdown != new_text  # a preview saves nothing
    page.get_by_role("button", name="Save note").click()
    page.get_by_text(f"Note {note.id} saved.").wait_for()
    assert store.get_note(note.id).body_markdown == new_text
    assert store.note_history(note.id)[-1].actor == "eve"

    resident = session.new_page()
    resident.goto(session.base_url + "/")
    shown = resident.locator("article.note", has_text="go out on March 2")
    assert shown.count() == len(note.cycles)
    assert "Pay at City Hall" in text(shown.first)
    resident.close()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    session.goto("/staff/notes")
    assert "/staff/login" in page.url
    session.check()


def test_secure_cookie_is_kept_on_localhost(browser, server_port):
    s = Session(browser, f"http://localhost:{server_port}")
    try:
        sign_in(s, "pat")
        assert session_cookie(s)["secure"]
        s.goto("/staff/notes")
        assert "/staff/notes" in s.page.url  # still signed in on the next request
        s.check()
    finally:
        s.close()


def test_keyboard_alone_signs_in_and_errors_take_focus(session):
    page = session.page
    session.goto("/staff/login")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    page.locator("#username").focus()
    page.keyboard.type("ann")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "password"
    page.keyboard.type("wrong password here")
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    summary.wait_for()
    # autofocus: a screen reader reads the summary first, the keyboard starts from it
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert "The username or password is not right." in text(summary)
    page.locator("#password").focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    # an error in the note form: its summary links to the field, and following it focuses it
    session.goto("/staff/notes/new")
    page.get_by_role("button", name="Save note").click()
    page.locator(".error-summary").wait_for()
    page.get_by_role("link", name="Give the note a title.").click()
    assert page.evaluate("() => document.activeElement.id") == "title"
    assert page.locator("#title").get_attribute("aria-invalid") == "true"
    check(session, 400, 401)


def test_a_miss_becomes_an_alias_through_the_page(session, staff_live_app):
    page = session.page
    session.goto("/")
    page.get_by_label("Street address").fill("1234 Old Jackson Rd")
    page.get_by_label("Street address").press("Enter")
    page.locator("#result").get_by_text("could not find", exact=False).first.wait_for()
    staff_live_app.extensions["cyclemap.city"].misses.flush()  # the thread's job, at once

    sign_in(session, "pat")
    page.get_by_role("link", name="Misses and aliases").click()
    page.get_by_role("heading", name="Misses and aliases", level=1).wait_for()
    row = page.locator("tr", has_text="OLD JACKSON RD")
    assert "1234" not in text(row)  # counted by street, never with the number
    row.get_by_label("Layer street for OLD JACKSON RD").fill("N KINGSHIGHWAY")
    row.get_by_role("button", name="Add alias for OLD JACKSON RD").click()
    page.get_by_text("OLD JACKSON RD is now read as N KINGSHIGHWAY").wait_for()
    aliases = page.locator("section", has=page.get_by_role("heading", name="Aliases in force"))
    assert "N KINGSHIGHWAY" in text(aliases)
    assert staff_live_app.extensions["cyclemap.store"].list_aliases()[0].author == "pat"

    resident = session.new_page()
    resident.goto(session.base_url + "/lookup?address=1234+Old+Jackson+Rd")
    assert "1234 N KINGSHIGHWAY" in resident.locator("#result").inner_text()
    # another miss stays open: the axe test below sees the page with both tables filled
    resident.goto(session.base_url + "/lookup?address=12+Dr+King+Blvd")
    resident.close()
    staff_live_app.extensions["cyclemap.city"].misses.flush()
    check(session)


# -- every staff page: axe, on a desktop and on a phone --------------------------------------
def _pages(s: Session, store) -> Iterator[tuple[str, object]]:
    """Visit each staff page (signed in as an admin); yield (name, page) on each."""
    page = s.page
    s.goto("/staff/login")
    yield "login", page
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    page.locator(".error-summary").wait_for()
    yield "login-error", page
    sign_in(s, "ann")
    yield "dashboard", page
    for name, path in (
        ("notes", "/staff/notes"),
        ("exceptions", "/staff/exceptions"),
        ("audit", "/staff/audit"),
        ("accounts", "/staff/accounts"),
        ("misses", "/staff/misses"),
    ):
        s.goto(path)
        yield name, page
    note = store.list_notes(s.today, include_all=True)[0]
    s.goto(f"/staff/notes/{note.id}")
    page.get_by_label("Text").fill(note.body_markdown + "\n\n- one more *line*")
    page.get_by_role("button", name="Preview").click()
    page.locator("#note-preview").wait_for()
    yield "note-editor-preview", page
    s.goto("/staff/notes/new")
    page.get_by_role("button", name="Save note").click()
    page.locator(".error-summary").wait_for()
    yield "note-editor-errors", page
    s.goto("/staff/exceptions")
    page.get_by_role("button", name="Add exception").click()
    page.locator(".error-summary").wait_for()
    yield "exceptions-errors", page
    page.get_by_role("button", name="Sign out").click()  # the refusal page, seen by an editor
    page.get_by_text("You are signed out.").wait_for()
    sign_in(s, "eve")
    page.goto(s.base_url + "/staff/accounts")
    yield "refused", page


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_axe_on_every_staff_page(browser, base_url, staff_live_app, session_clock, device):
    options = PHONE if device == "phone" else {"viewport": {"width": 1280, "height": 900}}
    s = Session(browser, base_url, **options)
    s.today = session_clock()
    store = staff_live_app.extensions["cyclemap.store"]
    ARTIFACTS.mkdir(exist_ok=True)
    seen = []
    try:
        for name, page in _pages(s, store):
            seen.append(name)
            assert axe_violations(page) == [], name
            if device == "phone":
                width = page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= 390, (name, width)
            page.screenshot(path=str(ARTIFACTS / f"staff-{name}-{device}.png"), full_page=True)
        check(s, 400, 401, 403)
    finally:
        s.close()
    assert len(seen) == 12
