"""Uploads are vetted before any GIS library opens them: size, format, content, zip bombs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from cyclemap.errors import InputError
from cyclemap.publishing import uploads, vet_upload

GEOJSON = json.dumps({"type": "FeatureCollection", "features": []}).encode()


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_good_file_is_written_under_a_safe_name(tmp_path):
    path = vet_upload("../../etc/New Cycles (2020).geojson", GEOJSON, "boundaries", tmp_path)
    assert path.parent == tmp_path and path.name == "New-Cycles-2020.geojson"
    assert path.read_bytes() == GEOJSON
    shp = zipped({"zones/cycles.shp": b"\x00" * 100, "zones/cycles.dbf": b"x" * 100})
    assert vet_upload("zones.zip", shp, "boundaries", tmp_path).suffix == ".zip"
    csv = "house_number,street\n12,Calle José\n".encode("cp1252")
    assert vet_upload("e911.csv", csv, "addresses", tmp_path).name == "e911.csv"


@pytest.mark.parametrize(
    ("name", "data", "kind", "says"),
    [
        ("setup.geojson", b"MZ\x90\x00\x03" + bytes(100), "boundaries", "not JSON text"),
        ("cycles.exe", b"MZ", "boundaries", "upload a file ending in"),
        ("cycles.gpkg", GEOJSON, "boundaries", "not a GeoPackage"),
        ("cycles.zip", GEOJSON, "boundaries", "not a zip archive"),
        ("cycles.kml", b"<html></html>", "boundaries", "no <kml> element"),
        ("cycles.geojson", b"", "boundaries", "is empty"),
        ("e911.csv", b"a,b\x00\x01\x02", "addresses", "binary data"),
        ("e911.csv", GEOJSON, "boundaries", "upload a file ending in"),
    ],
)
def test_files_that_are_not_what_they_say_are_refused(tmp_path, name, data, kind, says):
    with pytest.raises(InputError, match=says):
        vet_upload(name, data, kind, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    bomb = zipped({"cycles.geojson": b" " * (200 * 1024 * 1024)})  # 200 MB of spaces
    assert len(bomb) < 1024 * 1024
    with pytest.raises(InputError, match="zip bomb"):
        vet_upload("cycles.zip", bomb, "boundaries", tmp_path)


def test_unsafe_archives_are_refused(tmp_path):
    with pytest.raises(InputError, match="outside its folder"):
        vet_upload("z.zip", zipped({"../evil.shp": b"x"}), "boundaries", tmp_path)
    with pytest.raises(InputError, match="another zip"):
        vet_upload("z.zip", zipped({"inner.zip": b"x"}), "boundaries", tmp_path)
    many = zipped({f"f{i}.txt": b"x" for i in range(uploads.MAX_MEMBERS + 1)})
    with pytest.raises(InputError, match="at most"):
        vet_upload("z.zip", many, "boundaries", tmp_path)


def test_an_oversized_upload_is_refused(tmp_path):
    big = b"{" + b" " * 2000 + b"}"
    with pytest.raises(InputError, match="the limit is 0.0 MB"):
        vet_upload("cycles.geojson", big, "boundaries", tmp_path, max_bytes=1000)
    assert vet_upload("cycles.geojson", big, "boundaries", tmp_path, max_bytes=4000).is_file()
