"""Signing in to the staff workspace, and every refusal, through the real app and test client.

Each refusal says what happened in plain words and leaves the live data as it was.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from cyclemap.store import schema as store_schema

from .conftest import _make_app
from .staff import PASSWORD, add_accounts, csrf_token, post_form, sign_in


@pytest.fixture
def staff_app(fresh_app):
    add_accounts(fresh_app)
    return fresh_app


@pytest.fixture
def store(staff_app):
    return staff_app.extensions["cyclemap.store"]


def snapshot(store) -> tuple:
    """Everything a refused request must leave as it was."""
    notes = [n.to_record() for n in store.list_notes(store.clock().date(), include_all=True)]
    return (
        notes,
        [e.to_mapping() for e in store.list_exceptions()],
        store.list_staff(),
        store.live_boundary_version(),
        store.audit_count(),
    )


def session_cookie(response) -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "cyclemap_staff=" in c]
    return cookie


# -- signing in and out ----------------------------------------------------------------------
def test_login_page_labels_its_fields(staff_app) -> None:
    page = staff_app.test_client().get("/staff/login")
    assert page.status_code == 200
    assert re.search(r'<label class="field__label" for="username">Username</label>', page.text)
    assert re.search(r'<label class="field__label" for="password">Password</label>', page.text)
    assert 'autocomplete="current-password"' in page.text


def test_sign_in_and_out(staff_app) -> None:
    client = staff_app.test_client()
    response = sign_in(client, "ann")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    dashboard = client.get("/staff/")
    assert dashboard.status_code == 200
    assert "Signed in as ann (admin)." in dashboard.text  # the flashed message
    assert "Signed in as <strong>ann</strong>" in dashboard.text
    assert dashboard.headers["Cache-Control"] == "no-store"
    out = client.post("/staff/logout", data={"csrf_token": csrf_token(dashboard.text)})
    assert out.status_code == 302 and out.headers["Location"] == "/staff/login"
    assert "You are signed out." in client.get("/staff/login").text
    again = client.get("/staff/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/staff/login")


def test_sign_in_goes_back_where_the_clerk_was_going(staff_app) -> None:
    client = staff_app.test_client()
    asked = client.get("/staff/notes?x=1")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/staff/login?next=/staff/notes?x%3D1"
    response = sign_in(client, "eve", next="/staff/notes?x=1")
    assert response.headers["Location"] == "/staff/notes?x=1"


@pytest.mark.parametrize(
    "target", ["https://evil.example/staff/", "//evil.example/staff", "/lookup?address=x", ""]
)
def test_sign_in_never_sends_elsewhere(staff_app, target) -> None:
    response = sign_in(staff_app.test_client(), "eve", next=target)
    assert response.headers["Location"] == "/staff/"


def test_admin_is_the_old_name(staff_app) -> None:
    client = staff_app.test_client()
    assert client.get("/admin").headers["Location"] == "/staff/"
    assert client.get("/admin/notes/3?a=b").headers["Location"] == "/staff/notes/3?a=b"


def test_session_cookie_secure_can_be_turned_off(tmp_path, clock) -> None:
    app = _make_app(tmp_path / "db.sqlite", clock, SESSION_COOKIE_SECURE=False)
    add_accounts(app)
    cookie = session_cookie(sign_in(app.test_client(), "ann"))
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_plain_http_under_a_real_name_warns(staff_app) -> None:
    client = staff_app.test_client()
    warned = client.get("/staff/login", base_url="http://cyclemap.city.example")
    assert "your browser will not keep the sign-in" in warned.text
    assert "will not keep" not in client.get("/staff/login").text  # localhost
    secure = client.get("/staff/login", base_url="https://cyclemap.city.example")
    assert "will not keep" not in secure.text


def test_deactivated_account_is_signed_out_at_once(staff_app, store) -> None:
    client = staff_app.test_client()
    sign_in(client, "eve")
    assert client.get("/staff/").status_code == 200
    store.set_staff_active("eve", False, author="ann")
    assert client.get("/staff/").status_code == 302
    refused = sign_in(client, "eve")
    assert refused.status_code == 401


# -- one secret key for every server ---------------------------------------------------------
def test_servers_on_one_database_share_the_secret_key(tmp_path, clock) -> None:
    a = _make_app(tmp_path / "db.sqlite", clock)
    b = _make_app(tmp_path / "db.sqlite", clock)
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"]
    assert len(a.config["SECRET_KEY"]) == 64
    add_accounts(a)
    client_a = a.test_client()
    sign_in(client_a, "eve")
    value = client_a.get_cookie("cyclemap_staff").value
    client_b = b.test_client()
    client_b.set_cookie("cyclemap_staff", value)
    assert client_b.get("/staff/").status_code == 200  # signed in on b too
    other = _make_app(tmp_path / "other.sqlite", clock)
    assert other.config["SECRET_KEY"] != a.config["SECRET_KEY"]


def test_configured_secret_key_wins(tmp_path, clock) -> None:
    app = _make_app(tmp_path / "db.sqlite", clock, SECRET_KEY="from-the-environment")
    assert app.config["SECRET_KEY"] == "from-the-environment"
    store = app.extensions["cyclemap.store"]
    with store.engine.connect() as conn:  # none was made and kept in the database
        keys = conn.scalars(sa.select(store_schema.meta.c.key)).all()
    assert "secret:session" not in keys


# -- refusals --------------------------------------------------------------------------------
def test_wrong_password_is_refused(staff_app, store) -> None:
    before = snapshot(store)
    client = staff_app.test_client()
    response = sign_in(client, "ann", "not the password at all")
    assert response.status_code == 401
    assert "The username or password is not right." in response.text
    assert 'class="error-summary"' in response.text
    assert "not the password at all" not in response.text  # the field is not filled back
    assert 'value="ann"' in response.text  # the username is
    assert client.get("/staff/").status_code == 302
    unknown = sign_in(client, "nobody", PASSWORD)
    assert unknown.status_code == 401 and "not right" in unknown.text  # same words
    assert snapshot(store) == before


def test_empty_fields_are_named(staff_app) -> None:
    response = sign_in(staff_app.test_client(), "", "")
    assert response.status_code == 400
    assert '<a href="#username">Type your username.</a>' in response.text
    assert '<a href="#password">Type your password.</a>' in response.text
    assert 'aria-invalid="true"' in response.text


def test_repeated_failures_pause_sign_in_for_that_username(tmp_path, clock) -> None:
    app = _make_app(tmp_path / "db.sqlite", clock, STAFF_SIGNIN_LIMIT="3 per 15 minutes")
    add_accounts(app)
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, "eve", "wrong password!").status_code == 401
    paused = sign_in(client, "eve", PASSWORD)  # even the right password, now
    assert paused.status_code == 429
    assert "Too many failed sign-ins for this username" in paused.text
    assert "wait 15 minutes" in paused.text
    assert client.get("/staff/").status_code == 302
    assert sign_in(client, "pat").status_code == 302  # another username is not paused


def test_a_success_forgets_earlier_failures(tmp_path, clock) -> None:
    app = _make_app(tmp_path / "db.sqlite", clock, STAFF_SIGNIN_LIMIT="3 per 15 minutes")
    add_accounts(app)
    for _ in range(3):
        client = app.test_client()
        for _ in range(2):
            assert sign_in(client, "eve", "wrong password!").status_code == 401
        assert sign_in(client, "eve").status_code == 302


def test_repeated_failures_pause_sign_in_for_that_client(tmp_path, clock) -> None:
    app = _make_app(tmp_path / "db.sqlite", clock, STAFF_SIGNIN_CLIENT_LIMIT="4 per 15 minutes")
    add_accounts(app)
    client = app.test_client()
    for name in ("a1", "a2", "a3", "a4"):
        assert sign_in(client, name, "guessing away").status_code == 401
    paused = sign_in(client, "ann")
    assert paused.status_code == 429
    assert "Too many failed sign-ins for this computer" in paused.text
    elsewhere = app.test_client()
    page = elsewhere.get("/staff/login")
    other = elsewhere.post(
        "/staff/login",
        data={"csrf_token": csrf_token(page.text), "username": "ann", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 302


def test_form_without_its_csrf_token_is_refused(staff_app, store) -> None:
    client = staff_app.test_client()
    sign_in(client, "ann")
    before = snapshot(store)
    note = {"title": "Sneaky", "body": "x", "all_cycles": "y", "save": "Save note"}
    for data in (note, {**note, "csrf_token": "forged"}):
        response = client.post("/staff/notes/new", data=data)
        assert response.status_code == 400
        assert "This form could not be accepted" in response.text
        assert "nothing was changed" in response.text
    for path in ("/staff/logout", "/staff/exceptions/1/remove", "/staff/accounts/eve/active"):
        assert client.post(path, data={"active": "0"}).status_code == 400
    assert snapshot(store) == before
    assert client.get("/staff/").status_code == 200  # still signed in: logout was refused too


def test_login_without_its_csrf_token_is_refused(staff_app) -> None:
    client = staff_app.test_client()
    response = client.post("/staff/login", data={"username": "ann", "password": PASSWORD})
    assert response.status_code == 400 and "security token" in response.text
    assert client.get("/staff/").status_code == 302


def test_anonymous_post_is_refused(staff_app, store) -> None:
    client = staff_app.test_client()
    before = snapshot(store)
    # a token from the sign-in page is a good token, but nobody is signed in
    response = post_form(
        client,
        "/staff/notes/new",
        {"title": "Anonymous", "body": "x", "all_cycles": "y", "save": "Save note"},
        token_from="/staff/login",
    )
    assert response.status_code == 401
    assert "You are not signed in" in response.text and "nothing was changed" in response.text
    assert 'href="/staff/login"' in response.text
    exception_id = store.list_exceptions()[0].id
    removed = post_form(
        client, f"/staff/exceptions/{exception_id}/remove", {}, token_from="/staff/login"
    )
    assert removed.status_code == 401
    assert snapshot(store) == before


def test_editor_cannot_manage_accounts(staff_app, store) -> None:
    client = staff_app.test_client()
    sign_in(client, "eve")
    before = snapshot(store)
    page = client.get("/staff/accounts")
    assert page.status_code == 403
    assert "This needs an admin account" in page.text
    assert "Your account eve is an editor account, so nothing was changed." in page.text
    token = csrf_token(client.get("/staff/").text)
    new = {"username": "mallory", "role": "admin", "password": PASSWORD, "confirm": PASSWORD}
    for path, data in (
        ("/staff/accounts", new),
        ("/staff/accounts/eve/role", {"role": "admin"}),
        ("/staff/accounts/ann/active", {"active": "0"}),
        ("/staff/accounts/ann/password", {"password": PASSWORD + "x", "confirm": PASSWORD + "x"}),
    ):
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 403, path
        assert "This needs an admin account" in response.text
    assert snapshot(store) == before
    assert "Accounts" not in client.get("/staff/").text.split("<main")[0]  # not in the nav


def test_publisher_only_download_refuses_an_editor(staff_app, store) -> None:
    editor = staff_app.test_client()
    sign_in(editor, "eve")
    refused = editor.get("/staff/boundaries/1.geojson")
    assert refused.status_code == 403
    assert "This needs a publisher account: a publisher can publish and roll back" in refused.text
    assert "Download version" not in editor.get("/staff/").text
    publisher = staff_app.test_client()
    sign_in(publisher, "pat")
    response = publisher.get("/staff/boundaries/1.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_json() == store.get_boundaries(1)
    assert publisher.get("/staff/boundaries/99.geojson").status_code == 404
    assert "Download version 1 (GeoJSON)" in publisher.get("/staff/").text


def test_resident_pages_and_api_are_untouched(staff_app) -> None:
    client = staff_app.test_client()
    for path in ("/", "/lookup?address=1234+N+Kingshighway", "/api/v1/cycles", "/healthz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        if response.mimetype == "text/html":
            # a page varies on the cookie that remembers a resident's language (i18n.py, issue
            # 18), and on nothing the staff session would add
            assert set(response.vary) == {"Accept-Language", "Cookie"}, path
        else:
            assert "Cookie" not in response.vary, path
    # the API still answers methods it does not allow with problem+json, not a CSRF page
    response = client.post("/api/v1/lookup")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"


def test_settings_come_from_the_environment(tmp_path, clock, monkeypatch) -> None:
    monkeypatch.setenv("CYCLEMAP_SESSION_COOKIE_SECURE", "false")
    monkeypatch.setenv("CYCLEMAP_PERMANENT_SESSION_LIFETIME", "60")
    monkeypatch.setenv("CYCLEMAP_STAFF_SIGNIN_LIMIT", "2 per 5 minutes")
    app = _make_app(tmp_path / "db.sqlite", clock)
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 60
    add_accounts(app)
    client = app.test_client()
    cookie = session_cookie(sign_in(client, "ann"))
    assert "Secure" not in cookie and "Expires=" in cookie
    for _ in range(2):
        assert sign_in(app.test_client(), "eve", "wrong password!").status_code == 401
    assert sign_in(app.test_client(), "eve").status_code == 429


def test_the_session_serializer_is_built_once_per_key_and_follows_a_new_key(staff_app) -> None:
    interface = staff_app.session_interface
    serializer = interface.get_signing_serializer(staff_app)
    assert interface.get_signing_serializer(staff_app) is serializer  # not rebuilt per request
    signed_out, kept = staff_app.test_client(), staff_app.test_client()
    for client in (signed_out, kept):
        assert sign_in(client, "ann").status_code == 302
    old_key = staff_app.secret_key
    staff_app.secret_key = "another secret key, rotated"
    assert interface.get_signing_serializer(staff_app) is not serializer
    # a session signed with a key no longer trusted is no session (no stale serializer)
    assert signed_out.get("/staff/").status_code == 302
    # ... and one trusted as a fallback still is
    staff_app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert kept.get("/staff/").status_code == 200
