"""Boundary and address versions in the web workspace: upload, check, preview, publish, undo.

Through the real app and test client, on the demo city and a real SQLite store; the preview's
count is checked against an independent count (shapely over the address CSV).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile

import pytest

from .conftest import DEMO_TODAY, Clock, _make_app
from .staff import add_accounts, csrf_token, sign_in
from .zones import demo_geojson, independent_changes, move_block, overlapping

MOVED = move_block(demo_geojson())


@pytest.fixture(scope="module")
def changes() -> dict[str, tuple[str, str]]:
    return independent_changes(demo_geojson(), MOVED)


@pytest.fixture
def clock() -> Clock:
    return Clock(DEMO_TODAY)


@pytest.fixture
def staff_app(tmp_path, clock):
    app = _make_app(tmp_path / "c.sqlite", clock, STAFF_UPLOAD_MAX_BYTES=2_000_000)
    add_accounts(app)
    return app


@pytest.fixture
def publisher(staff_app):
    client = staff_app.test_client()
    assert sign_in(client, "pat").status_code == 302
    return client


def upload(client, kind: str, name: str, data: bytes, *, token: str | None = None):
    if token is None:
        token = csrf_token(client.get(f"/staff/{kind}/new").text)
    return client.post(
        f"/staff/{kind}/new",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def lookup(app, address: str) -> tuple[str, int]:
    body = app.test_client().get("/api/v1/lookup", query_string={"address": address}).get_json()
    return body["cycle"]["id"], body["boundary_version"]


def test_upload_preview_publish_and_roll_back(staff_app, publisher, changes):
    address = sorted(changes)[0]
    assert lookup(staff_app, address) == ("2", 1)
    form = publisher.get("/staff/boundaries/new")
    assert form.status_code == 200
    assert re.search(r'<label class="field__label" for="file">Boundary file</label>', form.text)

    sent = upload(publisher, "boundaries", "new-cycles.geojson", json.dumps(MOVED).encode())
    assert sent.status_code == 302
    preview_url = sent.headers["Location"]
    assert preview_url.startswith("/staff/boundaries/preview/")
    preview = publisher.get(preview_url)
    assert preview.status_code == 200, preview.text[:500]
    text = re.sub(r"\s+", " ", preview.text)
    assert "Check new-cycles.geojson" in text and "This file is valid" in text
    assert f"<strong>{len(changes):,}</strong> of 19,897 addresses change cycle" in text
    assert re.search(
        rf"<td data-label=\"From\">Cycle 2</td><td data-label=\"To\">Cycle 3</td>"
        rf"<td class=\"num\" data-label=\"Addresses\">{len(changes):,}</td>",
        text,
    )
    assert "folium-map" in text and "Live zones" in preview.text  # one map, both layers
    assert preview.headers["Cache-Control"] == "no-store"

    csv_page = publisher.get(preview_url + "/changes.csv")
    assert csv_page.status_code == 200 and csv_page.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(csv_page.text)))
    assert {r["address"]: (r["from_cycle"], r["to_cycle"]) for r in rows} == changes

    done = publisher.post(
        preview_url + "/publish",
        data={"csrf_token": csrf_token(preview.text), "message": "Oaklawn block to Cycle 3"},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/staff/boundaries"
    history = publisher.get("/staff/boundaries")
    assert (
        f"Published version 2 of the boundaries. It is live now: {len(changes):,}" in history.text
    )
    assert lookup(staff_app, address) == ("3", 2)
    page = staff_app.test_client().get("/lookup", query_string={"address": address}).text
    assert "Cycle 3" in page

    assert "Roll back to this version" in history.text
    back = publisher.post(
        "/staff/boundaries/rollback",
        data={"csrf_token": csrf_token(history.text), "version": "1", "message": "wrong file"},
    )
    assert back.status_code == 302
    assert "Version 1 of the boundaries is live again" in publisher.get("/staff/boundaries").text
    assert lookup(staff_app, address) == ("2", 1)
    audit = staff_app.extensions["cyclemap.store"].audit_log(entity="boundaries")
    assert [(e.action, e.actor) for e in audit[:2]] == [("rollback", "pat"), ("publish", "pat")]
    # the staged upload is gone once published
    assert publisher.get(preview_url).status_code == 404


def test_a_scheduled_publish_from_the_web(staff_app, publisher, clock, changes):
    address = sorted(changes)[0]
    preview_url = upload(publisher, "boundaries", "march.geojson", json.dumps(MOVED).encode())
    preview_url = preview_url.headers["Location"]
    preview = publisher.get(preview_url)
    tomorrow = DEMO_TODAY + dt.timedelta(days=1)
    done = publisher.post(
        preview_url + "/publish",
        data={
            "csrf_token": csrf_token(preview.text),
            "message": "from tomorrow",
            "effective": tomorrow.isoformat(),
        },
    )
    assert done.status_code == 302
    history = publisher.get("/staff/boundaries").text
    assert "It takes effect on February 22, 2020" in history
    assert "Scheduled" in history
    assert lookup(staff_app, address) == ("2", 1)
    clock.today = tomorrow
    assert lookup(staff_app, address) == ("3", 2)


def test_refusals_leave_the_live_version_alone(staff_app, publisher):
    store = staff_app.extensions["cyclemap.store"]
    # a publisher stages a valid file; an editor (with a good CSRF token) may not publish it,
    # and nobody anonymous may post at all
    staged = upload(publisher, "boundaries", "ok.geojson", json.dumps(MOVED).encode())
    publish_url = staged.headers["Location"] + "/publish"
    editor = staff_app.test_client()
    sign_in(editor, "eve")
    assert editor.get("/staff/boundaries/new").status_code == 403
    token = csrf_token(editor.get("/staff/notes").text)
    refused = editor.post(publish_url, data={"csrf_token": token, "message": "editor"})
    assert refused.status_code == 403 and "needs a publisher account" in refused.text
    anonymous = staff_app.test_client()
    token = csrf_token(anonymous.get("/staff/login").text)
    refused = anonymous.post(publish_url, data={"csrf_token": token, "message": "anon"})
    assert refused.status_code == 401 and "nothing was changed" in refused.text
    # a form without its CSRF token
    no_token = publisher.post(
        "/staff/boundaries/new",
        data={"file": (io.BytesIO(json.dumps(MOVED).encode()), "x.geojson")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    # a program renamed .geojson
    exe = upload(publisher, "boundaries", "setup.geojson", b"MZ\x90\x00" + bytes(300))
    assert exe.status_code == 422
    assert "setup.geojson is not a GeoJSON file" in exe.text and "Nothing was uploaded" in exe.text
    # a zip bomb
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cycles.geojson", b" " * (150 * 1024 * 1024))
    response = upload(publisher, "boundaries", "cycles.zip", bomb.getvalue())
    assert response.status_code == 422 and "zip bomb" in response.text
    # an oversized upload (the app's limit here: 2 MB)
    big = b"{" + b" " * 2_500_000 + b"}"
    response = upload(publisher, "boundaries", "big.geojson", big)
    assert response.status_code == 413 and "the limit is 2 MB" in response.text
    # an invalid (overlapping) file: previewed, never publishable
    bad = upload(
        publisher, "boundaries", "overlap.geojson", json.dumps(overlapping(demo_geojson())).encode()
    )
    preview_url = bad.headers["Location"]
    preview = publisher.get(preview_url)
    assert "This file cannot be published" in preview.text and "Zones overlap" in preview.text
    assert 'action="' + preview_url + '/publish"' not in preview.text
    forced = publisher.post(
        preview_url + "/publish",
        data={"csrf_token": csrf_token(preview.text), "message": "force it"},
    )
    assert forced.status_code == 422 and "was not published" in forced.text
    assert store.live_boundary_version() == 1
    assert [h.version for h in store.boundary_history()] == [1]


def test_an_address_layer_through_the_web(staff_app, publisher):
    from cyclemap.config import DEFAULT_CITY

    rows = (DEFAULT_CITY / "addresses.csv").read_text().splitlines()
    first = rows[1].split(",")
    added = ["99999", *first[1:6], str(float(first[6]) + 0.0001)]
    data = ("\n".join([*rows, ",".join(added)]) + "\n").encode()
    form = publisher.get("/staff/addresses/new")
    assert re.search(r'<label class="field__label" for="file">Address file</label>', form.text)
    sent = upload(publisher, "addresses", "e911.csv", data)
    assert sent.status_code == 302, sent.text[:300]
    preview = publisher.get(sent.headers["Location"])
    text = re.sub(r"\s+", " ", preview.text)
    assert "1 added, 0 removed, 0 moved" in text and "can be imported" in text
    done = publisher.post(
        sent.headers["Location"] + "/publish",
        data={"csrf_token": csrf_token(preview.text), "message": "March E911"},
    )
    assert done.status_code == 302
    assert "Published version 1 of the address layer" in publisher.get("/staff/addresses").text
    query = {"address": f"99999 {first[1]}"}
    body = staff_app.test_client().get("/api/v1/lookup", query_string=query).get_json()
    assert body["status"] == "matched"
