"""The compiled city: zones and geocoder tables built once per layer version, kept on disk.

Building a geocoder reads the address file with pandas and indexes every point (about a minute
for a million points); the result is the same for the same bytes. So ``open_city`` keeps what it
built in a cache folder, one file per build, named by a key that digests everything the result
depends on:

- the content (SHA-256) of the address layer, the city folder's file or a stored version's bytes,
  with the city's column mapping, CRS, name, state and ZIPs; or the content of the boundary file
  (or of a stored boundary version's GeoJSON) with its id property and CRS;
- the code's index format: ``INDEX_FORMAT`` and a digest of the source of the modules that build
  and read the tables (``cyclemap/geocode/``, its data tables, ``cyclemap/boundaries/``,
  ``cyclemap/located.py``), and the Python and numpy versions. Changing the code, the layer or
  the mapping changes the key, so a cache file is never stale: an old one is simply not asked
  for again.

A file is written to a temporary name in the same folder and renamed into place (atomic on POSIX
and Windows), so two processes building the same key at once each write a whole file and the
last rename wins; a reader never sees half a file. A file that cannot be read (truncated by a
full disk, from another Python) is rebuilt. Only the newest ``KEEP_FILES`` of each kind are kept.

The file (``KIND-KEY.compiled``) is a pickle (protocol 5) whose large numpy arrays are kept
out of band, each a raw buffer aligned on 64 bytes after the pickle, and memory-mapped when the
file is read: the arrays are read-only views of the file, so opening a million-point city
unpickles only its small Python objects (streets, names, towns) and the pages of an array are
read from disk (or the page cache, shared by every process of the server) when a lookup first
touches them. A file is never changed in place, so the mapping stays valid; POSIX keeps a
replaced or pruned file readable for whoever has it mapped. (Not so a network share whose file
another server prunes: NFS then refuses the pages not yet read. Pruning keeps the newest
``KEEP_FILES`` of each kind, so that takes a server still answering from a layer that many
versions old; where that can happen, give each server a folder of its own.)

Where it lives: ``open_city(cache_dir=...)``; the CLI and the server pass ``CYCLEMAP_CACHE_DIR``
when set, else ``cache/`` in the instance folder (beside the default SQLite file). Several
servers may share one folder (a network share) or each keep their own: the key is content, so
both are right; a shared folder builds once for all. The files are pickles, and loading a pickle
runs what it says: the folder must be writable only by the service's own accounts.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> calls = []
>>> build = lambda: calls.append(1) or {"built": True}
>>> load_or_build(folder, "demo", "k1", build), load_or_build(folder, "demo", "k1", build)
({'built': True}, {'built': True})
>>> len(calls)                                    # the second came from the file
1
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import mmap
import os
import pickle
import struct
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

#: bump when the pickled shape of the tables changes in a way the source digest would not see
INDEX_FORMAT = 2
#: cache files of each kind kept in the folder (the newest by modification time)
KEEP_FILES = 12
#: the suffix of a compiled file
SUFFIX = ".compiled"
#: arrays at least this large are kept out of band (memory-mapped); smaller ones in the pickle
OUT_OF_BAND_BYTES = 4096
#: the first bytes of a compiled file, then the header's length and the header (JSON)
_MAGIC = b"CYCLEMAP-COMPILED-1\n"
_ALIGN = 64
#: the modules and tables whose source decides what a compiled file holds
_SOURCES = ("geocode", "boundaries", "located.py")

T = TypeVar("T")


def default_cache_dir(instance_path: str | Path) -> Path:
    """The default cache folder: ``cache/`` in the instance folder."""
    return Path(instance_path) / "cache"


@functools.cache
def format_digest() -> str:
    """A digest of the code's index format: ``INDEX_FORMAT``, the source of the modules that
    build the tables, and the Python and numpy versions (computed once per process)."""
    import numpy

    root = Path(__file__).resolve().parent
    h = hashlib.sha256(f"{INDEX_FORMAT}|{sys.version_info[:2]}|{numpy.__version__}".encode())
    for source in _SOURCES:
        paths = [root / source] if source.endswith(".py") else sorted((root / source).rglob("*"))
        for path in paths:
            if path.suffix in (".py", ".csv") and path.is_file():
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks (a 50 MB layer in about a tenth of a second)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bytes_digest(data: bytes) -> str:
    """SHA-256 of bytes (a stored version's)."""
    return hashlib.sha256(data).hexdigest()


def key_for(kind: str, content_digest: str, settings: Mapping[str, Any]) -> str:
    """The cache key of one build: its kind, the content digest, the settings that shape it and
    the code's index format (:func:`format_digest`)."""
    text = json.dumps(
        {"kind": kind, "content": content_digest, "settings": settings, "format": format_digest()},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load_or_build(cache_dir: str | Path | None, kind: str, key: str, build: Callable[[], T]) -> T:
    """The object cached under ``kind``/``key``, else ``build()`` written there (atomically).

    ``cache_dir`` None: no cache, just ``build()``. A folder that cannot be made or written
    is not an error: the object is built and returned; a cache is an optimization only.
    """
    if cache_dir is None:
        return build()
    folder = Path(cache_dir)
    path = folder / f"{kind}-{key}{SUFFIX}"
    loaded = _load(path)
    if loaded is not None:
        return loaded
    value = build()
    _write(folder, path, value, kind)
    return value


def load(cache_dir: str | Path | None, kind: str, key: str) -> Any:
    """The object cached under ``kind``/``key``, or None (no folder, no file, unreadable)."""
    if cache_dir is None:
        return None
    return _load(Path(cache_dir) / f"{kind}-{key}{SUFFIX}")


def dumps(value: Any) -> list[bytes | memoryview]:
    """``value`` in the compiled file format (see the module doc), as the parts to write in
    order: a header, the pickle, then each large array's bytes aligned on 64 bytes."""
    buffers: list[memoryview] = []

    def in_band(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < OUT_OF_BAND_BYTES:
            return True
        buffers.append(raw)
        return False

    payload = pickle.dumps(value, protocol=5, buffer_callback=in_band)
    spans: list[tuple[int, int]] = []
    end = len(payload)
    for raw in buffers:
        begin = _aligned(end)
        spans.append((begin, raw.nbytes))
        end = begin + raw.nbytes
    header = json.dumps({"pickle": len(payload), "buffers": spans, "size": end}).encode()
    head = len(_MAGIC) + 4 + len(header)
    parts: list[bytes | memoryview] = [_MAGIC, struct.pack("<I", len(header)), header]
    parts += [bytes(_aligned(head) - head), payload]  # the body starts aligned, as do buffers
    at = len(payload)
    for (begin, size), raw in zip(spans, buffers, strict=True):
        parts += [bytes(begin - at), raw]
        at = begin + size
    return parts


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def loads(data: Any) -> Any:
    """The value in a compiled file's bytes (a ``bytes`` or an ``mmap``); arrays out of band are
    views of ``data``. Raises ``ValueError`` for bytes that are not a whole compiled file."""
    view = memoryview(data)
    if bytes(view[: len(_MAGIC)]) != _MAGIC:
        raise ValueError("not a compiled file")
    (length,) = struct.unpack("<I", view[len(_MAGIC) : len(_MAGIC) + 4])
    head = len(_MAGIC) + 4
    header = json.loads(bytes(view[head : head + length]))
    start = _aligned(head + length)
    if len(view) != start + header["size"]:
        raise ValueError("a compiled file of the wrong size (truncated?)")
    body = view[start:]
    buffers = [body[begin : begin + size] for begin, size in header["buffers"]]
    enabled = gc.isenabled()
    gc.disable()  # many small objects: the collector would walk them again and again
    try:
        return pickle.loads(body[: header["pickle"]], buffers=buffers)
    finally:
        if enabled:
            gc.enable()


def _load(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return loads(mapped)
    except FileNotFoundError:
        return None
    except Exception:  # a truncated, empty or foreign file is rebuilt, never trusted
        return None


def _write(folder: Path, path: Path, value: Any, kind: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=folder)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            for part in dumps(value):
                f.write(part)
        os.chmod(tmp, 0o644)  # other servers' accounts read a shared folder too
        os.replace(tmp, path)
    except Exception:
        Path(tmp).unlink(missing_ok=True)
        return
    _prune(folder, kind)


def _prune(folder: Path, kind: str) -> None:
    """Keep the newest ``KEEP_FILES`` files of a kind (another process may be reading one: it
    has it open, and POSIX keeps an open file readable after it is unlinked)."""
    try:
        files = sorted(
            folder.glob(f"{kind}-*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in [*files[KEEP_FILES:], *folder.glob(f"{kind}-*.pickle")]:
            old.unlink(missing_ok=True)  # .pickle: the files of INDEX_FORMAT 1
    except OSError:
        pass
