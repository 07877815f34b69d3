"""Who is signed in, what they may do, and the pages that refuse them.

``bp`` is the staff blueprint (``/staff``). ``current_staff()`` is the signed-in account, read
from the store on every request, so a role change or a deactivation made on any server applies
at once. ``login_required(role)`` guards a view (see the package docstring).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast, overload

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from ...store import ROLES, StaffAccount, role_rank
from ..context import current_store

bp = Blueprint("staff", __name__, url_prefix="/staff")
#: ``/admin/...`` (the old name in the interface) leads to ``/staff/...``
admin_redirects = Blueprint("staff_admin_redirects", __name__)

#: the session key holding the signed-in username
SESSION_KEY = "staff"

#: the workspace's navigation: (endpoint, label, role needed); an entry shows only to accounts
#: with the role, and only once its endpoint exists (pages added later simply appear)
NAV: list[tuple[str, str, str]] = [
    ("staff.dashboard", "Dashboard", "editor"),
    ("staff.notes", "Notes", "editor"),
    ("staff.exceptions", "Schedule exceptions", "editor"),
    ("staff.boundaries", "Boundaries", "publisher"),
    ("staff.addresses", "Address layer", "publisher"),
    ("staff.misses", "Misses and aliases", "editor"),
    ("staff.audit", "Audit log", "editor"),
    ("staff.accounts", "Accounts", "admin"),
]

#: what each role may do, in the words the refusal page uses
ROLE_DUTIES = {
    "editor": "edit notes and schedule exceptions",
    "publisher": "publish and roll back boundary and address versions, and edit aliases",
    "admin": "manage staff accounts",
}

F = TypeVar("F", bound=Callable[..., Any])


def current_staff() -> StaffAccount | None:
    """The signed-in, active staff account of this request, or ``None``."""
    if "staff_account" in g:
        return g.staff_account
    username = session.get(SESSION_KEY)
    account = current_store().get_staff(username) if username else None
    if account is not None and not account.active:
        account = None
    if username and account is None:  # deactivated or removed since: the session ends
        session.pop(SESSION_KEY, None)
    g.staff_account = account
    return account


def signed_in_username() -> str:
    """The signed-in account's username, in a view that ``login_required`` guards (there is
    one: the guard ran first)."""
    account = current_staff()
    if account is None:
        raise RuntimeError("signed_in_username() needs a view that login_required guards")
    return account.username


def sign_in(account: StaffAccount) -> None:
    """Start a new session for ``account`` (a fresh session: nothing carried over)."""
    session.clear()
    session[SESSION_KEY] = account.username
    session.permanent = True
    g.staff_account = account


def sign_out() -> None:
    """End the session."""
    session.clear()
    g.staff_account = None


@overload
def login_required(role: F) -> F: ...
@overload
def login_required(role: str = "editor") -> Callable[[F], F]: ...
def login_required(role: str | F = "editor") -> Callable[[F], F] | F:
    """Guard a view: only a signed-in account with ``role`` (or a higher one) gets in.

    ``@login_required()`` (editor), ``@login_required("publisher")``, ``@login_required("admin")``;
    bare ``@login_required`` means editor. Anonymous GET: redirect to the sign-in page (which
    comes back here afterwards); anonymous POST: 401; too low a role: 403.
    """
    if callable(role):
        return login_required("editor")(role)
    role_rank(role)  # a typo in a role fails when the module is imported

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            account = current_staff()
            if account is None:
                if request.method in ("GET", "HEAD"):
                    return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
                return refuse_anonymous()
            if not account.can(role):
                return refuse_role(account, role)
            return view(*args, **kwargs)

        return cast(F, guarded)  # wraps keeps view's signature, which its type cannot say

    return decorator


def refusal(status: int, heading: str, message: str, **context: Any) -> Response:
    """A refusal page in plain words (``staff/refused.html``), never cached."""
    html = render_template(
        "staff/refused.html", status=status, heading=heading, message=message, **context
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse_anonymous() -> Response:
    """401: the request needs a signed-in account; nothing was done."""
    return refusal(
        401,
        "Please sign in",
        "You are not signed in, or your session has ended, so nothing was changed. "
        "Sign in and then send the form again.",
        sign_in_link=url_for("staff.login"),
    )


def refuse_role(account: StaffAccount, role: str) -> Response:
    """403: the account's role is too low for this page or action; nothing was done."""
    article = "an" if role[0] in "aeiou" else "a"
    have = "an" if account.role[0] in "aeiou" else "a"
    return refusal(
        403,
        "You cannot do this with your account",
        f"This needs {article} {role} account: a {role} can {ROLE_DUTIES[role]}. Your account "
        f"{account.username} is {have} {account.role} account, so nothing was changed. If you "
        "need this, ask an administrator to change your role.",
    )


def nav_items() -> list[dict[str, Any]]:
    """The navigation entries the signed-in account may use, with the current one marked."""
    account = current_staff()
    if account is None:
        return []
    items = []
    for endpoint, label, role in NAV:
        if endpoint in current_app.view_functions and account.can(role):
            items.append(
                {
                    "href": url_for(endpoint),
                    "label": label,
                    "current": request.endpoint == endpoint
                    or (request.endpoint or "").startswith(endpoint + "_"),
                }
            )
    return items


@bp.app_context_processor
def _staff_globals() -> dict[str, Any]:
    return {"current_staff": current_staff, "staff_nav": nav_items, "staff_roles": ROLES}


@bp.after_request
def _no_store(response: Response) -> Response:
    """Staff pages are personal: never cached, by the browser or anything in between."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


@admin_redirects.get("/admin/", defaults={"rest": ""}, strict_slashes=False)
@admin_redirects.get("/admin/<path:rest>")
def admin_redirect(rest: str) -> BaseResponse:
    """``/admin/...`` is the workspace's other name: go to the same page under ``/staff/``."""
    target = "/staff/" + rest
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, code=301)
