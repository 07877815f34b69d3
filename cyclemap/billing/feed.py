"""The notes as an Atom feed (RFC 4287): one entry per note posted, updated or expired.

An entry is one *event* in a note's life, read off the store's audit log (or, for a city
without a store, off ``notes.toml``'s posted and updated dates), so a reader is told of each
new note, each edit and each expiry once. Ids are ``tag:`` URIs (RFC 4151) built from the city,
the note id and the time of the event, so they never change and never repeat. The bytes depend
only on the events (no generation time), so the HTTP layer's ETag is a digest of the body.

>>> import datetime as dt
>>> at = dt.datetime(2020, 2, 20, 15, 0, tzinfo=dt.UTC)
>>> e = NoteEvent(at, "add", {"id": 7, "title": "Late bills", "body": "Mailed **3/4**.",
...                             "cycles": ["2"], "posted": "2020-02-20"})
>>> entry = note_entries([e], city="Cape Girardeau, Missouri", link="https://x/")[0]
>>> entry.id, entry.title
('tag:cyclemap,2020:cape-girardeau-missouri/notes/7/20200220T150000Z', 'New: Late bills')
>>> b'<feed xmlns="http://www.w3.org/2005/Atom">' in Feed("tag:x", "t", at, "https://x/",
...     "https://x/feed.atom", [entry]).to_atom()
True
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .notes import ALL_CYCLES, render_markdown

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
#: the tag URI authority and date (RFC 4151: a name and a day it was ours; fixed for good)
TAG_AUTHORITY = "cyclemap,2020"
#: the newest events a feed lists
FEED_ENTRIES = 50
#: what an entry's title says of each audited action on a note
ACTION_WORDS = {"seed": "New", "add": "New", "edit": "Updated", "expire": "Expired"}


@dataclass(frozen=True)
class NoteEvent:
    """One audited change to a note: when, which action, the note's record after it (before it,
    for a change that has no after) and, for an edit, the record before."""

    at: dt.datetime
    action: str
    record: Mapping[str, Any]
    before: Mapping[str, Any] | None = None

    def concerns(self, cycle_id: str | None) -> bool:
        """Whether the note was or became a note for ``cycle_id`` (None: any cycle)."""
        if cycle_id is None:
            return True
        for record in (self.record, self.before or {}):
            cycles = record.get("cycles")
            if cycles == ALL_CYCLES or (isinstance(cycles, list) and str(cycle_id) in cycles):
                return True
        return False


@dataclass(frozen=True)
class FeedEntry:
    """One Atom entry."""

    id: str
    title: str
    updated: dt.datetime
    published: dt.datetime | None
    html: str
    link: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feed:
    """One Atom feed: ``to_atom()`` is its document."""

    id: str
    title: str
    updated: dt.datetime
    link: str
    self_link: str
    entries: list[FeedEntry]
    subtitle: str = ""

    def to_atom(self) -> bytes:
        """The feed as UTF-8 Atom XML (the same events always give the same bytes)."""
        ET.register_namespace("", ATOM_NS)

        def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
            node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
            if text is not None:
                node.text = text
            return node

        feed = ET.Element(f"{{{ATOM_NS}}}feed")
        sub(feed, "id", self.id)
        sub(feed, "title", self.title)
        if self.subtitle:
            sub(feed, "subtitle", self.subtitle)
        sub(feed, "updated", _iso(self.updated))
        sub(feed, "link", rel="alternate", type="text/html", href=self.link)
        sub(feed, "link", rel="self", type=ATOM_TYPE, href=self.self_link)
        author = sub(feed, "author")
        sub(author, "name", self.title.split(" · ")[-1])
        sub(feed, "generator", "cyclemap")
        for e in self.entries:
            entry = sub(feed, "entry")
            sub(entry, "id", e.id)
            sub(entry, "title", e.title)
            sub(entry, "updated", _iso(e.updated))
            if e.published is not None:
                sub(entry, "published", _iso(e.published))
            sub(entry, "link", rel="alternate", type="text/html", href=e.link)
            for term in e.categories:
                sub(entry, "category", term=term)
            sub(entry, "content", e.html, type="html")
        body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
        return body.replace(
            b"<?xml version='1.0' encoding='utf-8'?>", b'<?xml version="1.0" encoding="utf-8"?>'
        )


def city_slug(name: str) -> str:
    """A city's name as one tag-URI-safe word: ``"Cape Girardeau, Missouri"`` ->
    ``"cape-girardeau-missouri"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "city"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y%m%dT%H%M%S")
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"


def entry_id(city: str, note_id: Any, at: dt.datetime) -> str:
    """The tag URI of one event of a note: city, note id and the event's time (UTC)."""
    return f"tag:{TAG_AUTHORITY}:{city_slug(city)}/notes/{note_id}/{_stamp(at)}"


def note_entries(events: Iterable[NoteEvent], *, city: str, link: str) -> list[FeedEntry]:
    """Atom entries for note events, as given (newest first is the feed's order)."""
    out = []
    for e in events:
        record = e.record
        title = str(record.get("title") or "")
        word = ACTION_WORDS.get(e.action, "Updated")
        cycles = record.get("cycles")
        categories = ("all",) if cycles == ALL_CYCLES else tuple(str(c) for c in cycles or ())
        posted = record.get("posted")
        published = (
            dt.datetime.combine(dt.date.fromisoformat(posted), dt.time(), dt.UTC)
            if isinstance(posted, str)
            else None
        )
        html = render_markdown(str(record.get("body") or ""))
        if e.action == "expire":
            html = "<p>This notice has been taken down.</p>" + html
        out.append(
            FeedEntry(
                id=entry_id(city, record.get("id"), e.at),
                title=f"{word}: {title}",
                updated=e.at,
                published=published,
                html=html,
                link=link,
                categories=tuple(f"cycle:{c}" for c in categories),
            )
        )
    return out
