"""What a resident is told about billing: notes (Markdown, windows) and schedules (iCalendar).

| module | owns |
|---|---|
| ``notes`` | ``Note``, ``notes.toml``, Markdown to safe HTML, which notes show on a day |
| ``schedule`` | bill/due/penalty/disconnect dates, exceptions, iCalendar |
"""

from .notes import (
    ALL_CYCLES,
    MAX_TITLE,
    Cycles,
    Note,
    notes_for,
    read_notes_toml,
    render_markdown,
)
from .schedule import (
    EXCEPTION_KINDS,
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
    "CycleSchedule",
    "Cycles",
    "Note",
    "ScheduleAnswer",
    "ScheduleException",
    "calendar_ics",
    "notes_for",
    "read_notes_toml",
    "render_markdown",
    "schedules_for",
]
