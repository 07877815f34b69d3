"""What a resident is told about billing: notes (Markdown, windows) and schedules (iCalendar).

| module | owns |
|---|---|
| ``notes`` | ``Note`` (English, maybe Spanish), ``notes.toml``, safe HTML, notes shown on a day |
| ``schedule`` | bill/due/penalty/disconnect dates, exceptions, iCalendar |
"""

from .notes import (
    ALL_CYCLES,
    MAX_TITLE,
    NOTE_LANGUAGES,
    Cycles,
    Note,
    NoteText,
    notes_for,
    read_notes_toml,
    render_markdown,
)
from .schedule import (
    EXCEPTION_KINDS,
    CalendarWords,
    CycleSchedule,
    ScheduleAnswer,
    ScheduleException,
    calendar_ics,
    schedules_for,
)

__all__ = [
    "ALL_CYCLES",
    "EXCEPTION_KINDS",
    "MAX_TITLE",
    "NOTE_LANGUAGES",
    "CycleSchedule",
    "Cycles",
    "Note",
    "NoteText",
    "CalendarWords",
    "ScheduleAnswer",
    "ScheduleException",
    "calendar_ics",
    "notes_for",
    "read_notes_toml",
    "render_markdown",
    "schedules_for",
]
