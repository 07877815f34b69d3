"""Vetting a file a clerk uploads before any GIS library opens it.

A browser upload is just bytes and a name. ``vet_upload`` checks, in plain words, what a careful
clerk would want checked first: the size, that the name says a format cyclemap reads, that the
bytes really are that format (a program renamed ``.geojson`` is refused), and for a zip archive
that it is not a zip bomb (too many members, too large or too compressed once unpacked, paths
that climb out of the folder, archives inside the archive). It then writes the file under a
safe name in a folder of the caller's and returns its path, for ``cyclemap.publishing`` to read.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> vet_upload("cycles.geojson", b'{"type": "FeatureCollection", "features": []}',
...            "boundaries", folder).name
'cycles.geojson'
>>> vet_upload("cycles.geojson", b"MZ\\x90\\x00", "boundaries", folder)
Traceback (most recent call last):
...
cyclemap.errors.InputError: cycles.geojson is not a GeoJSON file: its content is not JSON text
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import InputError

#: the largest upload accepted (the web app's request limit is set from it)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: a zip archive may unpack to at most this much, at most this many times its size, in at
#: most this many members
MAX_UNPACKED_BYTES = 500 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 200

#: what each kind of layer may be uploaded as (the suffix decides how it is read)
FORMATS = {
    "boundaries": (".geojson", ".json", ".gpkg", ".zip", ".kml"),
    "addresses": (".csv", ".tsv", ".txt", ".geojson", ".json", ".gpkg", ".zip"),
}
_NAMES = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".zip": "zip archive",
    ".kml": "KML",
    ".csv": "CSV",
    ".tsv": "tab-separated text",
    ".txt": "text",
}


def _looks_like(suffix: str, head: bytes) -> str | None:
    """Why the first bytes are not the format the suffix says, or None when they are."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix in (".geojson", ".json"):
        return None if text[:1] in (b"{", b"[") else "its content is not JSON text"
    if suffix == ".gpkg":
        return None if head.startswith(b"SQLite format 3\x00") else "it is not a GeoPackage"
    if suffix == ".zip":
        return None if head.startswith(b"PK\x03\x04") else "it is not a zip archive"
    if suffix == ".kml":
        return None if text[:1] == b"<" and b"<kml" in head.lower() else "it has no <kml> element"
    # text layers: no NUL bytes and decodable as UTF-8 or Windows-1252
    if b"\x00" in head:
        return "it holds binary data, not text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a character cut at the end of the sample is fine
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return "it is not text in UTF-8 or Windows-1252"
    return None


def _vet_zip(name: str, data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{name} is not a readable zip archive ({exc})") from exc
    if len(members) > MAX_MEMBERS:
        raise InputError(f"{name} holds {len(members):,} files; at most {MAX_MEMBERS} are read")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_RATIO * max(len(data), 1):
        raise InputError(
            f"{name} would unpack to {unpacked / 1e6:,.0f} MB from {len(data) / 1e6:,.1f} MB: "
            "that is not a boundary or address export (a zip bomb?). Zip the files again."
        )
    for m in members:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            raise InputError(f"{name} holds a file outside its folder ({m.filename})")
        if path.suffix.lower() == ".zip":
            raise InputError(f"{name} holds another zip archive ({m.filename}); unzip it first")


def vet_upload(
    filename: str,
    data: bytes,
    kind: str,
    folder: str | Path,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Path:
    """Check an uploaded file and write it into ``folder``; return the path to read it from.

    ``kind`` is ``boundaries`` or ``addresses``. Raises ``InputError`` with a message a clerk can
    act on for an empty or oversized file, a name whose format is not read, bytes that are not
    that format, or an unsafe zip archive.
    """
    name = Path(filename or "").name or "the file"
    allowed = FORMATS[kind]
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        listed = ", ".join(allowed)
        raise InputError(f"{name}: upload a file ending in {listed}")
    if not data:
        raise InputError(f"{name} is empty")
    if len(data) > max_bytes:
        raise InputError(
            f"{name} is {len(data) / 1e6:,.1f} MB; the limit is {max_bytes / 1e6:,.1f} MB"
        )
    why = _looks_like(suffix, data[:4096])
    if why:
        raise InputError(f"{name} is not a {_NAMES[suffix]} file: {why}")
    if suffix == ".zip":
        _vet_zip(name, data)
    # the clerk's own name (made safe) so that reports name the file they chose
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-")[:80] or "upload"
    path = Path(folder) / f"{stem}{suffix}"
    path.write_bytes(data)
    return path
