"""The workspace's forms (WTForms through Flask-WTF): fields, labels, per-field messages.

Each form carries its CSRF token (``{{ form.csrf_token }}``). The forms check what a field
alone can say (filled in, a date, a whole number); what the city's rules say (a note's window,
an exception's dates) the core checks, and its ``InputError`` is shown above the form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ...billing import ALL_CYCLES, MAX_TITLE, Cycles
from .views import EXCEPTION_KIND_LABELS

#: a role in words, for choosing one
ROLE_LABELS = {
    "editor": "Editor: notes and schedule exceptions",
    "publisher": "Publisher: also boundary and address versions",
    "admin": "Admin: also staff accounts",
}


def choices(pairs: Any) -> list[SelectChoice]:
    """``(value, label)`` pairs (or a mapping) as WTForms choices."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(str(value), str(label)) for value, label in items]


class StaffForm(FlaskForm):
    """Base of the workspace's forms: a form-level error list besides the fields' own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: messages about the whole form (from the core), shown first in the error summary
        self.form_errors_extra: list[str] = []

    #: where the error summary's link for a field goes, when not to the field itself (a group
    #: of checkboxes: its first box)
    error_targets: dict[str, str] = {}

    def field_errors(self) -> list[tuple[str, str]]:
        """``(element id, message)`` for every field that has an error, in the form's order."""
        return [
            (self.error_targets.get(f.name, f.id), message)
            for f in self
            if f.type != "CSRFTokenField"
            for message in f.errors
        ]


class IsoDateField(DateField):
    """A date typed as ``YYYY-MM-DD`` (what a browser's date picker sends)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = dt.date.fromisoformat(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(
                f"{self.label.text}: write the date as YYYY-MM-DD, for example 2020-03-01"
            ) from None


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (in a ``<fieldset>``; see ``checkboxes`` in _forms.html)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        known = {c.value for c in self.choices or ()}
        unknown = [v for v in self.data or () if v not in known]
        if unknown:
            raise ValidationError(f"No such choice: {', '.join(unknown)}.")


class LoginForm(StaffForm):
    """Sign in: username and password."""

    username = StringField(
        "Username",
        validators=[InputRequired("Type your username."), Length(max=100)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Type your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Sign in")


def all_cycles_field() -> BooleanField:
    """The "All cycles" box."""
    return BooleanField("All cycles")


def cycles_field() -> CheckboxesField:
    """One box per cycle (choices set per request by ``set_cycle_choices``)."""
    return CheckboxesField("Cycles", choices=[], validate_choice=True)


class CyclesMixin:
    """Which cycles something concerns: a box for every cycle, or all of them. A form using it
    declares ``all_cycles = all_cycles_field()`` and ``cycles = cycles_field()`` where they go
    in its order."""

    error_targets = {"cycles": "all_cycles"}
    # the fields the form declares (wtforms has no type hints: its fields are Any)
    all_cycles: Any
    cycles: Any

    def set_cycle_choices(self, cycles: dict[str, Any]) -> None:
        """The city's cycles as the choices (id -> config with ``.name``)."""
        self.cycles.choices = choices((cid, c.name) for cid, c in cycles.items())

    def chosen_cycles(self) -> Cycles:
        """``"all"`` or the ticked cycle ids (the validator made sure there is one)."""
        if self.all_cycles.data:
            return ALL_CYCLES
        return tuple(self.cycles.data or ())

    def show_cycles(self, cycles: Cycles) -> None:
        """Tick the boxes for ``cycles`` (editing something that exists)."""
        if cycles == ALL_CYCLES:
            self.all_cycles.data = True
            self.cycles.data = []
        else:
            self.all_cycles.data = False
            self.cycles.data = list(cycles)

    def validate_cycles(self, field: Any) -> None:
        if not self.all_cycles.data and not field.data:
            raise ValidationError("Choose the cycles this is for, or All cycles.")


class NoteForm(CyclesMixin, StaffForm):
    """A billing-status note: what residents read, for which cycles, and when."""

    title = StringField(
        "Title",
        validators=[
            InputRequired("Give the note a title."),
            Length(max=MAX_TITLE, message=f"A title has at most {MAX_TITLE} characters."),
        ],
    )
    body = TextAreaField(
        "Text",
        validators=[InputRequired("Write the text residents read under the title.")],
        render_kw={"rows": 8},
    )
    # the Spanish text (both or neither): Spanish pages show it instead of the English note
    title_es = StringField(
        "Spanish title",
        validators=[
            Optional(),
            Length(max=MAX_TITLE, message=f"A title has at most {MAX_TITLE} characters."),
        ],
        render_kw={"lang": "es"},
    )
    body_es = TextAreaField(
        "Spanish body (Markdown)", validators=[Optional()], render_kw={"rows": 8, "lang": "es"}
    )
    all_cycles = all_cycles_field()
    cycles = cycles_field()
    starts = IsoDateField("First day shown", validators=[Optional()])
    ends = IsoDateField("Last day shown", validators=[Optional()])
    display_order = IntegerField(
        "Display order",
        default=0,
        validators=[
            Optional(),
            NumberRange(-1000, 1000, "Display order is a whole number from -1000 to 1000."),
        ],
    )
    preview = SubmitField("Preview")
    save = SubmitField("Save note")

    def validate_ends(self, field: Any) -> None:
        if field.data and self.starts.data and field.data < self.starts.data:
            raise ValidationError("The last day shown is before the first day shown.")

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, then: the Spanish title and body come together (the empty
        one gets the message; an empty field's own validators stop before inline ones run)."""
        valid = super().validate(extra_validators)
        title, body = (self.title_es.data or "").strip(), (self.body_es.data or "").strip()
        if title and not body:
            self.body_es.errors = [
                *self.body_es.errors,
                "Write the Spanish body too, or leave both Spanish fields empty.",
            ]
            valid = False
        elif body and not title:
            self.title_es.errors = [
                *self.title_es.errors,
                "Give the Spanish title too, or leave both Spanish fields empty.",
            ]
            valid = False
        return valid


class ExceptionForm(CyclesMixin, StaffForm):
    """A schedule exception: a date (or range) when the usual schedule does not hold."""

    kind = SelectField(
        "What changes",
        choices=choices(EXCEPTION_KIND_LABELS),
        validators=[InputRequired("Choose what changes.")],
    )
    date = IsoDateField("Date", validators=[InputRequired("Give the date it concerns.")])
    # no Optional(): it would stop the checks below, which look at the other fields
    until = IsoDateField("Until")
    new_date = IsoDateField("New bill date")
    all_cycles = all_cycles_field()
    cycles = cycles_field()
    text = TextAreaField(
        "What residents read",
        validators=[InputRequired("Say in a sentence what residents should know.")],
        render_kw={"rows": 3},
    )
    submit = SubmitField("Add exception")

    def validate_until(self, field: Any) -> None:
        if field.data is None:
            return
        if self.kind.data == "bill_moved":
            raise ValidationError("A moved bill is one date: leave Until empty.")
        if self.date.data and field.data < self.date.data:
            raise ValidationError("Until is before the date.")

    def validate_new_date(self, field: Any) -> None:
        moved = self.kind.data == "bill_moved"
        if moved and field.data is None:
            raise ValidationError("Give the date the bill went out instead.")
        if not moved and field.data is not None:
            raise ValidationError(
                "Only a bill that went out on another date has a new bill date: leave it empty."
            )


class AccountForm(StaffForm):
    """A new staff account."""

    username = StringField(
        "Username",
        validators=[InputRequired("Give the account a username."), Length(max=100)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    role = SelectField("Role", choices=choices(ROLE_LABELS), default="editor")
    password = PasswordField(
        "Password",
        validators=[InputRequired("Give the account a password.")],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Password again",
        validators=[InputRequired("Type the password a second time.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Add account")

    def validate_confirm(self, field: Any) -> None:
        if field.data != self.password.data:
            raise ValidationError("The two passwords differ: type the same password twice.")


#: the kinds of alias, in words
ALIAS_KIND_LABELS = {
    "street": "Street alias: another name of a street",
    "address": "Correction: one address is another",
}


class AliasForm(StaffForm):
    """An alias: a street residents write for a layer street, or an address for another."""

    kind = SelectField("Kind", choices=choices(ALIAS_KIND_LABELS), default="street")
    source = StringField(
        "What residents type",
        validators=[InputRequired("Type what residents write."), Length(max=200)],
    )
    target = StringField(
        "What it stands for",
        validators=[InputRequired("Type the street or address of the layer."), Length(max=200)],
    )
    message = StringField("Why (for the audit log)", validators=[Optional(), Length(max=500)])
    miss_id = IntegerField("Miss", validators=[Optional()])
    submit = SubmitField("Add alias")
