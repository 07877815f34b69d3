"""Helpers for the staff workspace's tests: accounts, CSRF tokens, signing in through the form."""

from __future__ import annotations

import re

#: a password every rule accepts
PASSWORD = "plenty of unrelated words"

_TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The first CSRF token in a page (every staff form carries one)."""
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def add_accounts(app) -> None:
    """ann (admin), pat (publisher) and eve (editor), all with ``PASSWORD``."""
    store = app.extensions["cyclemap.store"]
    for name, role in (("ann", "admin"), ("pat", "publisher"), ("eve", "editor")):
        if store.get_staff(name) is None:
            store.add_staff(name, PASSWORD, role=role, author="test")


def sign_in(client, username: str, password: str = PASSWORD, next: str | None = None):
    """Sign in through the real form (GET for the token, then POST); returns the response."""
    page = client.get("/staff/login")
    data = {"csrf_token": csrf_token(page.text), "username": username, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/staff/login", data=data)


def post_form(client, path: str, data: dict, *, token_from: str | None = None):
    """POST ``data`` to ``path`` with the CSRF token of the page ``token_from`` (default: path)."""
    page = client.get(token_from or path)
    return client.post(path, data={"csrf_token": csrf_token(page.text), **data})
