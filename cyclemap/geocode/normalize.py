"""Parsing what residents type and normalizing it to USPS Publication 28 forms.

Two inputs meet here: the city's address layer (``N KINGSHIGHWAY``, ``US HIGHWAY 61``) and what a
resident types (``1234 north kingshwy apt 5``). Both go through the same street normalization, so
they compare as plain strings. The rules are data, not code: the tables live beside this module in
``cyclemap/geocode/data/`` (USPS Publication 28 Appendix C1 street suffixes, C2 unit designators,
directionals, states, spelled-out numbers, highway forms, name words), read once on first use.

>>> normalize_street("North Kingshighway")
'N KINGSHIGHWAY'
>>> normalize_street("twenty-first street")
'21ST ST'
>>> normalize_street("US Hwy 61")
'US HIGHWAY 61'
>>> p = parse_address("1234 N. Kingshighway Apt 5, Cape Girardeau, MO 63701-1234")
>>> p.number, p.street_key, p.unit, p.city, p.state, p.zip
('1234', 'N KINGSHIGHWAY', 'APT 5', 'CAPE GIRARDEAU', 'MO', '63701')
"""

from __future__ import annotations

import csv
import functools
import operator
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import tagging

DATA_DIR = Path(__file__).resolve().parent / "data"

#: the longest text treated as a possible address; longer text is not parsed (see ``parse_address``)
#: and the pages and the API refuse it (a real address is well under 100 characters)
MAX_ADDRESS_LENGTH = 200


def exact_key(text: str) -> str:
    """The key an address is matched on exactly, and cached by in a batch: upper case with
    whitespace collapsed, for ASCII text up to ``MAX_ADDRESS_LENGTH`` characters.

    Other text is its own key: the layer's addresses are ASCII (``clean_text``), so text that is
    not ASCII never matches exactly, and upper-casing it would fold texts the parser tells apart
    (``ß`` is ``SS`` in upper case). Two texts with one key get one geocoding, so the key folds
    only what the geocoder ignores; punctuation is kept (``12 S SPRIGG ST.`` is a normalized
    match where ``12 S SPRIGG ST`` is exact).

    >>> exact_key("  12 s  Sprigg\tst ")
    '12 S SPRIGG ST'
    >>> exact_key("12 S SPRIGG ST.") == exact_key("12 S SPRIGG ST")
    False
    >>> exact_key("12 Peña St"), exact_key("14 straße rd") == exact_key("14 STRASSE RD")
    ('12 Peña St', False)
    """
    if not text.isascii() or len(text) > MAX_ADDRESS_LENGTH:
        return text
    return " ".join(text.upper().split())


# -- tables ----------------------------------------------------------------------------------------
def read_table(name: str) -> list[dict[str, str]]:
    """Rows of ``cyclemap/geocode/data/NAME.csv`` as dicts; lines starting with ``#`` are comments.

    >>> read_table("usps_suffixes")[0]
    {'primary': 'ALLEY', 'variant': 'ALLEY', 'standard': 'ALY'}
    """
    path = DATA_DIR / f"{name}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if line.strip() and not line.startswith("#")]
    return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(lines)]


@dataclass(frozen=True)
class Tables:
    """The normalization tables, as lookups. Build once with ``tables()``."""

    #: any C1 form (AVENUE, AVENU, AV, AVE) -> the USPS standard abbreviation (AVE)
    suffixes: dict[str, str]
    #: standard abbreviation -> the primary (spelled-out) name, for writing addresses out
    suffix_names: dict[str, str]
    #: NORTH, NO, N -> N; NORTHEAST -> NE
    directionals: dict[str, str]
    #: APARTMENT, APT -> APT; # -> #
    units: dict[str, str]
    #: MISSOURI, MO -> MO
    states: dict[str, str]
    #: spelled-out number words: word -> (value, is_ordinal)
    number_words: dict[str, tuple[int, bool]]
    #: highway prefixes as token tuples, longest first, with their canonical form
    highways: tuple[tuple[tuple[str, ...], str], ...]
    #: the same, grouped by first token (in the same order), so a street is compared only with
    #: the highway forms that can start it: 1,060 forms with the states spelled out
    highways_by_first: dict[str, tuple[tuple[tuple[str, ...], str], ...]]
    #: words inside names written several ways, as token tuples, longest first
    name_words: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]


@functools.cache
def tables() -> Tables:
    """Read every table in ``cyclemap/geocode/data/`` once (on first use, never at import).

    >>> t = tables()
    >>> t.suffixes["AVNUE"], t.directionals["NORTHEAST"], t.units["SUITE"], t.states["MISSOURI"]
    ('AVE', 'NE', 'STE', 'MO')
    >>> t.suffixes["PK"]                           # a form of PARK real layers use (not in C1)
    'PARK'
    """
    suffixes: dict[str, str] = {}
    suffix_names: dict[str, str] = {}
    rows = read_table("usps_suffixes")
    # A standard abbreviation always stands for itself (MDW is MEADOW's, though C1 also lists it
    # as a common form of MEADOWS); other forms map to the first standard that lists them.
    for row in rows:
        suffixes[row["standard"]] = row["standard"]
        suffix_names.setdefault(row["standard"], row["primary"])
    for row in rows:
        suffixes.setdefault(row["variant"], row["standard"])
    for row in read_table("suffix_variants"):  # forms real layers use that C1 lacks
        suffixes.setdefault(row["variant"], row["standard"])
    directionals = {r["variant"]: r["standard"] for r in read_table("usps_directionals")}
    units = {r["variant"]: r["standard"] for r in read_table("usps_units")}
    states: dict[str, str] = {}
    for r in read_table("usps_states"):
        states[r["abbreviation"]] = r["abbreviation"]
        states[r["name"]] = r["abbreviation"]
    number_words = {
        r["word"]: (int(r["value"]), r["ordinal"] == "1") for r in read_table("number_words")
    }
    highways: list[tuple[tuple[str, ...], str]] = []
    state_forms = sorted(states)  # abbreviations and names
    for r in read_table("highways"):
        variant = r["variant"]
        if "{STATE}" in variant:
            for form in state_forms:
                highways.append((tuple(variant.replace("{STATE}", form).split()), r["canonical"]))
        else:
            highways.append((tuple(variant.split()), r["canonical"]))
    highways.sort(key=lambda item: -len(item[0]))
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for item in highways:
        by_first.setdefault(item[0][0], []).append(item)
    name_words = sorted(
        (
            (tuple(r["variant"].split()), tuple(r["standard"].split()))
            for r in read_table("name_words")
        ),
        key=lambda item: -len(item[0]),
    )
    return Tables(
        suffixes=suffixes,
        suffix_names=suffix_names,
        directionals=directionals,
        units=units,
        states=states,
        number_words=number_words,
        highways=tuple(highways),
        highways_by_first={first: tuple(items) for first, items in by_first.items()},
        name_words=tuple(name_words),
    )


# -- text cleaning ---------------------------------------------------------------------------------
_NOT_ASCII_PRINTABLE = re.compile(r"[^\x20-\x7e]+")
_SPACES = re.compile(r"\s+")
# what separates words in a street: anything but letters, digits, '#', '/', '&'
_WORD_SEPARATORS = re.compile(r"[^A-Z0-9#/&]+")


_FRACTION_SLASH = "\u2044"


@functools.cache
def _vulgar_fraction(ch: str) -> str:
    """``½`` -> ``" 1/2"``; the fraction slash ``⁄`` -> ``"/"``; any other character unchanged."""
    if ch == _FRACTION_SLASH:
        return "/"
    if unicodedata.decomposition(ch).startswith("<fraction>"):
        return " " + unicodedata.normalize("NFKD", ch).replace(_FRACTION_SLASH, "/")
    return ch


_VULGAR_FRACTIONS = re.compile("[\u00bc-\u00be\u2150-\u215f\u2189\u2044]")


def clean_text(text: str) -> str:
    """Upper-case ASCII: accents stripped, emoji and control characters dropped, spaces collapsed.

    A vulgar fraction is a fraction after a space (``58½`` is ``58 1/2``, never ``5812``).

    >>> clean_text("  1234  Niño St. 🏠\\t")
    '1234 NINO ST.'
    >>> clean_text("58½ William"), clean_text("58 ¾"), clean_text("58 1\u20442")
    ('58 1/2 WILLIAM', '58 3/4', '58 1/2')
    """
    text = str(text)
    if not text.isascii():  # ASCII (nearly every address) has no accents or fractions to fold
        text = _VULGAR_FRACTIONS.sub(lambda m: _vulgar_fraction(m.group()), text)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NOT_ASCII_PRINTABLE.sub(" ", text.replace("\t", " "))
    return _SPACES.sub(" ", text).strip().upper()


def street_tokens(text: str) -> list[str]:
    """Words of a street: upper case, periods and apostrophes dropped, other punctuation a space.

    >>> street_tokens("n.e. twenty-first st., o'neil")
    ['NE', 'TWENTY', 'FIRST', 'ST', 'ONEIL']
    """
    text = clean_text(text).replace(".", "").replace("'", "")
    return [t for t in _WORD_SEPARATORS.sub(" ", text).split() if t not in {"&"}]


# -- streets ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Street:
    """A street name in USPS form: ``N`` + ``KINGSHIGHWAY``; ``S`` + ``SPRIGG`` + ``ST``."""

    predir: str = ""
    name: str = ""
    suffix: str = ""
    postdir: str = ""
    #: the name's words as written, before normalization (for fuzzy matching)
    raw_name: str = field(default="", compare=False, repr=False)

    @property
    def key(self) -> str:
        """The whole street, normalized: ``"S SPRIGG ST"``."""
        return " ".join(p for p in (self.predir, self.name, self.suffix, self.postdir) if p)

    def __str__(self) -> str:
        return self.key


_ORDINAL_DIGITS = re.compile(r"^(\d+)(ST|ND|RD|TH|D)$")


def ordinal(value: int) -> str:
    """``21`` -> ``"21ST"``; ``12`` -> ``"12TH"``.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102, 111)]
    ['1ST', '2ND', '3RD', '4TH', '11TH', '12TH', '13TH', '21ST', '102ND', '111TH']
    """
    if 10 <= value % 100 <= 20:
        return f"{value}TH"
    return f"{value}{ {1: 'ST', 2: 'ND', 3: 'RD'}.get(value % 10, 'TH') }"


def _replace_phrases(
    tokens: list[str], phrases: Iterable[tuple[tuple[str, ...], tuple[str, ...]]]
) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for variant, standard in phrases:
            if tuple(tokens[i : i + len(variant)]) == variant:
                out.extend(standard)
                i += len(variant)
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _numbers_in_name(tokens: list[str]) -> list[str]:
    """FIRST -> 1ST, TWENTY FIRST -> 21ST, 21st -> 21ST, 2D -> 2ND; other words unchanged."""
    words = tables().number_words
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        m = _ORDINAL_DIGITS.match(tok)
        if m:
            out.append(ordinal(int(m.group(1))))
            i += 1
            continue
        value = words.get(tok)
        if value is not None and not value[1] and value[0] % 10 == 0 and 20 <= value[0] <= 90:
            nxt = words.get(tokens[i + 1]) if i + 1 < len(tokens) else None
            if nxt is not None and nxt[1] and nxt[0] < 10:
                out.append(ordinal(value[0] + nxt[0]))
                i += 2
                continue
        if value is not None and value[1]:
            out.append(ordinal(value[0]))
        else:
            out.append(tok)
        i += 1
    return out


#: how every normalized highway name starts (see ``highways.csv``)
HIGHWAY_NAMES = ("US HIGHWAY ", "STATE HIGHWAY ", "HIGHWAY ", "INTERSTATE ", "COUNTY ")


def _is_route_id(token: str, letters_allowed: bool) -> bool:
    if re.fullmatch(r"\d{1,4}[A-Z]?", token):
        return True
    t = tables()
    return (
        letters_allowed
        and re.fullmatch(r"[A-Z]{1,2}", token) is not None
        and token not in t.directionals
        and token not in t.suffixes
    )


def _highway(tokens: list[str]) -> tuple[str, list[str]] | None:
    """``[US, HWY, 61, N]`` -> ``("US HIGHWAY 61", [N])``: the highway name and the tokens after."""
    if not tokens:
        return None
    t = tables()
    for variant, canonical in t.highways_by_first.get(tokens[0], ()):
        n = len(variant)
        if len(tokens) > n and tuple(tokens[:n]) == variant:
            # Bare one-word prefixes (US, SR, MO, I) only before a numbered route; longer ones
            # (HIGHWAY, ROUTE, STATE HIGHWAY) also before a lettered route: "ROUTE K".
            letters = n > 1 or len(variant[0]) >= 3 and variant[0] not in t.states
            if _is_route_id(tokens[n], letters):
                return f"{canonical} {tokens[n]}", tokens[n + 1 :]
    return None


def normalize_name(tokens: Iterable[str]) -> str:
    """The name part of a street in normalized form (no directionals or suffix).

    Spelled-out and written ordinals become ``21ST``; highway forms become one canonical form
    (``US HIGHWAY 61``, ``STATE HIGHWAY 74``, ``HIGHWAY 61`` when no system is named); in names of
    several words, suffix and directional words take their standard forms (``MOUNTAIN VIEW`` ->
    ``MTN VW``, ``WEST END`` -> ``W END``) and name words theirs (``SAINT`` -> ``ST``).

    >>> normalize_name(["TWENTY", "FIRST"]), normalize_name(["MO", "74"])
    ('21ST', 'STATE HIGHWAY 74')
    >>> normalize_name(["SAINT", "LOUIS"]), normalize_name(["MOUNTAIN", "VIEW"])
    ('ST LOUIS', 'MTN VW')
    >>> normalize_name(["MOUNT", "5"]), normalize_name(["MT", "5"])
    ('MOUNT 5', 'STATE HIGHWAY 5')
    """
    toks = [t for t in tokens if t]
    if not toks:
        return ""
    hw = _highway(toks)
    if hw is not None:
        name, rest = hw
        return " ".join([name, *rest])
    t = tables()
    words = _replace_phrases(toks, t.name_words)
    words = _numbers_in_name(words)
    if len(words) > 1:
        words = [t.suffixes.get(tok, t.directionals.get(tok, tok)) for tok in words]
    if _highway(words) is not None:
        # the standard forms made a highway of a name ("MOUNT 5" -> "MT 5", Montana's route 5):
        # keep the words as written, so that the normalized name normalizes to itself
        return " ".join(toks)
    return " ".join(words)


@functools.lru_cache(maxsize=65536)
def _parse_street_tokens(tokens: tuple[str, ...]) -> Street:
    t = tables()
    toks = list(tokens)
    if not toks:
        return Street()
    # highway first: "US HWY 61 N", "N HWY 61"
    predir = ""
    body = toks
    if len(body) > 1 and body[0] in t.directionals and _highway(body[1:]) is not None:
        predir, body = t.directionals[body[0]], body[1:]
    hw = _highway(body)
    if hw is not None:
        name, rest = hw
        postdir = ""
        if rest and rest[-1] in t.directionals:
            postdir, rest = t.directionals[rest[-1]], rest[:-1]
        suffix = ""
        if rest and rest[-1] in t.suffixes and rest[-1] not in {"HWY", "HIGHWAY"}:
            suffix, rest = t.suffixes[rest[-1]], rest[:-1]
        return Street(predir, " ".join([name, *rest]), suffix, postdir, " ".join(body))

    # otherwise: [predir] name... [suffix] [postdir], keeping at least one word for the name
    start, end = 0, len(toks)
    postdir = suffix = ""
    if end - start >= 2 and toks[end - 1] in t.directionals:
        postdir = t.directionals[toks[end - 1]]
        end -= 1
    if end - start >= 2 and toks[end - 1] in t.suffixes:
        suffix = t.suffixes[toks[end - 1]]
        end -= 1
    if end - start >= 2 and toks[start] in t.directionals:
        predir = t.directionals[toks[start]]
        start += 1
    return Street(
        predir, normalize_name(toks[start:end]), suffix, postdir, " ".join(toks[start:end])
    )


def parse_street(text: str | Iterable[str]) -> Street:
    """Split a street into directionals, name and suffix, each in USPS form.

    >>> parse_street("N Kingshighway")
    Street(predir='N', name='KINGSHIGHWAY', suffix='', postdir='')
    >>> parse_street("south sprigg street").key, parse_street("Kingshighway N").key
    ('S SPRIGG ST', 'KINGSHIGHWAY N')
    >>> parse_street("state hwy 74").key, parse_street("Avenue H").key, parse_street("North St").key
    ('STATE HIGHWAY 74', 'AVE H', 'NORTH ST')
    """
    tokens = street_tokens(text) if isinstance(text, str) else [str(t).upper() for t in text]
    return _parse_street_tokens(tuple(tokens))


def street_readings(text: str | Iterable[str]) -> tuple[Street, ...]:
    """Every way to read a street, the usual one first.

    A directional or suffix word may belong to the name: ``WEST END BLVD`` is ``W`` + ``END`` +
    ``BLVD`` to the rules but the city may call the street ``N WEST END BLVD``; ``CHERRY HILLS``
    may be ``CHERRY HILLS DR`` with its suffix left out. The geocoder tries the readings in order.

    >>> [(r.predir, r.name, r.suffix) for r in street_readings("West End Blvd")][::2]
    [('W', 'END', 'BLVD'), ('', 'W END', 'BLVD')]
    >>> [(r.name, r.suffix) for r in street_readings("Cherry Hills")]
    [('CHERRY', 'HLS'), ('CHERRY HLS', '')]
    """
    tokens = street_tokens(text) if isinstance(text, str) else [str(t).upper() for t in text]
    return _street_readings(tuple(tokens))


@functools.lru_cache(maxsize=65536)
def _street_readings(tokens: tuple[str, ...]) -> tuple[Street, ...]:
    first = _parse_street_tokens(tokens)
    readings = [first]
    if first.name and (first.predir or first.suffix) and not first.name.startswith(HIGHWAY_NAMES):
        toks = list(tokens)
        post = 1 if first.postdir else 0
        end = len(toks) - post
        body_start = 1 if first.predir else 0
        body_end = end - (1 if first.suffix else 0)
        if first.suffix:  # the suffix word is part of the name
            words = toks[body_start:end]
            readings.append(
                Street(first.predir, normalize_name(words), "", first.postdir, " ".join(words))
            )
        if first.predir:  # the directional word is part of the name
            words = toks[0:body_end]
            readings.append(
                Street("", normalize_name(words), first.suffix, first.postdir, " ".join(words))
            )
        if first.predir and first.suffix:
            words = toks[0:end]
            readings.append(Street("", normalize_name(words), "", first.postdir, " ".join(words)))
    if first.name and first.postdir and not first.suffix:  # "CAPE WEST" for CAPE WEST PKWY
        words = list(tokens[1 if first.predir else 0 :])
        readings.append(Street(first.predir, normalize_name(words), "", "", " ".join(words)))
    out: list[Street] = []
    for r in readings:
        if r.name and r not in out:
            out.append(r)
    return tuple(out) or (first,)


def normalize_place(text: str) -> str:
    """A city name in one form, to compare: words only, name words standard (``SAINT`` -> ``ST``).

    >>> normalize_place("Saint Louis"), normalize_place("st. louis"), normalize_place("Cape")
    ('ST LOUIS', 'ST LOUIS', 'CAPE')
    """
    return " ".join(_replace_phrases(street_tokens(text), tables().name_words))


def normalize_street(text: str) -> str:
    """A street in normalized form: the key the geocoder compares.

    >>> normalize_street("N. Kingshighway"), normalize_street("SOUTH SPRIGG STREET")
    ('N KINGSHIGHWAY', 'S SPRIGG ST')
    >>> normalize_street("Hwy 61"), normalize_street("State Route 74"), normalize_street("I-55")
    ('HIGHWAY 61', 'STATE HIGHWAY 74', 'INTERSTATE 55')
    """
    return parse_street(text).key


def generic_highway(name: str) -> str | None:
    """The system-less form of a highway name: ``US HIGHWAY 61`` -> ``HIGHWAY 61``; else None.

    >>> generic_highway("US HIGHWAY 61"), generic_highway("STATE HIGHWAY 74")
    ('HIGHWAY 61', 'HIGHWAY 74')
    >>> generic_highway("MAIN") is None
    True
    """
    for prefix in ("US HIGHWAY ", "STATE HIGHWAY "):
        if name.startswith(prefix):
            return "HIGHWAY " + name[len(prefix) :]
    return None


# -- numbers, units, ZIPs --------------------------------------------------------------------------
#: a house number: up to 7 digits, then a letter, a fraction (1/2, 3/4) or a short suffix
_NUMBER = re.compile(r"^(\d{1,7})\s*(?:-?\s*([1-9]/[2-9]\s?[A-Z]?|[A-Z]{1,2}|[A-Z0-9]{1,4}))?$")
_FRACTION = re.compile(r"^\d+/\d+$")


@functools.lru_cache(maxsize=65536)
def normalize_number(text: str) -> tuple[str, int] | None:
    """A house number as ``(text, value)``: ``"12-a"`` -> ``("12A", 12)``; not a number -> None.

    Letter suffixes join the number (``12A``), fractions follow a space (``58 1/2``), other
    numbers after a hyphen keep it (``12-1``).

    >>> normalize_number("58 1/2"), normalize_number("12-A"), normalize_number("1234")
    (('58 1/2', 58), ('12A', 12), ('1234', 1234))
    >>> normalize_number("X") is None
    True
    """
    s = clean_text(text).replace("#", "").strip()
    if s.endswith(".0") and s[:-2].isdigit():  # numbers read from a float column
        s = s[:-2]
    m = _NUMBER.match(s)
    if not m:
        return None
    base, suffix = m.group(1), m.group(2) or ""
    value = int(base)
    base = str(value) if base.strip("0") else "0"
    if not suffix:
        return base, value
    if _FRACTION.match(suffix.split(" ")[0].rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")):
        return f"{base} {suffix.replace(' ', '')}", value
    if suffix.isalpha():
        return f"{base}{suffix}", value
    return f"{base}-{suffix}", value


def normalize_unit(text: str) -> str:
    """A unit in USPS form: designator (C2 standard) and identifier.

    >>> normalize_unit("Apartment 5"), normalize_unit("# 5b"), normalize_unit("5")
    ('APT 5', '# 5B', '5')
    >>> normalize_unit("suite 200")
    'STE 200'
    """
    tokens = [t for t in re.split(r"[\s\-.,]+|(?=#)|(?<=#)", clean_text(text)) if t]
    if not tokens:
        return ""
    units = tables().units
    designator = ""
    if tokens[0] in units:
        designator = units[tokens[0]]
        tokens = tokens[1:]
        if tokens and tokens[0] == "#":  # "APT #5"
            tokens = tokens[1:]
    ident = "".join(tokens)
    return " ".join(p for p in (designator, ident) if p)


def unit_id(unit: str) -> str:
    """What tells units apart, whatever the designator: ``APT 5``, ``# 5``, ``UNIT 5`` -> ``5``.

    >>> unit_id("APT 5"), unit_id("# 5"), unit_id("REAR"), unit_id("")
    ('5', '5', 'REAR', '')
    """
    parts = unit.split(" ", 1)
    if len(parts) == 2 and parts[0] in tables().units.values():
        return parts[1]
    return unit


def normalize_zip(text: str) -> str:
    """The 5-digit ZIP: ``63701-1234`` -> ``63701``; ``2139`` (lost its zero) -> ``02139``.

    >>> normalize_zip("63701-1234"), normalize_zip(" 2139"), normalize_zip("n/a")
    ('63701', '02139', '')
    """
    s = clean_text(text)
    if s.endswith(".0"):
        s = s[:-2]
    m = re.match(r"^(\d{3,5})(?:-?\d{4})?$", s)
    return m.group(1).zfill(5) if m else ""


# -- whole addresses -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParsedAddress:
    """One address as typed, split and normalized. Empty strings for parts not given.

    ``kind`` is ``"street"`` for a street address, ``"po_box"``, ``"empty"`` (nothing usable), or
    ``"too_long"`` (more than ``MAX_ADDRESS_LENGTH`` characters: not parsed).
    """

    number: str = ""
    predir: str = ""
    name: str = ""
    suffix: str = ""
    postdir: str = ""
    unit: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    kind: str = "street"
    #: the street words before name normalization, for fuzzy matching
    raw_name: str = field(default="", compare=False, repr=False)

    @property
    def street(self) -> Street:
        """The street parts as a ``Street``."""
        return Street(self.predir, self.name, self.suffix, self.postdir, self.raw_name)

    @property
    def readings(self) -> tuple[Street, ...]:
        """Every reading of the street words, the usual one first (see ``street_readings``)."""
        if not self.raw_name:
            return (self.street,) if self.name else ()
        return _street_readings(tuple(self.raw_name.split()))

    @property
    def street_key(self) -> str:
        """The normalized whole street: ``"N KINGSHIGHWAY"``."""
        return self.street.key

    @property
    def has_street_name(self) -> bool:
        """Whether the street words carry a name: a word with a letter that is not only a street
        type, a directional, a unit or a highway word (``12 Ave``, ``5 ★ St``, ``12 61`` carry
        none); before a typed street type such a word is a name (``East St``, ``Park Ave``).
        Text without a name is no street to match, however close some name is.

        >>> [parse_address(t).has_street_name for t in ("12 Ave", "10 🙂 St", "12 N", "1 0 Pk")]
        [False, False, False, False]
        >>> [parse_address(t).has_street_name for t in ("12 Oak", "12 East St", "12 Grden St")]
        [True, True, True]
        """
        return any(
            _is_name_word(w, typed_type=bool(r.suffix))
            for r in self.readings
            for w in (r.raw_name or r.name).split()
        )

    @property
    def number_value(self) -> int | None:
        """The house number's integer part (``58`` for ``58 1/2``), or None."""
        parsed = normalize_number(self.number) if self.number else None
        return parsed[1] if parsed else None

    @property
    def unit_id(self) -> str:
        """The unit's identifier whatever its designator (``5`` for ``APT 5`` and ``# 5``)."""
        return unit_id(self.unit)

    @property
    def address(self) -> str:
        """Number, street and unit in one line: ``"1234 N KINGSHIGHWAY APT 5"``."""
        return " ".join(p for p in (self.number, self.street_key, self.unit) if p)


def correction_key(parsed: ParsedAddress) -> str:
    """The key an address correction is kept and found by: house number and normalized street
    (no unit, town or ZIP: a correction is of one building), or "" when either is missing.

    >>> correction_key(parse_address("12 old jackson road, Cape Girardeau MO"))
    '12 OLD JACKSON RD'
    >>> correction_key(parse_address("Old Jackson Rd"))
    ''
    """
    if not parsed.number or not parsed.name:
        return ""
    return f"{parsed.number} {parsed.street_key}"


#: words that name a kind of road, not a road (beside street types, directionals and units)
_ROAD_WORDS = frozenset("HIGHWAY HWY ROUTE RT RTE US SR STATE COUNTY CR CO INTERSTATE I".split())


def _is_name_word(word: str, typed_type: bool) -> bool:
    """Whether a street word may be (part of) a name: it has a letter and is not a type word.
    Before a typed street type, a directional or a type word is a name (``N St``, ``Park Ave``,
    ``Grden St``: GRDEN is a form of GARDEN, and a misspelled GARDEN)."""
    t = tables()
    if not any(ch.isalpha() for ch in word):
        return False
    if typed_type:
        return word not in t.units
    return not (
        word in t.directionals or word in t.suffixes or word in t.units or word in _ROAD_WORDS
    )


_STREET_LABELS = (
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostModifier",
    "StreetNamePostDirectional",
)
_US = re.compile(r"\bU S\b")
_PERIOD_BEFORE_LETTER = re.compile(r"\.(?=[A-Z])")
_ADDRESS_PUNCTUATION = re.compile(r"[^A-Z0-9 ,#/&-]")


_HOUSE_NUMBER_START = re.compile(r"^\s*\d\S*\s*")
_TWO_LETTERS = re.compile(r"[A-Z]{2}")
_ORDINAL_WORD = re.compile(r"\b\d+(ST|ND|RD|TH)\b")


def _has_street(text: str) -> bool:
    """Whether ``text`` holds a word of two letters or more after any leading house number."""
    rest = _HOUSE_NUMBER_START.sub("", text)
    return _TWO_LETTERS.search(rest) is not None or _ORDINAL_WORD.search(rest) is not None


_TRAILING_ZIP = re.compile(r"(?:^|[\s,])(\d{5})(?:\s*-\s*\d{4})?\s*$")
_NUMBER_ONLY = re.compile(r"[0-9A-Z/ -]*\d")
_LETTER_OR_DIGIT = re.compile(r"[A-Z0-9]")
_DIGIT = re.compile(r"\d")


def _tag(text: str) -> dict[str, str]:
    """usaddress components, in the order written.

    On a ``RepeatedLabelError`` (``1442 U S HWY 61`` tags ``U`` and ``61`` both as StreetName;
    an address written twice repeats everything), ``usaddress.parse`` tokens are grouped
    instead: the first run of street words whatever their street labels, and the first run of
    each other label.
    """
    return dict(_tagged(text))


@functools.lru_cache(maxsize=4096)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    import usaddress  # loaded on the first parse (tagging.py says why)

    # usaddress is half of a parse, and a batch asks it again for one street text written
    # another way ("12 OAK ST." after "12 Oak St, Cape Girardeau"): kept, a few MB at most
    try:
        return tuple(tagging.tag(text).items())  # ``usaddress.tag``, the model run once a shape
    except usaddress.RepeatedLabelError:
        out: dict[str, list[str]] = {}
        closed: set[str] = set()
        previous = None
        for token, label in tagging.parse(text):
            group = "StreetName" if label in _STREET_LABELS else label
            if group != previous and previous is not None:
                closed.add(previous)
            previous = group
            if group not in closed:
                out.setdefault(group, []).append(token)
        return tuple((label, " ".join(tokens)) for label, tokens in out.items())


_FRACTION_WORD = re.compile(r"[1-9]/[2-9]")
_LEADING_NUMBER = re.compile(r"^(\d+(?:-?[A-Z0-9]{1,3})?)(?:\s+([1-9]/[2-9]))?(?:\s+|$)")


def _plausible(text: str, parts: dict[str, str]) -> bool:
    """Whether usaddress's tagging of a street address (city, state, ZIP already removed) holds up.

    It does not when the text starts with a house number usaddress did not see, when it found a
    number but no street, or when it found a state or ZIP inside what is left (``15 ST SAUVEUR
    CT`` tagged as a street named ``15`` in Connecticut).
    """
    has_street = any(label in parts for label in _STREET_LABELS)
    if _LEADING_NUMBER.match(text) and "AddressNumber" not in parts:
        return False
    if "AddressNumber" in parts and not _DIGIT.match(parts["AddressNumber"]):
        return False  # "VETERANS MEMORIAL DRIVE" tagged with VETERANS as the number
    if "AddressNumber" in parts and not has_street:
        return False
    return "StateName" not in parts and "ZipCode" not in parts


def _simple_tag(text: str) -> dict[str, str]:
    """A plain reading, for when usaddress's does not hold up: number, street words, unit.

    A unit starts at a designator (``APT``, ``#``...) after at least one street word, when an
    identifier follows it (or, for ``REAR``/``FRONT``-like designators, at the very end).
    """
    out: dict[str, str] = {}
    rest = text
    m = _LEADING_NUMBER.match(text)
    if m:
        out["AddressNumber"] = m.group(1)
        if m.group(2):
            out["AddressNumberSuffix"] = m.group(2)
        rest = text[m.end() :]
    tokens = rest.replace("#", " # ").split()
    t = tables()
    for i in range(1, len(tokens)):
        tok = tokens[i]
        if tok != "#" and tok not in t.units:
            continue
        following = tokens[i + 1 :]
        if (
            following
            and len(following) <= 2
            and tok == "#"
            or (
                following
                and len(following) <= 2
                and (any(ch.isdigit() for ch in following[0]) or len(following[0]) == 1)
            )
        ):
            out["OccupancyType"] = tok
            out["OccupancyIdentifier"] = " ".join(following)
            tokens = tokens[:i]
            break
        if not following and tok in {"REAR", "FRONT", "FRNT", "UPPER", "LOWER", "BSMT", "PH"}:
            out["OccupancyType"] = tok
            tokens = tokens[:i]
            break
    if tokens:
        out["StreetName"] = " ".join(tokens)
    return out


_SPACE_OR_COMMA = re.compile("[ ,]")
_END = operator.methodcaller("end")


def _strip_trailing(text: str, phrases: Collection[str]) -> tuple[str, str]:
    """Remove the longest of ``phrases`` ending ``text`` after a space or comma (or all of it).

    The longest phrase that ends the text is the one that starts leftmost, so each place where a
    phrase may start (the text's start, after each space or comma) is tried from the left: a few
    set lookups, where trying every phrase (120 state forms) cost more than the parse itself.

    >>> _strip_trailing("12 MAIN ST, NEW YORK", {"YORK", "NEW YORK"})
    ('12 MAIN ST', 'NEW YORK')
    >>> _strip_trailing("12 NEWYORK", {"YORK"})
    ('12 NEWYORK', '')
    """
    if not isinstance(phrases, (set, frozenset, dict)):
        phrases = frozenset(phrases)
    starts = [0, *map(_END, _SPACE_OR_COMMA.finditer(text))]  # after each space or comma
    for start in starts:
        tail = text[start:]
        if tail and tail in phrases:
            return text[:start].rstrip(" ,"), tail
    return text, ""


@functools.lru_cache(maxsize=64)
def _clean_places(places: tuple[str, ...]) -> frozenset[str]:
    # a geocoder passes the same towns to every parse: clean them once, not per address
    return frozenset(p for p in (clean_text(p) for p in places) if p)


def parse_address(text: str, places: Iterable[str] = ()) -> ParsedAddress:
    """Parse one address as a resident types it; never raises for any string.

    The end of the text is read first: a ZIP, a state, and a city (after a comma, or one of
    ``places``, the city names the caller knows, such as the address layer's), since ``usaddress``
    alone takes ``CAPE`` in ``...KINGSHIGHWAY CAPE GIRARDEAU`` for a street suffix. ``usaddress``
    tags the rest; on its ``RepeatedLabelError`` (an address written twice) the first run of each
    label is kept. The street is then split and normalized by ``parse_street``: the same rules the
    address layer goes through.

    >>> text = "1234 north kingshighway street apt 5 Cape Girardeau MO"
    >>> p = parse_address(text, places=["CAPE GIRARDEAU"])
    >>> (p.number, p.predir, p.name, p.suffix, p.unit, p.city, p.state)
    ('1234', 'N', 'KINGSHIGHWAY', 'ST', 'APT 5', 'CAPE GIRARDEAU', 'MO')
    >>> parse_address("58 1/2 William St").number, parse_address("PO Box 12").kind
    ('58 1/2', 'po_box')
    >>> parse_address("   ").kind, parse_address("x" * 300).kind
    ('empty', 'too_long')
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > MAX_ADDRESS_LENGTH:
        return ParsedAddress(kind="too_long")
    return parse_cleaned(parse_key(text), places)


def load_parser() -> None:
    """Load what a text that is no exact match needs (usaddress's model, rapidfuzz) now.

    They load on first use otherwise, so a one-off lookup of an address as the layer writes it
    never pays for them; a server calls this at start, so that no resident's first lookup
    waits for them and its forked workers share them.
    """
    import rapidfuzz.fuzz  # noqa: F401
    import rapidfuzz.process  # noqa: F401
    import usaddress  # noqa: F401


def parse_key(text: str) -> str:
    """What ``parse_address`` reads of a text (up to ``MAX_ADDRESS_LENGTH`` characters): upper-case
    ASCII, periods and apostrophes dropped, other punctuation but ``, # / - &`` a space, spaces
    collapsed. Two texts with one parse key parse alike: ``parse_address(text, places)`` is
    ``parse_cleaned(parse_key(text), places)``.

    >>> parse_key("  117 s. Sprigg st.  "), parse_key("12 O'Neil Ave;"), parse_key("U.S. Hwy 61")
    ('117 S SPRIGG ST', '12 ONEIL AVE', 'US HWY 61')
    """
    # periods go ("N." is N, "ST.LOUIS" is ST LOUIS); punctuation other than , # / - & is a space
    s = _PERIOD_BEFORE_LETTER.sub(" ", clean_text(text)).replace(".", "").replace("'", "")
    s = " ".join(_ADDRESS_PUNCTUATION.sub(" ", s).split()).strip(" ,-&")
    return _US.sub("US", s)  # "U.S. 61"


def parse_cleaned(s: str, places: Iterable[str] = ()) -> ParsedAddress:
    """``parse_address`` of a text already read by ``parse_key`` (``s`` is a parse key)."""
    t = tables()
    places = _clean_places(tuple(places))
    zip_code = state = city = ""
    m = _TRAILING_ZIP.search(s)
    if m:
        zip_code, s = m.group(1), s[: m.start()].rstrip(" ,")
    segments = [seg.strip() for seg in s.split(",") if seg.strip()]
    if len(segments) > 1 and _NUMBER_ONLY.fullmatch(segments[0]):
        segments[:2] = [f"{segments[0]} {segments[1]}"]  # "1234, N Kingshighway"
    address = segments[0] if segments else ""
    for seg in segments[1:]:
        words = seg.split()
        if seg.startswith("#") or words[0] in t.units:
            address = f"{address} {seg}"  # "..., Apt 5"
            continue
        head, found = _strip_trailing(seg, t.states)
        if found:
            state, seg = t.states[found], head
        if seg and not city:
            city = seg
    if address and not state:
        head, found = _strip_trailing(address, t.states)
        # without a comma, a trailing state only before a ZIP or after a known city, and never
        # the street itself ("2271 TEXAS 63701" is TEXAS PL)
        before_place, place = _strip_trailing(head, places)
        # nor a street suffix that ends the street ("2360 DOGWOOD CT 63701" is DOGWOOD CT)
        last = head.split()[-1] if head.split() else ""
        suffix = found in t.suffixes and not place and last not in t.suffixes
        if (
            found
            and not suffix
            and _has_street(head)
            and (zip_code or place and _has_street(before_place))
        ):
            address, state = head, t.states[found]
    if address and places:
        head, found = _strip_trailing(address, places)
        if found and _has_street(head):
            address, city = head, city or found
    s = address.strip(" ,")
    if not _LETTER_OR_DIGIT.search(s):
        return ParsedAddress(city=city, state=state, zip=zip_code, kind="empty")

    parts = _tag(s)
    if "USPSBoxID" in parts or "USPSBoxType" in parts:
        return ParsedAddress(city=city, state=state, zip=zip_code, kind="po_box")
    if not _plausible(s, parts):
        parts = _simple_tag(s)

    number = ""
    raw_number = " ".join(
        parts.get(k, "") for k in ("AddressNumberPrefix", "AddressNumber", "AddressNumberSuffix")
    ).strip()
    if raw_number:
        parsed_number = normalize_number(raw_number) or normalize_number(
            parts.get("AddressNumber", "")
        )
        # a number that is no house number ("99999999999 N MAIN") is kept as given: never a
        # street alone, never matched
        number = parsed_number[0] if parsed_number else clean_text(raw_number)

    # street words in the order they were written
    street_words = [
        w for label, v in parts.items() if label in _STREET_LABELS for w in street_tokens(v)
    ]
    unit = ""
    occupancy = (
        " ".join(parts.get(k, "") for k in ("OccupancyType", "OccupancyIdentifier")).strip()
        or " ".join(parts.get(k, "") for k in ("SubaddressType", "SubaddressIdentifier")).strip()
    )
    if occupancy:
        unit = normalize_unit(occupancy)
    # a designator read as a street word: "...ROUTE 74 APARTMENT" + "4"
    if street_words and street_words[-1] in t.units and unit and unit == unit_id(unit):
        unit = normalize_unit(f"{street_words.pop()} {unit}")
    if not street_words and not number:
        whole = normalize_number(s)
        if whole is not None:  # a number alone
            return ParsedAddress(number=whole[0], city=city, state=state, zip=zip_code)
        if not unit:  # a street alone ("william", "n kingshighway"): usaddress tags it anything
            street_words = street_tokens(s)
            parts.pop("PlaceName", None)
    city = city or clean_text(parts.get("PlaceName", "")).strip(" ,")
    if not state and parts.get("StateName"):
        state = t.states.get(" ".join(street_tokens(parts["StateName"])), "")
    if not zip_code and parts.get("ZipCode"):
        zip_code = normalize_zip(parts["ZipCode"])

    # a fraction after the number belongs to it: usaddress reads "165 3/4 BESSIE ST" as a
    # street named "3/4 BESSIE ST"
    if number.isdigit() and len(street_words) > 1 and _FRACTION_WORD.fullmatch(street_words[0]):
        number = f"{number} {street_words.pop(0)}"
    street = _parse_street_tokens(tuple(street_words))
    return ParsedAddress(
        number=number,
        predir=street.predir,
        name=street.name,
        suffix=street.suffix,
        postdir=street.postdir,
        unit=unit,
        city=city,
        state=state,
        zip=zip_code,
        kind="street" if street.name or number else "empty",
        raw_name=" ".join(street_words),
    )
