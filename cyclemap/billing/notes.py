"""Billing-status notes: Markdown made safe, effective windows, and the city's ``notes.toml``.

A note is what a resident came for ("Cycle 1 and Cycle 2 bills were not able to be sent in
February..."). Its body is Markdown, rendered by markdown-it-py with raw HTML disabled and then
sanitized by nh3, so a note can never carry script into a page, whoever typed it.

>>> note = Note(id=1, title="Disconnects", body_markdown="No services will be disconnected "
...             "on **2/26/20**.", cycles="all", posted=dt.date(2020, 2, 20))
>>> note.html
'<p>No services will be disconnected on <strong>2/26/20</strong>.</p>\\n'
>>> [n.title for n in notes_for([note], "3", dt.date(2020, 2, 21))]
['Disconnects']

A note is written in English; it may also carry a Spanish title and body (``title_es``,
``body_es``). ``Note.text_in(language)`` picks the words a page in that language shows: the
Spanish ones on a Spanish page when the note has them, else the English ones, which the page then
marks as English.

This module needs no database; the store keeps notes in its tables and hands back ``Note``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError, InputError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: ``cycles`` of a note that applies to every cycle
ALL_CYCLES: Literal["all"] = "all"

Cycles = tuple[str, ...] | Literal["all"]

#: longest title a note may have (a heading on a small phone screen)
MAX_TITLE = 200
#: the languages a note may carry besides its English text: ``title_<lang>`` and ``body_<lang>``
NOTE_LANGUAGES = ("es",)
#: the language of a note's own ``title`` and ``body``
NOTE_SOURCE_LANGUAGE = "en"
#: the display order a note may have (the store keeps it in a 32-bit integer column)
MIN_ORDER, MAX_ORDER = -(2**31), 2**31 - 1
_NO_POSTED = "a note needs a posted date"

_ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}


@functools.cache
def _markdown() -> MarkdownIt:
    # CommonMark with raw HTML off: "<script>" in a note is shown as text, never parsed as a tag.
    # Imported here, not at the top: a lookup that prints note titles (the CLI) never renders
    # HTML and need not pay for markdown-it and nh3 on every start.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False})


def render_markdown(text: str) -> str:
    """Render a note's Markdown to HTML that is safe to put in any page.

    Raw HTML is escaped, links keep only the ``http``, ``https``, ``mailto`` and ``tel`` schemes
    (and get ``rel="noopener noreferrer nofollow"``), images are dropped.

    >>> render_markdown("Pay at [City Hall](https://example.org/pay) <b onmouseover=x>now</b>")
    '<p>Pay at <a href="https://example.org/pay" rel="noopener noreferrer nofollow">City Hall</a> \
&lt;b onmouseover=x&gt;now&lt;/b&gt;</p>\\n'
    >>> render_markdown("[click](javascript:alert(1))")
    '<p>[click](javascript:alert(1))</p>\\n'
    """
    import nh3

    html = _markdown().render(text or "")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def normalize_cycles(value: Any) -> Cycles:
    """The cycles a note applies to: ``"all"`` or a tuple of cycle ids (strings, no repeats).

    >>> normalize_cycles(["1", 2, "1"]), normalize_cycles("all"), normalize_cycles("3")
    (('1', '2'), 'all', ('3',))
    >>> normalize_cycles([])
    Traceback (most recent call last):
    ...
    cyclemap.errors.InputError: a note must name at least one cycle, or "all"
    """
    if isinstance(value, str):
        value = value.strip()
        if value.lower() == ALL_CYCLES:
            return ALL_CYCLES
        value = [value] if value else []
    if not isinstance(value, Iterable):
        raise InputError(f'cycles must be "all" or a list of cycle ids, not {value!r}')
    ids: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise InputError(f"a cycle id must be text, not {item!r}")
        cid = str(item).strip()
        if not cid:
            raise InputError("a cycle id cannot be empty")
        if cid.lower() == ALL_CYCLES:
            return ALL_CYCLES
        if cid not in ids:
            ids.append(cid)
    if not ids:
        raise InputError('a note must name at least one cycle, or "all"')
    return tuple(ids)


def parse_date(value: Any, what: str = "date") -> dt.date | None:
    """A date from a ``date``, an ISO ``YYYY-MM-DD`` string, or ``None``/``""`` (no date).

    >>> parse_date("2020-02-20"), parse_date(None)
    (datetime.date(2020, 2, 20), None)
    >>> parse_date("2/20/20", "starts")
    Traceback (most recent call last):
    ...
    cyclemap.errors.InputError: starts must be a date written YYYY-MM-DD, not '2/20/20'
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(f"{what} must be a date written YYYY-MM-DD, not {value!r}")


def parse_required_date(value: Any, what: str, missing: str) -> dt.date:
    """``parse_date`` where no date is wrong too: ``InputError(missing)``.

    >>> parse_required_date("", "posted", "a note needs a posted date")
    Traceback (most recent call last):
    ...
    cyclemap.errors.InputError: a note needs a posted date
    """
    date = parse_date(value, what)
    if date is None:
        raise InputError(missing)
    return date


@dataclass(frozen=True)
class NoteText:
    """A note's words for one page: its title, its body as safe HTML, and their language."""

    title: str
    html: str
    #: ``"en"`` (the note's own text) or a language of ``NOTE_LANGUAGES``
    language: str


def _tidy_title(value: Any, what: str) -> str:
    """A title with its white space collapsed; ``what`` names it ("title", "Spanish title")."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"a note needs a {what}")
    title = " ".join(value.split())
    if len(title) > MAX_TITLE:
        raise InputError(f"a note's {what} must be at most {MAX_TITLE} characters")
    return title


def _optional_text(value: Any, what: str) -> str | None:
    """``None`` for a missing or blank optional text, else the text itself."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"a note's {what} must be text")
    return value if value.strip() else None


@dataclass(frozen=True)
class Note:
    """One billing-status note.

    ``cycles`` is ``"all"`` or a tuple of cycle ids. The note is shown from ``starts`` to ``ends``
    (both inclusive, either open) unless ``expired``. ``display_order`` sorts notes (smaller
    first). ``updated`` defaults to ``posted``. ``title_es`` and ``body_es`` (Markdown) are its
    Spanish text, both or neither.
    """

    id: int | None
    title: str
    body_markdown: str
    cycles: Cycles
    posted: dt.date
    updated: dt.date | None = None
    starts: dt.date | None = None
    ends: dt.date | None = None
    display_order: int = 0
    expired: bool = False
    title_es: str | None = None
    body_es: str | None = None

    def __post_init__(self) -> None:
        if self.updated is None:
            object.__setattr__(self, "updated", self.posted)

    @property
    def stored_id(self) -> int:
        """The store's id of a note read from it (``InputError`` for one not saved yet)."""
        if self.id is None:
            raise InputError("this note is not saved yet: it has no id")
        return self.id

    @property
    def updated_on(self) -> dt.date:
        """The day the note last changed: ``updated``, which is ``posted`` unless given."""
        return self.updated or self.posted

    @functools.cached_property
    def html(self) -> str:
        """The body as sanitized HTML (see ``render_markdown``)."""
        return render_markdown(self.body_markdown)

    @functools.cached_property
    def html_es(self) -> str | None:
        """The Spanish body as sanitized HTML, or None when the note has no Spanish text."""
        return render_markdown(self.body_es) if self.body_es else None

    def translations(self) -> dict[str, NoteText]:
        """The note's text in each language of ``NOTE_LANGUAGES`` it has, by language.

        >>> n = Note(1, "Disconnects", "None on **2/26/20**.", "all", dt.date(2020, 2, 20),
        ...          title_es="Cortes de servicio", body_es="Ninguno el **26/2/20**.")
        >>> n.translations()["es"].html
        '<p>Ninguno el <strong>26/2/20</strong>.</p>\\n'
        """
        if self.title_es and self.html_es:
            return {"es": NoteText(self.title_es, self.html_es, "es")}
        return {}

    def text_in(self, language: str) -> NoteText:
        """The words a page in ``language`` (a tag such as ``es`` or ``es-MX``) shows: the note's
        text in that language when it has one, else its English text (``language`` ``"en"``,
        which a page in another language marks as English).

        >>> n = Note(1, "Disconnects", "None.", "all", dt.date(2020, 2, 20))
        >>> n.text_in("es-MX").language, n.text_in("es").title
        ('en', 'Disconnects')
        """
        primary = language.replace("_", "-").split("-")[0].lower()
        found = self.translations().get(primary)
        return found or NoteText(self.title, self.html, NOTE_SOURCE_LANGUAGE)

    def applies_to(self, cycle_id: str | None) -> bool:
        """Whether the note concerns ``cycle_id`` (``None`` means "any cycle").

        >>> Note(1, "t", "", ("1", "2"), dt.date(2020, 1, 1)).applies_to("2")
        True
        """
        return cycle_id is None or self.cycles == ALL_CYCLES or str(cycle_id) in self.cycles

    def shown_on(self, today: dt.date) -> bool:
        """Whether the note is shown on ``today``: not expired and inside its window.

        >>> n = Note(1, "t", "", "all", dt.date(2020, 2, 20), ends=dt.date(2020, 4, 30))
        >>> n.shown_on(dt.date(2020, 4, 30)), n.shown_on(dt.date(2020, 5, 1))
        (True, False)
        """
        if self.expired:
            return False
        if self.starts is not None and today < self.starts:
            return False
        return self.ends is None or today <= self.ends

    def validated(self, known_cycles: Iterable[str] | None = None) -> Note:
        """This note with its fields checked and tidied; ``InputError`` says what is wrong.

        >>> Note(None, "  Water main  ", "", ["2"], dt.date(2020, 1, 1)).validated().title
        'Water main'
        >>> Note(None, "x", "", ["9"], dt.date(2020, 1, 1)).validated(known_cycles=["1", "2"])
        Traceback (most recent call last):
        ...
        cyclemap.errors.InputError: no such cycle: 9 (the city's cycles are 1, 2)
        """
        title = _tidy_title(self.title, "title")
        if not isinstance(self.body_markdown, str):
            raise InputError("a note's body must be text (Markdown)")
        title_es = _optional_text(self.title_es, "Spanish title")
        body_es = _optional_text(self.body_es, "Spanish body")
        if (title_es is None) != (body_es is None):
            # half a translation would show a Spanish title over an English body, or the reverse
            raise InputError(
                "a note's Spanish text needs both a Spanish title and a Spanish body "
                "(or neither: Spanish pages then show the English note)"
            )
        if title_es is not None:
            title_es = _tidy_title(title_es, "Spanish title")
        cycles = normalize_cycles(self.cycles)
        if known_cycles is not None and cycles != ALL_CYCLES:
            known = [str(c) for c in known_cycles]
            unknown = [c for c in cycles if c not in known]
            if unknown:
                raise InputError(
                    f"no such cycle: {', '.join(unknown)} (the city's cycles are "
                    f"{', '.join(known)})"
                )
        posted = parse_required_date(self.posted, "posted", _NO_POSTED)
        updated = parse_date(self.updated, "updated") or posted
        starts = parse_date(self.starts, "starts")
        ends = parse_date(self.ends, "ends")
        if starts is not None and ends is not None and ends < starts:
            raise InputError(f"the note would end ({ends}) before it starts ({starts})")
        if isinstance(self.display_order, bool) or not isinstance(self.display_order, int):
            raise InputError("display order must be a whole number")
        if not MIN_ORDER <= self.display_order <= MAX_ORDER:
            raise InputError(
                f"display order must be from {MIN_ORDER} to {MAX_ORDER} "
                f"(smaller first), not {self.display_order}"
            )
        return dataclasses.replace(
            self,
            title=title,
            title_es=title_es,
            body_es=body_es,
            cycles=cycles,
            posted=posted,
            updated=updated,
            starts=starts,
            ends=ends,
            expired=bool(self.expired),
        )

    def require_body(self) -> Note:
        """This note, or ``InputError`` when its body is empty: a note residents see under its
        title must say something (the store refuses such a note on every write path).

        >>> Note(None, "t", " ", "all", dt.date(2020, 1, 1)).require_body()
        Traceback (most recent call last):
        ...
        cyclemap.errors.InputError: a note needs a body: the text residents read under its title
        """
        if not self.body_markdown.strip():
            raise InputError("a note needs a body: the text residents read under its title")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The note as the lookup answer shows it: id, title, html, updated, cycles,
        translations.

        ``cycles`` is a list of ids, or the string ``"all"``. ``translations`` holds the note's
        text in other languages by language tag (``{"es": {"title", "html"}}``), ``{}`` when it
        has none: the answer is the same whatever language the caller reads.

        >>> Note(7, "Cycles 1 and 2", "*No* bill", ("1", "2"), dt.date(2020, 2, 20)).to_dict()
        {'id': 7, 'title': 'Cycles 1 and 2', 'html': '<p><em>No</em> bill</p>\\n', \
'updated': '2020-02-20', 'cycles': ['1', '2'], 'translations': {}}
        """
        return {
            "id": self.id,
            "title": self.title,
            "html": self.html,
            "updated": self.updated.isoformat() if self.updated else None,
            "cycles": ALL_CYCLES if self.cycles == ALL_CYCLES else list(self.cycles),
            "translations": {
                lang: {"title": text.title, "html": text.html}
                for lang, text in self.translations().items()
            },
        }

    def to_record(self) -> dict[str, Any]:
        """Every field, JSON-ready (for staff tools, exports and the audit log).

        >>> sorted(Note(3, "t", "b", "all", dt.date(2020, 2, 20)).to_record())
        ['body', 'body_es', 'cycles', 'display_order', 'ends', 'expired', 'id', 'posted', \
'starts', 'title', 'title_es', 'updated']
        """

        def iso(d: dt.date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "id": self.id,
            "title": self.title,
            "body": self.body_markdown,
            "title_es": self.title_es,
            "body_es": self.body_es,
            "cycles": ALL_CYCLES if self.cycles == ALL_CYCLES else list(self.cycles),
            "posted": iso(self.posted),
            "updated": iso(self.updated),
            "starts": iso(self.starts),
            "ends": iso(self.ends),
            "display_order": self.display_order,
            "expired": self.expired,
        }


def sort_notes(notes: Iterable[Note]) -> list[Note]:
    """Notes in display order: ``display_order``, then most recently updated, then id.

    >>> a = Note(1, "a", "", "all", dt.date(2020, 1, 1), display_order=2)
    >>> b = Note(2, "b", "", "all", dt.date(2020, 1, 1), display_order=1)
    >>> [n.id for n in sort_notes([a, b])]
    [2, 1]
    """
    return sorted(
        notes,
        key=lambda n: (n.display_order, -(n.updated or n.posted).toordinal(), n.id or 0),
    )


def notes_for(notes: Iterable[Note], cycle_id: str | None, today: dt.date) -> list[Note]:
    """The notes a resident of ``cycle_id`` sees on ``today`` (``None``: any cycle), in order.

    >>> old = Note(1, "old", "", "all", dt.date(2020, 1, 1), ends=dt.date(2020, 1, 31))
    >>> c3 = Note(2, "c3", "", ("3",), dt.date(2020, 2, 20))
    >>> [n.title for n in notes_for([old, c3], "3", dt.date(2020, 2, 21))]
    ['c3']
    >>> notes_for([old, c3], "1", dt.date(2020, 2, 21))
    []
    """
    return sort_notes(n for n in notes if n.applies_to(cycle_id) and n.shown_on(today))


_TOML_KEYS = {
    *("title", "body", "title_es", "body_es", "cycles"),
    *("posted", "updated", "starts", "ends", "display_order"),
}


def note_from_mapping(entry: Mapping[str, Any], *, id: int | None = None) -> Note:
    """A validated ``Note`` from one ``[[notes]]`` table (keys as in ``notes.toml``).

    >>> note_from_mapping({"title": "T", "body": "B", "cycles": ["1"], "posted": "2020-02-20"})
    Note(id=None, title='T', body_markdown='B', cycles=('1',), \
posted=datetime.date(2020, 2, 20), updated=datetime.date(2020, 2, 20), starts=None, ends=None, \
display_order=0, expired=False, title_es=None, body_es=None)
    """
    unknown = sorted(set(entry) - _TOML_KEYS - {"expired"})
    if unknown:
        raise InputError(f"unknown note field(s): {', '.join(unknown)}")
    if "cycles" not in entry:
        raise InputError('a note needs cycles = "all" or a list of cycle ids')
    return Note(
        id=id,
        title=entry.get("title", ""),
        body_markdown=entry.get("body", ""),
        cycles=entry["cycles"],
        posted=parse_required_date(entry.get("posted"), "posted", _NO_POSTED),
        updated=entry.get("updated"),
        starts=entry.get("starts"),
        ends=entry.get("ends"),
        display_order=entry.get("display_order", 0),
        expired=bool(entry.get("expired", False)),
        title_es=entry.get("title_es"),
        body_es=entry.get("body_es"),
    ).validated()


def read_notes_toml(path: str | Path) -> list[Note]:
    """Read a city's seed notes; ids are the notes' positions in the file (1, 2, ...).

    A missing file means no notes. A malformed one raises ``ConfigError`` naming the note.

    >>> from cyclemap.config import DEFAULT_CITY
    >>> notes = read_notes_toml(DEFAULT_CITY / "notes.toml")
    >>> [n.cycles for n in notes if n.title.startswith("February bills")]
    [('1', '2'), ('3', '4')]
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name} cannot be read: {exc}") from exc
    entries = raw.get("notes", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path.name}: notes must be [[notes]] tables")
    notes = []
    for i, entry in enumerate(entries, start=1):
        try:
            notes.append(note_from_mapping(entry, id=i))
        except InputError as exc:
            title = entry.get("title", "") if isinstance(entry, dict) else ""
            raise ConfigError(f"{path.name}: note {i} ({title or 'untitled'}): {exc}") from exc
    return notes
