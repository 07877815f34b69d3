"""The staff workspace under ``/staff/`` (``/admin/...`` redirects here): HTML pages behind a
session sign-in, every form CSRF-protected. HTTP only; the work is done by the store.

Modules, one concern each: ``access`` (the blueprint, ``login_required``, ``current_staff``,
the navigation, refusal pages), ``security`` (secret key, session cookie, CSRF, config
defaults), ``signin`` (sign in and out, rate limits), ``dashboard``, ``notes``, ``exceptions``,
``misses`` (lookup misses and aliases), ``audit``, ``accounts``, ``downloads``; ``forms``
(WTForms classes) and ``views`` (formatting).

How to add a staff page (for example ``staff/boundaries.py``)
------------------------------------------------------------
1. Put the routes on the one blueprint, named ``staff`` (URLs under ``/staff``, endpoints
   ``staff.<function name>``), and guard every view::

       from flask import flash, redirect, render_template, url_for
       from .access import bp, current_staff, login_required

       @bp.route("/boundaries/new", methods=["GET", "POST"])
       @login_required("publisher")          # "editor" (the default), "publisher" or "admin"
       def boundaries_new():
           account = current_staff()         # the signed-in StaffAccount (id, username, role)
           ...
           flash("Version 4 is live.", "done")   # categories: "done" or "problem"
           return redirect(url_for("staff.boundaries"))

   ``login_required`` sends an anonymous GET to the sign-in page (and back afterwards), answers
   an anonymous POST with 401 and an account without the role with 403, each a page in plain
   words; nothing in the view runs. Use the account's username as the store's ``author``.
2. Import the module at the top of this file (the route modules' list), so its routes exist.
3. Add it to the navigation: ``access.NAV`` lists ``(endpoint, label, role)``; an entry shows
   only to accounts with the role and only once its endpoint exists (``staff.boundaries`` and
   ``staff.addresses`` are already listed for the version pages).
4. Templates live in ``cyclemap/server/web/templates/staff/`` and start with
   ``{% extends "staff/base.html" %}``. Its blocks: ``title`` (the page's name; " · Staff ·
   city" is added), ``content`` (inside ``<main>``, after the flashed messages), ``staff_head``
   (extra ``<link>`` tags) and ``scripts`` (from ``base.html``; a page with a Folium map passes
   ``map=maps.map_parts(...)`` to ``render_template`` and ``base.html`` adds its assets).
   ``staff/_forms.html`` has macros: ``error_summary(form)``, ``field(form.x, hint=...)``,
   ``checkboxes(form.x)``, ``csrf()``.
5. CSRF: every POST is checked (Flask-WTF's ``CSRFProtect``; nothing is exempt). A WTForms
   form (``forms.StaffForm`` subclass) carries its token as ``{{ form.csrf_token }}``; a plain
   ``<form method="post">`` writes ``{{ csrf() }}`` (from ``_forms.html``) or
   ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``. A POST without a
   good token is answered 400 with a page that says nothing was changed.
6. A core error (``InputError`` ...) raised in a view becomes the error page; to show it on the
   form instead, catch it and pass its ``message`` to the template (``error_summary(form,
   errors=[message])``).

Configuration (``security.CONFIG_DEFAULTS``, each also ``CYCLEMAP_<NAME>`` in the environment):
``SECRET_KEY`` (else one is made once and kept in the database, shared by every server),
``SESSION_COOKIE_SECURE`` (default true: set false only on a closed network served over plain
HTTP other than localhost), ``PERMANENT_SESSION_LIFETIME`` (seconds signed in without a
request, default 8 hours), ``STAFF_SIGNIN_LIMIT`` / ``STAFF_SIGNIN_CLIENT_LIMIT`` (failed
sign-ins allowed per username / per client address, counted in ``RATELIMIT_STORAGE_URL``).
"""

from __future__ import annotations

from flask import Flask

# each route module adds its routes to ``bp`` when imported
from . import (  # noqa: F401
    access,
    accounts,
    audit,
    dashboard,
    downloads,
    exceptions,
    misses,
    notes,
    security,
    signin,
    versions,
    views,
)
from .access import NAV, bp, current_staff, login_required

__all__ = ["CONFIG_DEFAULTS", "NAV", "bp", "current_staff", "init_app", "login_required"]

CONFIG_DEFAULTS = security.CONFIG_DEFAULTS


def init_app(app: Flask) -> None:
    """Install the workspace on ``app``: secret key, cookie and CSRF settings, the routes."""
    security.init_app(app)
    signin.init_app(app)
    views.register_filters(app)
    app.register_blueprint(bp)
    app.register_blueprint(access.admin_redirects)
