"""Staff accounts, for admins (``/staff/accounts``): list, add, change a role, deactivate or
reactivate, set a new password. Every change is audited with the admin's name; the store refuses
to leave the city without an active admin.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ...errors import InputError
from ...store import ROLES
from ..context import current_store
from .access import bp, login_required, signed_in_username
from .forms import ROLE_LABELS, AccountForm


def _page(form: AccountForm, status: int = 200, problem: str | None = None):
    html = render_template(
        "staff/accounts.html",
        form=form,
        accounts=current_store().list_staff(),
        roles=ROLES,
        role_labels=ROLE_LABELS,
        problem=problem,
    )
    return html, status


@bp.get("/accounts")
@login_required("admin")
def accounts():
    """Every account, and the form to add one."""
    return _page(AccountForm())


@bp.post("/accounts")
@login_required("admin")
def accounts_add():
    """Add an account (the password rules are the store's)."""
    form = AccountForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        account = current_store().add_staff(
            form.username.data or "",
            form.password.data or "",
            role=form.role.data,
            author=signed_in_username(),
        )
    except InputError as exc:
        field = form.password if "password" in exc.message else form.username
        field.errors = [*field.errors, exc.message[:1].upper() + exc.message[1:]]
        return _page(form, 400)
    flash(f"Account {account.username} added as {account.role}.", "done")
    return redirect(url_for("staff.accounts"))


def _change(username: str, action) -> Response | tuple[str, int]:
    try:
        message = action()
    except InputError as exc:
        return _page(AccountForm(formdata=None), 400, problem=exc.message)
    flash(message, "done")
    return redirect(url_for("staff.accounts"))


@bp.post("/accounts/<username>/role")
@login_required("admin")
def accounts_role(username: str):
    """Give an account another role."""
    role = request.form.get("role", "")

    def act() -> str:
        account = current_store().set_staff_role(username, role, author=signed_in_username())
        return f"{account.username} is now {'an' if role == 'admin' else 'a'} {account.role}."

    return _change(username, act)


@bp.post("/accounts/<username>/active")
@login_required("admin")
def accounts_active(username: str):
    """Deactivate (``active=0``) or reactivate (``active=1``) an account."""
    active = request.form.get("active") == "1"

    def act() -> str:
        account = current_store().set_staff_active(username, active, author=signed_in_username())
        if account.active:
            return f"{account.username} can sign in again."
        return f"{account.username} is deactivated: it can no longer sign in."

    return _change(username, act)


@bp.post("/accounts/<username>/password")
@login_required("admin")
def accounts_password(username: str):
    """Set a new password for an account (for a clerk who forgot theirs)."""
    password = request.form.get("password", "")

    def act() -> str:
        if password != request.form.get("confirm", ""):
            raise InputError("the two passwords differ: type the same password twice")
        account = current_store().set_staff_password(
            username, password, author=signed_in_username()
        )
        return f"{account.username} has a new password. Tell them in person or by phone."

    return _change(username, act)
