"""Notes without a database: safe Markdown, windows, notes.toml, and the city's seed notes."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cyclemap.billing.notes import (
    Note,
    normalize_cycles,
    notes_for,
    read_notes_toml,
    render_markdown,
)
from cyclemap.config import DEFAULT_CITY, load_city_config
from cyclemap.errors import ConfigError, InputError

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
D = dt.date


def note(**kw) -> Note:
    base = dict(id=1, title="T", body_markdown="", cycles="all", posted=D(2020, 2, 20))
    return Note(**{**base, **kw})


# ---------------------------------------------------------------- a note can never inject script
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "[click me](javascript:alert(1))",
    "[click me](JaVaScRiPt:alert(1))",
    "[click me](  javascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![img](https://evil.example/x.png)",
    '<svg onload="alert(1)">',
    "<iframe src=https://evil.example></iframe>",
    "```\n<script>alert(1)</script>\n```",
    "<style>body{display:none}</style>",
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "<a href='javascript:alert(1)'>x</a>",
]


class _Tags(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_harmless(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"script", "img", "svg", "iframe", "style", "object", "embed"}, html
        assert not [a for a in attrs if a.lower().startswith("on")], html
        for name in ("href", "src", "action", "formaction"):
            url = "".join((attrs.get(name) or "").split())  # browsers drop tabs and newlines
            if url:
                assert urlsplit(url).scheme.lower() in {"", "http", "https", "mailto", "tel"}, html


@pytest.mark.parametrize("markdown", HOSTILE)
def test_hostile_markdown_renders_harmless(markdown: str) -> None:
    assert_harmless(note(body_markdown=markdown).html)


def test_script_is_shown_as_text_not_run() -> None:
    html = render_markdown("Water <script>alert(1)</script> main")
    assert "&lt;script&gt;" in html and "<script" not in html


def test_safe_markdown_keeps_its_meaning() -> None:
    html = render_markdown(
        "**Pay** by *March 4*:\n\n- online at [the city](https://example.org/pay)\n"
        "- or call [573-339-6300](tel:5733396300)"
    )
    assert "<strong>Pay</strong>" in html and "<em>March 4</em>" in html
    assert '<a href="https://example.org/pay" rel="noopener noreferrer nofollow">' in html
    assert 'href="tel:5733396300"' in html
    assert html.count("<li>") == 2


# ---------------------------------------------------------------- windows and cycles
def test_notes_outside_their_window_are_not_shown() -> None:
    window = note(id=1, starts=D(2020, 2, 20), ends=D(2020, 4, 30))
    shown = lambda today: [n.id for n in notes_for([window], "1", today)]  # noqa: E731
    assert shown(D(2020, 2, 19)) == []
    assert shown(D(2020, 2, 20)) == [1]
    assert shown(D(2020, 4, 30)) == [1]
    assert shown(D(2020, 5, 1)) == []


def test_open_windows_and_expired_notes() -> None:
    open_end = note(id=1, starts=D(2020, 2, 20))
    open_start = note(id=2, ends=D(2020, 2, 20))
    expired = note(id=3, expired=True)
    today = D(2020, 2, 20)
    assert [n.id for n in notes_for([open_end, open_start, expired], None, today)] == [1, 2]
    assert [n.id for n in notes_for([open_end, open_start], None, D(2030, 1, 1))] == [1]


def test_notes_for_a_cycle_and_for_all() -> None:
    notes = [note(id=1, cycles=("1", "2")), note(id=2, cycles="all"), note(id=3, cycles=("3",))]
    today = D(2020, 2, 20)
    assert [n.id for n in notes_for(notes, "2", today)] == [1, 2]
    assert [n.id for n in notes_for(notes, "3", today)] == [2, 3]
    assert [n.id for n in notes_for(notes, None, today)] == [1, 2, 3]


def test_display_order_then_newest_first() -> None:
    a = note(id=1, display_order=5, updated=D(2020, 2, 1))
    b = note(id=2, display_order=5, updated=D(2020, 2, 21))
    c = note(id=3, display_order=1, updated=D(2020, 1, 1))
    assert [n.id for n in notes_for([a, b, c], "1", D(2020, 3, 1))] == [3, 2, 1]


def test_to_dict_is_the_lookup_answer_shape() -> None:
    d = note(id=7, title="Cycles 1 and 2", cycles=("1", "2"), body_markdown="x").to_dict()
    assert d == {
        "id": 7,
        "title": "Cycles 1 and 2",
        "html": "<p>x</p>\n",
        "updated": "2020-02-20",
        "cycles": ["1", "2"],
        "translations": {},
    }
    assert note(cycles="all").to_dict()["cycles"] == "all"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "  "}, "needs a title"),
        ({"title": "x" * 201}, "at most 200"),
        ({"cycles": []}, "at least one cycle"),
        ({"starts": D(2020, 3, 1), "ends": D(2020, 2, 1)}, "end"),
        ({"starts": "2/20/20"}, "YYYY-MM-DD"),
        ({"display_order": "first"}, "whole number"),
        ({"body_markdown": None}, "body must be text"),
    ],
)
def test_validation_says_what_is_wrong(changes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        note(**changes).validated()


def test_unknown_cycles_are_refused_when_the_city_is_known() -> None:
    with pytest.raises(InputError, match="no such cycle: 9"):
        note(cycles=("1", "9")).validated(known_cycles=["1", "2"])
    assert note(cycles="all").validated(known_cycles=["1"]).cycles == "all"
    assert normalize_cycles([1, "2", "2"]) == ("1", "2")


# ---------------------------------------------------------------- Spanish text
def test_a_note_in_spanish_for_a_spanish_page() -> None:
    n = note(
        title="Disconnects",
        body_markdown="No disconnects on **2/26/20**.",
        title_es="  Cortes   de servicio ",
        body_es="No habrá cortes de servicio el **26/2/20**.",
    ).validated()
    assert n.title_es == "Cortes de servicio"  # tidied like the English title
    for tag in ("es", "es-MX", "es_US", "ES"):
        text = n.text_in(tag)
        assert (text.language, text.title) == ("es", "Cortes de servicio"), tag
        assert text.html == "<p>No habrá cortes de servicio el <strong>26/2/20</strong>.</p>\n"
    english = n.text_in("en")
    assert (english.language, english.title) == ("en", "Disconnects")
    assert n.to_dict()["translations"] == {
        "es": {"title": "Cortes de servicio", "html": n.html_es},
    }
    assert n.to_record()["title_es"] == "Cortes de servicio"


def test_a_note_without_spanish_falls_back_to_its_english_text() -> None:
    n = note(title="Disconnects", body_markdown="None.", title_es=" ", body_es="").validated()
    assert (n.title_es, n.body_es) == (None, None)  # blank means none
    text = n.text_in("es")
    assert (text.language, text.title, text.html) == ("en", "Disconnects", "<p>None.</p>\n")
    assert n.to_dict()["translations"] == {}


def test_spanish_markdown_is_made_safe_too() -> None:
    n = note(title_es="T", body_es="<script>alert(1)</script>[x](javascript:alert(1))")
    assert n.html_es is not None
    assert "<script" not in n.html_es and "<a" not in n.html_es


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title_es": "Cortes"}, "both a Spanish title and a Spanish body"),
        ({"body_es": "Ninguno."}, "both a Spanish title and a Spanish body"),
        ({"title_es": "x" * 201, "body_es": "b"}, "Spanish title must be at most 200"),
        ({"title_es": 3, "body_es": "b"}, "Spanish title must be text"),
    ],
)
def test_spanish_text_validation_says_what_is_wrong(changes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        note(**changes).validated()


def test_notes_toml_may_carry_spanish_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.toml"
    path.write_text(
        '[[notes]]\ntitle = "A"\nbody = "a"\ntitle_es = "Á"\nbody_es = "*á*"\n'
        'cycles = "all"\nposted = 2020-02-20\n'
        '[[notes]]\ntitle = "B"\nbody = "b"\ncycles = "all"\nposted = 2020-02-20\n'
    )
    a, b = read_notes_toml(path)
    assert (a.title_es, a.html_es) == ("Á", "<p><em>á</em></p>\n")
    assert (b.title_es, b.body_es) == (None, None)
    path.write_text('[[notes]]\ntitle = "A"\ntitle_es = "Á"\ncycles = "all"\nposted = 2020-02-20\n')
    with pytest.raises(ConfigError, match="note 1 .A.: .*Spanish body"):
        read_notes_toml(path)


# ---------------------------------------------------------------- notes.toml
def test_read_notes_toml(tmp_path: Path) -> None:
    path = tmp_path / "notes.toml"
    path.write_text(
        '[[notes]]\ntitle = "A"\nbody = "*a*"\ncycles = ["1"]\nposted = 2020-02-20\n'
        '[[notes]]\ntitle = "B"\nbody = "b"\ncycles = "all"\nposted = 2020-01-27\n'
        "updated = 2020-02-20\nstarts = 2020-01-27\nends = 2020-04-30\n"
    )
    a, b = read_notes_toml(path)
    assert (a.id, a.cycles, a.updated, a.starts, a.ends) == (1, ("1",), D(2020, 2, 20), None, None)
    assert (b.id, b.cycles, b.posted, b.updated) == (2, "all", D(2020, 1, 27), D(2020, 2, 20))
    assert a.html == "<p><em>a</em></p>\n"


def test_missing_notes_file_means_no_notes(tmp_path: Path) -> None:
    assert read_notes_toml(tmp_path / "absent.toml") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[notes]\n", "cannot be read"),
        ('[[notes]]\ntitle = "A"\nposted = 2020-02-20\n', "needs cycles"),
        ('[[notes]]\ntitle = "A"\ncycles = "all"\n', "posted"),
        ('[[notes]]\ntitle = "A"\ncycles = "all"\nposted = 2020-02-20\ncolour = 1\n', "colour"),
    ],
)
def test_bad_notes_toml_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "notes.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_notes_toml(path)


# ---------------------------------------------------------------- the demo city's real notices
def _words(text: str) -> str:
    text = re.sub(r"\*\*[^*]+\*\*\s*|^- ", "", text, flags=re.M)  # Markdown labels and bullets
    return " ".join(text.replace("’", "'").split())


def test_seed_notes_are_the_citys_notices_dated_as_posted() -> None:
    notes = read_notes_toml(DEFAULT_CITY / "notes.toml")
    by_title = {n.title: n for n in notes}
    c12 = by_title["February bills for Cycles 1 and 2"]
    c34 = by_title["February bills for Cycles 3 and 4"]
    assert c12.cycles == ("1", "2") and c34.cycles == ("3", "4")
    assert c12.body_markdown.startswith("Cycle 1 and Cycle 2 bills were not able to be sent")
    assert "Cycle 3 bills for February were mailed 2/19/20" in c34.body_markdown
    assert by_title["Disconnects"].body_markdown == "No services will be disconnected on 2/26/20."
    assert by_title["Disconnects"].cycles == "all"
    assert by_title["Late fees / penalties"].cycles == "all"
    intro = by_title["Cyber Issue - Current Impacts"]
    assert intro.posted == D(2020, 1, 27)
    assert {n.posted for n in notes if n is not intro} == {D(2020, 2, 20)}
    # shown in the weeks after the notice, not forever
    assert all(n.ends is not None and n.ends <= D(2020, 4, 30) for n in notes)
    known = load_city_config(DEFAULT_CITY).cycles
    for n in notes:
        n.validated(known_cycles=known)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the shared seeds folder is not beside the project")
def test_seed_notes_quote_the_city() -> None:
    source = _words("\n".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("000_*.txt")))
    for n in read_notes_toml(DEFAULT_CITY / "notes.toml"):
        for sentence in re.split(r"(?<=\.)\s+", _words(n.body_markdown)):
            # every sentence is the city's own (we only dropped map links and added full stops)
            core = sentence.rstrip(".").replace(" around the city", "")
            core = core.replace("by looking up your location on the map", "by looking up")
            assert core[:60] in source, sentence


def test_seed_notes_for_each_cycle_on_the_notice_day() -> None:
    notes = read_notes_toml(DEFAULT_CITY / "notes.toml")
    day = D(2020, 2, 21)
    titles = {c: [n.title for n in notes_for(notes, c, day)] for c in "1234"}
    assert titles["1"][0] == "February bills for Cycles 1 and 2"
    assert titles["3"][0] == "February bills for Cycles 3 and 4"
    assert "February bills for Cycles 3 and 4" not in titles["1"]
    assert all("Disconnects" in t for t in titles.values())
    assert notes_for(notes, "1", D(2020, 5, 1)) == []
