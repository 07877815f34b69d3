"""Opening a city folder: every key of ``city.toml`` checked against the files it names, once.

``open_folder(folder)`` reads ``city.toml``, the zones and the address layer, and checks what
only the files can tell: the schedules and ``[[exceptions]]``, the column mapping against the
address file's columns, the cycle ids of ``city.toml`` against the zones' ids, and ``[city]
places`` against the towns of the address layer. Every problem found, wherever it is, is one
line of the one ``ConfigError`` it raises, starting with its key; so nothing in the
configuration can fail later, inside a lookup.

>>> from cyclemap.config import DEFAULT_CITY
>>> config, zones, layer = open_folder(DEFAULT_CITY)
>>> zones.ids, len(layer) > 1000
(('1', '2', '3', '4'), True)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .billing.schedule import schedule_problems
from .boundaries import BoundarySet, read_boundaries
from .config import CityConfig, raise_problems, read_city_config
from .errors import AddressFileError, BoundaryFileError, ConfigError
from .geocode import AddressLayer, normalize_place, read_addresses

#: the most problems of one file listed (a broken file can have thousands)
MAX_FILE_PROBLEMS = 10


def open_folder(
    folder: str | Path,
    *,
    read_zones: Callable[[CityConfig], BoundarySet] | None = None,
    read_layer: Callable[[CityConfig], AddressLayer] | None = None,
) -> tuple[CityConfig, BoundarySet, AddressLayer]:
    """The city's configuration, zones and address layer; one ``ConfigError`` listing every
    problem (``problems``: one line each, starting with the key) when anything is wrong.

    ``read_zones`` / ``read_layer`` read the files named by the configuration (default:
    ``read_boundaries`` / ``read_addresses``; ``open_city`` passes its compiled-cache readers)
    and raise as they do."""
    config, problems = read_city_config(folder)
    zones = layer = None
    bcfg, acfg = config.boundaries, config.addresses
    for key, path in (
        ("[boundaries] file", bcfg.file),
        ("[boundaries] limits", bcfg.limits),
        ("[addresses] file", acfg.file),
    ):
        if path is not None and not path.name.startswith("<") and not path.is_file():
            problems.append(f"{key} names {path.name!r}, which is not a file in {config.folder}")
    if bcfg.file.is_file():
        try:
            if read_zones is not None:
                zones = read_zones(config)
            else:
                zones = read_boundaries(bcfg.file, id_property=bcfg.id_property, crs=bcfg.crs)
        except (BoundaryFileError, ConfigError) as exc:
            problems += _file_problems(f"[boundaries] file ({bcfg.file.name})", exc)
    if acfg.file.is_file():
        try:
            if read_layer is not None:
                layer = read_layer(config)
            else:
                layer = read_addresses(acfg.file, acfg.columns, acfg.crs)
        except ConfigError as exc:
            problems.append(f"[addresses.columns] {exc.message}")
        except AddressFileError as exc:
            key = "[addresses.columns]" if "no column" in exc.message else "[addresses] file"
            problems += _file_problems(key, exc)  # the message names the file
    problems += schedule_problems(config.cycles, config.exceptions)
    if zones is not None:
        problems += cycle_id_problems(config, zones)
    if layer is not None:
        problems += place_problems(config, layer)
    raise_problems(config.folder / "city.toml", problems)
    assert zones is not None and layer is not None  # else a problem was raised
    return config, zones, layer


def _file_problems(key: str, exc: ConfigError | BoundaryFileError | AddressFileError) -> list[str]:
    lines = [f"{key}: {exc.message}"]
    # the evidence in words (a column mapping's evidence is a dict, already in the message)
    details = [str(p) for p in exc.problems if not isinstance(p, dict) and str(p) != exc.message]
    lines += [f"{key}: {d}" for d in details[:MAX_FILE_PROBLEMS]]
    if len(details) > MAX_FILE_PROBLEMS:
        lines.append(f"{key}: ... and {len(details) - MAX_FILE_PROBLEMS} more")
    return lines


def cycle_id_problems(config: CityConfig, zones: BoundarySet) -> list[str]:
    """The zones' cycle ids against ``city.toml``'s: a zone without a ``[cycles.ID]`` table (its
    answers would have no name or colour), or a table for a cycle without a zone.

    >>> from shapely.geometry import box
    >>> from cyclemap.config import load_city_config, DEFAULT_CITY
    >>> zones = BoundarySet(["1", "2", "9"], [box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)])
    >>> for line in cycle_id_problems(load_city_config(DEFAULT_CITY), zones):
    ...     print(line)
    [cycles.9] is missing: the zone file cycles.geojson has a zone for cycle 9
    [cycles.3] names a cycle that has no zone in cycles.geojson (its zones: 1, 2, 9)
    [cycles.4] names a cycle that has no zone in cycles.geojson (its zones: 1, 2, 9)
    """
    name = config.boundaries.file.name
    problems = [
        f"[cycles.{cid}] is missing: the zone file {name} has a zone for cycle {cid}"
        for cid in zones.ids
        if cid not in config.cycles
    ]
    problems += [
        f"[cycles.{cid}] names a cycle that has no zone in {name} (its zones: "
        f"{', '.join(zones.ids)})"
        for cid in config.cycles
        if cid not in zones.ids
    ]
    return problems


def place_problems(config: CityConfig, layer: AddressLayer) -> list[str]:
    """With ``[city] places``, every town the address layer names must be one of them (or an
    alias): an address layer's town that is not served is a mistake in one or the other."""
    if not config.places:
        return []
    served = {normalize_place(n) for n in config.place_names}
    towns = Counter(layer.city)
    missing = sorted(t for t in towns if t and normalize_place(t) not in served)
    return [
        f"[city] places does not list {town!r}, the town of {towns[town]} address points in "
        f"{config.addresses.file.name}: add it (or an alias for it)"
        for town in missing
    ]
